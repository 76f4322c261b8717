"""The dashboards: the whole city (the reader's scope) and one unit."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("dashboard", __name__)
