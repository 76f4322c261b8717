"""/api/v1/projects/<id>/stage-changes and /funds: a project's lifecycle and funds in place.

A stage change follows the UI's rules exactly (``crm.projects.services.change_stage``:
dated today or earlier but not before the current stage began; a skip, a move back
or a termination needs a reason and is marked). It changes the project, so it
needs the project's ETag in If-Match and answers the project as it now stands.

Funds entries are never edited: a correction is a new entry naming the one it
corrects (``corrects_id``) and takes that entry's month and source. Reporting
funds does not change the project's version (an open edit must not turn stale
because of it), so it needs no If-Match.
"""

from __future__ import annotations

import re
from datetime import date

import marshmallow as ma
from flask.views import MethodView
from flask_babel import lazy_gettext as _l

from crm.access import Action, current_access
from crm.api import messages
from crm.api.base import checked_first, resource, token_user, write
from crm.api.etag import IF_MATCH_PARAMETER, etag_header, expected_version
from crm.api.resources.lookups import Amount, chosen, refuse
from crm.api.resources.projects import STAGES, ProjectDetailSchema, StageChangeSchema
from crm.api.schemas import Id, RefSchema
from crm.models import FundsEntry, FundsSource, Project
from crm.projects import services

blp = resource(
    "project_progress", "projects", "A project's stage changes and funds in place (到位资金)."
)

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
SOURCES = [source.value for source in FundsSource]


class Month(ma.fields.String):
    """A month as ``YYYY-MM``, kept as its first day."""

    default_error_messages = {"invalid": _l("Enter a month, e.g. 2024-05.")}

    def _deserialize(self, value, attr, data, **kwargs) -> date:
        text = super()._deserialize(value, attr, data, **kwargs)
        match = MONTH.fullmatch(text)
        if not match or int(match.group(1)) < 1900:
            raise self.make_error("invalid")
        return date(int(match.group(1)), int(match.group(2)), 1)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.strftime("%Y-%m")


class StageMoveSchema(ma.Schema):
    to_stage = ma.fields.String(required=True, validate=ma.validate.OneOf(STAGES))
    effective_on = ma.fields.Date(
        required=True, metadata={"description": "the day the stage was reached (may be past)"}
    )
    reason = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(max=5000),
        metadata={"description": "required to skip or reverse stages, or to terminate"},
    )


class FundsEntrySchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    month = Month(
        metadata={
            "description": "YYYY-MM; taken from the corrected entry for a correction",
            "pattern": MONTH.pattern,
        }
    )
    source = ma.fields.String(validate=ma.validate.OneOf(SOURCES))
    amount_wan = Amount(
        required=True,
        metadata={"description": "万元; negative only in a correction"},
    )
    corrects_id = Id(allow_none=True, metadata={"description": "the entry this one corrects"})
    note = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(max=5000),
        metadata={"description": "required for a correction: why"},
    )
    recorded_at = ma.fields.DateTime(dump_only=True)
    recorded_by = ma.fields.Nested(RefSchema, dump_only=True, allow_none=True)


def _project(project_id: int, action: Action = Action.READ) -> Project:
    return current_access().project_or_abort(project_id, action)


@blp.route("/<int:project_id>/stage-changes")
class StageChanges(MethodView):
    @blp.response(200, StageChangeSchema(many=True))
    def get(self, project_id):
        """The project's stage history, newest first (as the project page lists it)."""
        return services.stage_history(_project(project_id))

    @checked_first(lambda project_id: _project(project_id, Action.EDIT))
    @blp.arguments(StageMoveSchema)
    @blp.response(200, ProjectDetailSchema)
    @blp.doc(parameters=[IF_MATCH_PARAMETER])
    def post(self, data, project_id):
        """Move the project to another stage as of a date; answers the project, with its new ETag."""
        project = _project(project_id, Action.EDIT)
        version = expected_version(project)
        actor = token_user()
        write(
            lambda: services.change_stage(
                project,
                actor=actor,
                expected_version=version,
                to_stage=data["to_stage"],
                effective_on=data["effective_on"],
                reason=data.get("reason"),
            )
        )
        return project, 200, etag_header(project)


@blp.route("/<int:project_id>/funds")
class Funds(MethodView):
    @blp.response(200, FundsEntrySchema(many=True))
    def get(self, project_id):
        """Every funds entry of the project, newest month first, corrections included."""
        return services.funds_entries(_project(project_id))

    @checked_first(lambda project_id: _project(project_id, Action.EDIT))
    @blp.arguments(FundsEntrySchema)
    @blp.response(201, FundsEntrySchema)
    def post(self, data, project_id):
        """Report funds in place for a month and source, or correct an earlier entry."""
        project = _project(project_id, Action.EDIT)
        corrects = chosen(
            FundsEntry,
            data.get("corrects_id"),
            "corrects_id",
            lambda entry: entry.project_id == project.id,
        )
        if corrects is None and not data.get("source"):
            refuse("source", messages.KNOWN["Missing data for required field."])
        actor = token_user()
        return write(
            lambda: services.record_funds(
                project,
                actor=actor,
                month=data.get("month"),
                source=data.get("source") or (corrects.source if corrects else None),
                amount_wan=data["amount_wan"],
                note=data.get("note"),
                corrects=corrects,
            )
        ), 201
