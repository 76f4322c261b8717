"""Placeholder routes; replaced by the feature's real views."""

from flask import Blueprint, abort
from flask_login import login_required

bp = Blueprint("issues", __name__)


@bp.route("/issues", methods=["GET"])
@login_required
def index():
    abort(501)


@bp.route("/enterprises/<int:enterprise_id>/issues/new", methods=["GET", "POST"])
@login_required
def new(enterprise_id):
    abort(501)


@bp.route("/issues/<int:issue_id>", methods=["GET"])
@login_required
def detail(issue_id):
    abort(501)


@bp.route("/issues/<int:issue_id>/edit", methods=["GET", "POST"])
@login_required
def edit(issue_id):
    abort(501)


@bp.route("/issues/<int:issue_id>/delete", methods=["POST"])
@login_required
def delete(issue_id):
    abort(501)
