"""Project pages: list, create, edit, stage changes, funds in place."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("projects", __name__)
