"""ETag and If-Match: an update based on a stale read gets 412 and changes nothing.

The ETag is the record's optimistic-locking version, the same number the web
forms carry in a hidden field, so the API and the UI guard each other's edits.
"""

from __future__ import annotations

from flask import request
from flask_smorest import abort


def etag_of(record) -> str:
    return f'"{record.id}.{record.version}"'


def etag_header(record) -> dict[str, str]:
    return {"ETag": etag_of(record)}


def expected_version(record) -> int:
    """The version the caller read, from If-Match: 428 when absent, 412 when stale.

    The returned version goes to the service, whose check (and SQLAlchemy's
    version column at UPDATE time) catches a change made after this comparison.
    """
    header = request.headers.get("If-Match")
    if not header:
        abort(428)
    wanted = {part.strip().removeprefix("W/") for part in header.split(",")}
    if "*" in wanted:
        return record.version
    if etag_of(record) not in wanted:
        abort(412)
    return record.version


IF_MATCH_PARAMETER = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "description": "The ETag of the record as you read it.",
    "schema": {"type": "string"},
}
