"""How the figures of a group of projects (``crm.projects.figures.Figures``) read in JSON.

Counts are integers; amounts are exact decimal strings in 万元 (as everywhere in
the API); rates, completions, the schedule (序时进度) and the overall score are
fractions as JSON numbers (0.7 is 70%), null when there is nothing to divide by
or no target.
"""

from __future__ import annotations

from decimal import Decimal

import marshmallow as ma

from crm.api.resources.lookups import rate_number
from crm.projects.figures import DERIVED_NAMES, INT_NAMES, STORED_NAMES, Figures

PLACES = Decimal("0.0001")
RATE_NAMES = ["schedule", *DERIVED_NAMES, "ahead"]
AMOUNT_NAMES = [name for name in STORED_NAMES if name.endswith("_wan")]
COUNT_NAMES = [name for name in STORED_NAMES if name in INT_NAMES]


def amount_text(value) -> str | None:
    return None if value is None else str(Decimal(value).quantize(PLACES))


def value_of(figures: Figures, name: str):
    """One figure as JSON has it."""
    if name == "ahead":
        score = figures.score
        return rate_number(None if score is None else score - figures.schedule)
    value = getattr(figures, name)
    if name in AMOUNT_NAMES:
        return amount_text(value)
    if name in RATE_NAMES:
        return rate_number(value)
    return value


def as_json(figures: Figures) -> dict:
    return {name: value_of(figures, name) for name in (*COUNT_NAMES, *AMOUNT_NAMES, *RATE_NAMES)}


def _fields() -> dict[str, ma.fields.Field]:
    fields: dict[str, ma.fields.Field] = {}
    for name in COUNT_NAMES:
        fields[name] = ma.fields.Integer(allow_none=name.startswith("target_"))
    for name in AMOUNT_NAMES:
        fields[name] = ma.fields.String(
            allow_none=name.startswith("target_"), metadata={"description": "万元"}
        )
    for name in RATE_NAMES:
        fields[name] = ma.fields.Float(allow_none=name != "schedule")
    return fields


FiguresSchema = ma.Schema.from_dict(_fields(), name="Figures")
