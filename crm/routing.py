"""URL converters shared by every route."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

# Ids are 32-bit INTEGER columns on PostgreSQL (and 64-bit on SQLite): a larger
# number in a URL cannot name a record, and handed to the database it fails
# ("integer out of range") instead of finding nothing.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:...>`` that matches only numbers an id column can hold; others are 404."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def register(app) -> None:
    app.url_map.converters["int"] = IdConverter


def openapi_parameter(converter: IdConverter) -> dict:
    return {"type": "integer", "minimum": 0, "maximum": converter.max}
