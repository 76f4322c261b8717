"""Placeholder routes; replaced by the feature's real views."""

from flask import Blueprint, abort
from flask_login import login_required

bp = Blueprint("visits", __name__)


@bp.route("/enterprises/<int:enterprise_id>/visits/new", methods=["GET", "POST"])
@login_required
def new(enterprise_id):
    abort(501)


@bp.route("/visits/<int:visit_id>", methods=["GET"])
@login_required
def detail(visit_id):
    abort(501)


@bp.route("/visits/<int:visit_id>/edit", methods=["GET", "POST"])
@login_required
def edit(visit_id):
    abort(501)


@bp.route("/visits/<int:visit_id>/delete", methods=["POST"])
@login_required
def delete(visit_id):
    abort(501)


@bp.route("/follow-ups", methods=["GET"])
@login_required
def follow_ups():
    abort(501)


@bp.route("/follow-ups/<int:follow_up_id>/done", methods=["POST"])
@login_required
def follow_up_done(follow_up_id):
    abort(501)
