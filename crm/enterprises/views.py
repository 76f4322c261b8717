"""Placeholder routes; replaced by the feature's real views."""

from flask import Blueprint, abort
from flask_login import login_required

bp = Blueprint("enterprises", __name__)


@bp.route("/enterprises/", methods=["GET"])
@login_required
def index():
    abort(501)


@bp.route("/enterprises/new", methods=["GET", "POST"])
@login_required
def new():
    abort(501)


@bp.route("/enterprises/<int:enterprise_id>", methods=["GET"])
@login_required
def file(enterprise_id):
    abort(501)


@bp.route("/enterprises/<int:enterprise_id>/edit", methods=["GET", "POST"])
@login_required
def edit(enterprise_id):
    abort(501)


@bp.route("/enterprises/<int:enterprise_id>/delete", methods=["POST"])
@login_required
def delete(enterprise_id):
    abort(501)


@bp.route("/enterprises/<int:enterprise_id>/dossier", methods=["GET"])
@login_required
def dossier(enterprise_id):
    abort(501)
