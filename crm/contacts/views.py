"""Placeholder routes; replaced by the feature's real views."""

from flask import Blueprint, abort
from flask_login import login_required

bp = Blueprint("contacts", __name__)


@bp.route("/enterprises/<int:enterprise_id>/contacts/new", methods=["GET", "POST"])
@login_required
def new(enterprise_id):
    abort(501)


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@login_required
def edit(contact_id):
    abort(501)


@bp.route("/contacts/<int:contact_id>/delete", methods=["POST"])
@login_required
def delete(contact_id):
    abort(501)
