"""Schemas every resource shares."""

from __future__ import annotations

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from crm.routing import MAX_ID


class Id(ma.fields.Integer):
    """A record's id: a positive number an id column can hold. Larger numbers are
    refused as input (422) instead of failing in the database."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "validate", ma.validate.Range(min=1, max=MAX_ID, error=_l("Not a valid id."))
        )
        super().__init__(**kwargs)


class FieldErrorSchema(ma.Schema):
    field = ma.fields.String(metadata={"description": "the field or parameter that failed"})
    in_ = ma.fields.String(data_key="in", metadata={"description": "json, query, path or header"})
    message = ma.fields.String()


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details."""

    type = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    errors = ma.fields.List(ma.fields.Nested(FieldErrorSchema))
    existing = ma.fields.String(metadata={"description": "for 409: the record that already exists"})


class RefSchema(ma.Schema):
    """Another record, named: enough to show it and to fetch it."""

    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
