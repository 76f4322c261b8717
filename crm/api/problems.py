"""Errors of the API as RFC 9457 problem details (``application/problem+json``).

Every refusal names what failed: validation errors list each field (and, for
the request body, its path) with a message in the caller's language.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import current_app, json, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from crm.api import messages

PROBLEM_TYPE = "application/problem+json"

TITLES = {
    400: _l("Bad request"),
    401: _l("Authentication required"),
    403: _l("Access denied"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict"),
    412: _l("The record has changed"),
    413: _l("Too large"),
    415: _l("Unsupported media type"),
    422: _l("Invalid input"),
    428: _l("If-Match required"),
    429: _l("Too many requests"),
    500: _l("Internal server error"),
}

DETAILS = {
    401: _l("Send a personal API token in the header: Authorization: Bearer <token>."),
    403: _l("You do not have permission to do this."),
    404: _l("The resource does not exist, or is outside your units."),
    412: _l(
        "The record was changed by someone else since you read it; nothing was changed. "
        "Read it again and send its new ETag in If-Match."
    ),
    428: _l("Send the ETag you read in the If-Match header to change this record."),
    500: _l("Something went wrong on our side; nothing was changed."),
}


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def problem(
    status: int,
    detail: str | None = None,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
):
    """A problem+json response."""
    title = TITLES.get(status)
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": str(title) if title else HTTPStatus(status).phrase,
        "status": status,
    }
    if detail is None and status in DETAILS:
        detail = DETAILS[status]
    if detail is not None:
        body["detail"] = str(detail)
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_TYPE
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401:
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="crm"')
    return response


def field_error(field: str, message: str, location: str = "json") -> dict[str, str]:
    return {"field": field, "in": location, "message": str(message)}


def _flatten(messages_by_field: Any, location: str, path: str = "") -> list[dict[str, str]]:
    """webargs/marshmallow's nested {"field": ["message"]} as a flat list."""
    found: list[dict[str, str]] = []
    if isinstance(messages_by_field, dict):
        for key, value in messages_by_field.items():
            name = f"{path}.{key}" if path else str(key)
            if key == "_schema":
                name = path or ""
            found.extend(_flatten(value, location, name))
    elif isinstance(messages_by_field, list | tuple):
        for item in messages_by_field:
            if isinstance(item, dict | list | tuple):
                found.extend(_flatten(item, location, path))
            else:
                found.append(field_error(path, messages.translate(str(item)), location))
    else:
        found.append(field_error(path, messages.translate(str(messages_by_field)), location))
    return found


def from_http_exception(error: HTTPException):
    """An HTTPException raised in the API (``abort`` from a view, or webargs' 422)."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    errors: list[dict[str, str]] = []
    if "messages" in data:
        for location, by_field in data["messages"].items():
            errors.extend(_flatten(by_field, location))
    if "errors" in data:
        errors.extend(data["errors"])
    detail = data.get("message")
    if detail is None and status == 422:
        detail = _("Some fields are not valid; see errors.")
    if detail is None and status not in DETAILS and error.description:
        detail = error.description
    extra = {key: data[key] for key in ("existing",) if key in data}
    headers = dict(data.get("headers") or {})
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    return problem(status, detail, errors=errors, headers=headers, **extra)
