"""/api/v1/issues/<id>/steps: the workflow of an issue (``crm/issues/workflow.py``), one step a POST.

A step that the issue's current status does not allow (resolving a new issue,
closing before a satisfied callback) answers **409 Conflict** naming ``action``:
the request is well-formed but conflicts with the state of the record; 422 is
kept for input that is wrong whatever the state. There is no "reopen" step: as
in the UI, a callback with satisfaction 1 or 2 reopens the issue (and escalates).
"""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import abort

from crm.access import Action
from crm.api.base import checked_first, resource, token_user, write
from crm.api.etag import IF_MATCH_PARAMETER, etag_header, expected_version
from crm.api.problems import field_error
from crm.api.resources.issues import (
    NOTE,
    STEP_ACTIONS,
    IssueDetailSchema,
    StepSchema,
    assignee_or_422,
    issue_or_abort,
    unit_or_422,
)
from crm.api.resources.lookups import api_field_names
from crm.api.schemas import Id
from crm.issues import workflow

blp = resource("issue_steps", "issues", "The workflow steps of an enterprise issue.")


class StepInputSchema(ma.Schema):
    action = ma.fields.String(required=True, validate=ma.validate.OneOf(STEP_ACTIONS))
    note = ma.fields.String(
        allow_none=True,
        validate=NOTE,
        metadata={
            "description": "start: the proposed solution (required); resolve: how it was "
            "resolved (required); callback: the enterprise's comment; reassign: the reason "
            "(required)"
        },
    )
    satisfaction = ma.fields.Integer(
        allow_none=True,
        validate=ma.validate.Range(min=1, max=5, error=_l("Give the satisfaction from 1 to 5.")),
        metadata={"description": "callback: 1–5; 1 or 2 reopens the issue"},
    )
    assignee_id = Id(allow_none=True, metadata={"description": "reassign: absent keeps it"})
    unit_id = Id(allow_none=True, metadata={"description": "reassign: absent keeps it"})


@blp.route("/<int:issue_id>/steps")
class IssueSteps(MethodView):
    @blp.response(200, StepSchema(many=True))
    def get(self, issue_id):
        """The issue's steps, oldest first (reassignments keep the status)."""
        return workflow.steps(issue_or_abort(issue_id))

    @checked_first(lambda issue_id: issue_or_abort(issue_id, Action.EDIT))
    @blp.arguments(StepInputSchema)
    @blp.response(200, IssueDetailSchema)
    @blp.doc(parameters=[IF_MATCH_PARAMETER])
    def post(self, data, issue_id):
        """Take one step: accept, start, resolve, callback, close or reassign (managers).

        Answers the issue as it now stands, with its new ETag. A step the current
        status does not allow answers 409 naming ``action``.
        """
        action = data["action"]
        issue = issue_or_abort(issue_id, Action.MANAGE if action == "reassign" else Action.EDIT)
        version = expected_version(issue)
        if not workflow.possible_now(issue, action):
            abort(409, errors=[field_error("action", str(workflow.illegal_message(issue)))])
        actor = token_user()
        note = data.get("note")
        if action in workflow.ACTIONS:
            step = lambda: workflow.transition(  # noqa: E731
                issue, action, actor=actor, expected_version=version, note=note
            )
        elif action == "callback":

            def step():
                with api_field_names({"comment": "note"}):
                    return workflow.callback(
                        issue,
                        actor=actor,
                        expected_version=version,
                        satisfaction=data.get("satisfaction"),
                        comment=note,
                    )

        else:
            assignee = (
                assignee_or_422(data["assignee_id"], issue.assignee)
                if "assignee_id" in data
                else issue.assignee
            )
            unit = unit_or_422(data["unit_id"], issue.unit) if "unit_id" in data else issue.unit

            def step():
                with api_field_names({"reason": "note", "assignee": "assignee_id"}):
                    return workflow.reassign(
                        issue,
                        actor=actor,
                        expected_version=version,
                        assignee=assignee,
                        unit=unit,
                        reason=note,
                    )

        write(step)
        return issue, 200, etag_header(issue)
