"""Policy pages (一企一策) of an enterprise."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("policies", __name__)
