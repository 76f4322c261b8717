"""The interactive API documentation (Swagger UI), served from the app itself.

The swagger-ui-bundle package carries Swagger UI's files, so the page needs
no CDN and works on a bureau's closed network.
"""

from __future__ import annotations

from flask import Blueprint, render_template, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from crm.api.base import PREFIX

bp = Blueprint("api_docs", __name__, url_prefix=f"{PREFIX}/docs")


@bp.route("/")
def page():
    return render_template("api/docs.html")


@bp.route("/assets/<path:filename>")
def asset(filename: str):
    return send_from_directory(str(swagger_ui_path), filename, max_age=86400)
