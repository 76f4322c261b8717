"""Schemas every resource shares."""

from __future__ import annotations

import marshmallow as ma


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
