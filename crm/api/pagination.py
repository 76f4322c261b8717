"""Cursor (keyset) pagination: a page is found by where the last one ended, not by
counting rows from the start, so page 20,000 costs what page 1 costs.

A cursor is the sort key of the last row sent, opaque to the caller
(base64url of JSON). Lists sort on columns that end in the primary key, so the
key is unique and no row is skipped or repeated when rows are added between
two pages.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import marshmallow as ma
from flask import request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, or_

from crm.api.problems import field_error
from crm.extensions import db

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PageArgs(ma.Schema):
    """Query parameters every list takes; a list's own filters subclass it."""

    cursor = ma.fields.String(
        metadata={"description": "next_cursor of the previous page; absent for the first page"}
    )
    limit = ma.fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=ma.validate.Range(
            min=1, max=MAX_LIMIT, error=_l("Between %(min)d and %(max)d.", min=1, max=MAX_LIMIT)
        ),
        metadata={"description": f"rows per page, 1–{MAX_LIMIT}"},
    )


_PAGE_SCHEMAS: dict[type, type] = {}


def page_schema(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The response schema of a list of ``item_schema`` (one class per item schema,
    so the OpenAPI document names it once)."""
    if item_schema not in _PAGE_SCHEMAS:
        name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
        _PAGE_SCHEMAS[item_schema] = type(
            name,
            (ma.Schema,),
            {
                "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
                "next_cursor": ma.fields.String(
                    allow_none=True,
                    required=True,
                    metadata={"description": "pass as ?cursor= for the next page; null at the end"},
                ),
            },
        )
    return _PAGE_SCHEMAS[item_schema]


class BadCursor(ValueError):
    pass


def encode_cursor(values: Sequence[Any]) -> str:
    encoded = []
    for value in values:
        if isinstance(value, datetime):
            encoded.append({"dt": value.isoformat()})
        elif isinstance(value, date):
            encoded.append({"d": value.isoformat()})
        else:
            encoded.append(value)
    raw = json.dumps(encoded, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(raw: str, size: int) -> list[Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise BadCursor from exc
    if not isinstance(data, list) or len(data) != size:
        raise BadCursor
    values: list[Any] = []
    for value in data:
        try:
            if isinstance(value, dict) and "dt" in value:
                values.append(datetime.fromisoformat(value["dt"]))
            elif isinstance(value, dict) and "d" in value:
                values.append(date.fromisoformat(value["d"]))
            elif isinstance(value, int | str) and not isinstance(value, bool):
                values.append(value)
            else:
                raise BadCursor
        except (TypeError, ValueError) as exc:
            raise BadCursor from exc
    return values


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None


def _after(keys: Sequence[Any], values: Sequence[Any], descending: bool):
    """Rows strictly after ``values`` in the order of ``keys``.

    Written as (a > x) OR (a = x AND b > y) rather than a row-value comparison:
    both databases use the index for either, and this form needs no row-value
    support in older SQLite.
    """
    clauses = []
    for i, key in enumerate(keys):
        equal = [keys[j] == values[j] for j in range(i)]
        beyond = key < values[i] if descending else key > values[i]
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)


def keyset_page(
    stmt: Select,
    keys: Sequence[Any],
    *,
    cursor: str | None,
    limit: int,
    key_of: Callable[[Any], Sequence[Any]],
    descending: bool = False,
) -> Page:
    """One page of ``stmt`` (which selects entities) ordered by ``keys``.

    ``keys`` must not be NULL and must end in a unique column; ``key_of`` reads
    the same values off a row for the next cursor. A cursor that cannot be read
    answers 422 naming the ``cursor`` parameter.
    """
    from flask_smorest import abort

    if cursor:
        try:
            values = decode_cursor(cursor, len(keys))
        except BadCursor:
            abort(
                422,
                errors=[
                    field_error(
                        "cursor",
                        _l(
                            "This cursor was not given out by this list; start again from the first page."
                        ),
                        "query",
                    )
                ],
            )
        stmt = stmt.where(_after(keys, values, descending))
    order = [key.desc() if descending else key.asc() for key in keys]
    rows = list(db.session.execute(stmt.order_by(*order).limit(limit + 1)).scalars().unique())
    more = len(rows) > limit
    items = rows[:limit]
    next_cursor = encode_cursor(key_of(items[-1])) if more and items else None
    return Page(items=items, next_cursor=next_cursor)


def link_header(page: Page) -> dict[str, str]:
    """``Link: <...>; rel="next"`` for clients that follow links rather than read the body."""
    if not page.next_cursor or request.endpoint is None:
        return {}
    args = {**request.args.to_dict(), **(request.view_args or {}), "cursor": page.next_cursor}
    return {"Link": f'<{url_for(request.endpoint, _external=False, **args)}>; rel="next"'}
