"""What the resources share about fields: related records named by id, service
errors named as the API names the field, derived fields and amounts."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from flask_smorest import abort
from sqlalchemy import select

from crm.api.problems import field_error
from crm.errors import ServiceError
from crm.extensions import db
from crm.models import User

NOT_ALLOWED = _l("Not one of the allowed values.")


def refuse(field: str, message=NOT_ALLOWED):
    """422 naming the body field."""
    abort(422, errors=[field_error(field, str(message))])


def chosen(model, raw_id: int | None, field: str, allowed: Callable[[Any], bool]):
    """The record ``raw_id`` names if ``allowed(record)``; None for null; else 422 on ``field``.

    The web forms offer a list of choices; the API refuses what the list would not
    have offered, naming the field (never 404: the URL's record was found).
    """
    if raw_id is None:
        return None
    record = db.session.get(model, raw_id)
    if record is None or not allowed(record):
        refuse(field)
    return record


def derived(field_class: type[ma.fields.Field], compute: Callable[[Any], Any], *args, **kwargs):
    """A read-only field of ``field_class`` whose value is ``compute(record)``.

    Unlike ``fields.Function`` it keeps its type in the OpenAPI document (a list of
    steps is documented as such), so responses are checked against it.
    """

    class Derived(field_class):
        def get_value(self, obj, attr, accessor=None, default=ma.missing):
            return compute(obj)

    return Derived(*args, dump_only=True, **kwargs)


# Up to ten digits before the point (the services cap amounts at 10 亿 万元) and four after
# (one yuan): an amount is sent and read as text, so it stays exact (never a float).
AMOUNT_PATTERN = r"^-?\d{1,10}(\.\d{1,4})?$"


class Amount(ma.fields.Decimal):
    """An amount in 万元 as a decimal string, e.g. "1200.5"; the services check sign and size."""

    default_error_messages = {"invalid": _l("Enter the amount as a number.")}

    def __init__(self, **kwargs):
        metadata = {"type": "string", "pattern": AMOUNT_PATTERN, **kwargs.pop("metadata", {})}
        super().__init__(as_string=True, metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not re.fullmatch(AMOUNT_PATTERN, value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


RATE_PLACES = 6


def rate_number(value) -> float | None:
    """A rate (a fraction: 0.7 is 70%) as a JSON number; None when there is nothing to divide by.

    Rates are not money: a number is what a client charts, and six places keep
    every percentage the pages show (one decimal of a percent) exact.
    """
    return None if value is None else round(float(value), RATE_PLACES)


@contextmanager
def api_field_names(names: dict[str, str]) -> Iterator[None]:
    """Services name a relation (``known_by``); the API body carries its id
    (``known_by_id``): a refusal must name the field the caller sent."""
    try:
        yield
    except ServiceError as error:
        error.field = names.get(error.field or "", error.field)
        raise


def records_by_id(model, ids: list[int], field: str, unknown) -> list:
    """The ``model`` rows named by ``ids``, in that order (repeats dropped), in one query;
    an unknown id is a refusal on ``field`` saying ``unknown``."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    rows = db.session.execute(select(model).where(model.id.in_(ids))).scalars()
    found = {row.id: row for row in rows}
    if len(found) != len(ids):
        raise ServiceError(unknown, field)
    return [found[i] for i in ids]


def users_by_id(ids: list[int], field: str) -> list[User]:
    """The users named by ``ids``, in that order; an unknown id is a 422 on ``field``."""
    return records_by_id(User, ids, field, _l("No such user."))
