"""Placeholder routes; replaced by the feature's real views."""

from flask import Blueprint, abort
from flask_login import login_required

bp = Blueprint("notes", __name__)


@bp.route("/enterprises/<int:enterprise_id>/notes/new", methods=["GET", "POST"])
@login_required
def new(enterprise_id):
    abort(501)


@bp.route("/notes/<int:note_id>/edit", methods=["GET", "POST"])
@login_required
def edit(note_id):
    abort(501)


@bp.route("/notes/<int:note_id>/delete", methods=["POST"])
@login_required
def delete(note_id):
    abort(501)
