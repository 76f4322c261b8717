"""The home page: what needs the signed-in user's attention."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

from crm.access import current_access
from crm.home.services import dashboard

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    return render_template("home/index.html", board=dashboard(current_access()))
