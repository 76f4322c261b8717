"""Admin pages: yearly targets, counting rules and stall thresholds."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("targets", __name__, url_prefix="/admin/targets")
