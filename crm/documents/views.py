"""Placeholder routes; replaced by the feature's real views."""

from flask import Blueprint, abort
from flask_login import login_required

bp = Blueprint("documents", __name__)


@bp.route("/enterprises/<int:enterprise_id>/documents/new", methods=["GET", "POST"])
@login_required
def upload(enterprise_id):
    abort(501)


@bp.route("/documents/<int:document_id>/download", methods=["GET"])
@login_required
def download(document_id):
    abort(501)


@bp.route("/documents/<int:document_id>/delete", methods=["POST"])
@login_required
def delete(document_id):
    abort(501)
