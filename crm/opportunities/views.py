"""The public opportunity list (机遇清单): no sign-in, read only, bilingual."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("opportunities", __name__)
