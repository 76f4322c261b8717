"""The monthly ranking (月通报): live figures, publishing, .xlsx and print."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reports", __name__)
