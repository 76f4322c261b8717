"""/api/v1/projects: investment projects — the list, one project, create, change, delete.

Stage changes and funds in place are in ``project_progress``. Every write goes
through ``crm.projects.services`` with the token's user as actor, so the
enterprise's file records it as it records the same change made in the UI.
"""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from sqlalchemy.orm import joinedload

from crm.access import Action, current_access
from crm.api.base import checked_first, resource, token_user, write
from crm.api.etag import IF_MATCH_PARAMETER, etag_header, expected_version
from crm.api.pagination import PageArgs, keyset_page, link_header, page_schema
from crm.api.resources.lookups import Amount, api_field_names, chosen, derived, rate_number
from crm.api.schemas import Id, RefSchema
from crm.clock import local_today
from crm.models import (
    PUBLIC_FIELDS,
    AttractionChannel,
    Industry,
    OrgUnit,
    OutboundRole,
    Project,
    ProjectStage,
)
from crm.projects import figures, queries, services

blp = resource("projects", "", "Investment projects (招商项目).")

STAGES = [stage.value for stage in ProjectStage]
UNIT_FIELDS = tuple(services.UNIT_KINDS)  # county, park, task_force, outbound_office
MAX_JOBS = 10_000_000


def _amount_field(description: str) -> Amount:
    return Amount(allow_none=True, metadata={"description": description})


class StageChangeSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    from_stage = ma.fields.String(dump_only=True, allow_none=True)
    to_stage = ma.fields.String(dump_only=True)
    effective_on = ma.fields.Date(dump_only=True)
    is_irregular = ma.fields.Boolean(dump_only=True)
    reason = ma.fields.String(dump_only=True, allow_none=True)
    recorded_at = ma.fields.DateTime(dump_only=True)
    recorded_by = ma.fields.Nested(RefSchema, dump_only=True, allow_none=True)


class ProjectSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    enterprise = ma.fields.Nested(RefSchema, dump_only=True)
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    name_en = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=300))
    description = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=20000))
    description_en = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=20000))
    industry = ma.fields.Nested(RefSchema, dump_only=True, allow_none=True)
    county = ma.fields.Nested(RefSchema, dump_only=True, allow_none=True)
    park = ma.fields.Nested(RefSchema, dump_only=True, allow_none=True)
    task_force = ma.fields.Nested(RefSchema, dump_only=True, allow_none=True)
    outbound_office = ma.fields.Nested(RefSchema, dump_only=True, allow_none=True)
    channel = ma.fields.String(
        allow_none=True, validate=ma.validate.OneOf([c.value for c in AttractionChannel])
    )
    outbound_role = ma.fields.String(
        allow_none=True, validate=ma.validate.OneOf([r.value for r in OutboundRole])
    )
    contract_amount_wan = _amount_field("contract investment amount, 万元")
    fdi_usd_wan = _amount_field("foreign direct investment, 万美元")
    is_out_of_province = ma.fields.Boolean()
    is_reinvestment = ma.fields.Boolean()
    platform_number = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(max=64),
        metadata={"description": "the city platform's project number; unique"},
    )
    committed_investment_wan = _amount_field("committed investment, 万元")
    committed_output_wan = _amount_field("committed yearly output, 万元")
    committed_tax_wan = _amount_field("committed yearly tax, 万元")
    committed_jobs = ma.fields.Integer(
        allow_none=True, validate=ma.validate.Range(min=0, max=MAX_JOBS)
    )
    planned_start_on = ma.fields.Date(allow_none=True)
    is_promoted = ma.fields.Boolean(
        metadata={"description": "reserve projects: shown on the public opportunity list"}
    )
    public_fields = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(PUBLIC_FIELDS)))
    is_key = ma.fields.Boolean(dump_only=True, metadata={"description": "10 亿元 or more"})
    stage = ma.fields.String(dump_only=True, metadata={"enum": STAGES})
    stage_since = ma.fields.Date(dump_only=True)
    signed_on = ma.fields.Date(dump_only=True, allow_none=True)
    landed_on = ma.fields.Date(dump_only=True, allow_none=True)
    started_on = ma.fields.Date(dump_only=True, allow_none=True)
    producing_on = ma.fields.Date(dump_only=True, allow_none=True)
    reached_target_on = ma.fields.Date(dump_only=True, allow_none=True)
    terminated_on = ma.fields.Date(dump_only=True, allow_none=True)
    termination_reason = ma.fields.String(dump_only=True, allow_none=True)
    last_progress_on = ma.fields.Date(dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)
    version = ma.fields.Integer(dump_only=True)


def _funds_in_place(project: Project) -> str:
    return str(services.funds_total(project))


def _funds_rate(project: Project) -> float | None:
    return rate_number(figures.ratio(services.funds_total(project), project.contract_amount_wan))


class ProjectDetailSchema(ProjectSchema):
    funds_in_place_wan = derived(
        ma.fields.String, _funds_in_place, metadata={"description": "到位资金 to date, 万元"}
    )
    funds_rate = derived(
        ma.fields.Float,
        _funds_rate,
        allow_none=True,
        metadata={"description": "funds in place / contract amount (资金到位率)"},
    )
    stage_changes = derived(
        ma.fields.List, services.stage_history, ma.fields.Nested(StageChangeSchema)
    )


class ProjectWriteSchema(ProjectSchema):
    industry_id = Id(allow_none=True, load_only=True)
    county_id = Id(allow_none=True, load_only=True)
    park_id = Id(allow_none=True, load_only=True)
    task_force_id = Id(allow_none=True, load_only=True)
    outbound_office_id = Id(allow_none=True, load_only=True)


class ProjectCreateSchema(ProjectWriteSchema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    stage = ma.fields.String(
        load_default=ProjectStage.RESERVE.value,
        validate=ma.validate.OneOf([s for s in STAGES if s != ProjectStage.TERMINATED.value]),
        metadata={"description": "where the project enters the ladder"},
    )
    stage_on = ma.fields.Date(
        metadata={"description": "in this stage since (today or earlier; default today)"}
    )


class ProjectListArgs(PageArgs):
    q = ma.fields.String(
        validate=ma.validate.Length(max=100),
        metadata={"description": "any part of the name (Chinese or English)"},
    )
    stage = ma.fields.String(validate=ma.validate.OneOf(STAGES))
    county_id = Id()
    task_force_id = Id()
    channel = ma.fields.String(validate=ma.validate.OneOf([c.value for c in AttractionChannel]))
    key = ma.fields.Boolean(metadata={"description": "key projects only (10 亿元 or more)"})
    stalled = ma.fields.Boolean(metadata={"description": "stalled projects only"})


# -- helpers ---------------------------------------------------------------------------------
def _fields(data: dict, project: Project | None) -> dict:
    """The body in the service's words: related records by id, checked as the form's choices.

    The forms offer active units and industries (and whatever the project already
    has); anything else is refused naming the field.
    """
    fields = {key: value for key, value in data.items() if key in services.PROJECT_FIELDS}
    for name in UNIT_FIELDS:
        if f"{name}_id" in data:
            current = getattr(project, name) if project else None
            fields[name] = chosen(
                OrgUnit,
                data[f"{name}_id"],
                f"{name}_id",
                lambda unit, current=current: unit == current or unit.is_active,
            )
    if "industry_id" in data:
        current = project.industry if project else None
        fields["industry"] = chosen(
            Industry,
            data["industry_id"],
            "industry_id",
            lambda industry: industry == current or industry.is_active,
        )
    return fields


# The services name related fields as their forms do (``county``); the body says ``county_id``.
RENAMED = {name: f"{name}_id" for name in (*UNIT_FIELDS, "industry")}


def _list(args: dict, *conditions):
    stmt = (
        current_access()
        .projects()
        .options(
            *(
                joinedload(getattr(Project, name))
                for name in ("enterprise", "industry", *UNIT_FIELDS)
            )
        )
        .where(
            *queries.list_conditions(
                today=local_today(),
                stage=args.get("stage"),
                county_id=args.get("county_id"),
                task_force_id=args.get("task_force_id"),
                key=bool(args.get("key")),
                stalled=bool(args.get("stalled")),
                q=args.get("q"),
                channel=args.get("channel"),
            ),
            *conditions,
        )
    )
    page = keyset_page(
        stmt,
        [Project.id],
        cursor=args.get("cursor"),
        limit=args["limit"],
        key_of=lambda project: (project.id,),
    )
    return {"items": page.items, "next_cursor": page.next_cursor}, 200, link_header(page)


# -- routes ----------------------------------------------------------------------------------
@blp.route("/projects/")
class Projects(MethodView):
    @blp.arguments(ProjectListArgs, location="query")
    @blp.response(200, page_schema(ProjectSchema))
    def get(self, args):
        """Projects in your scope, oldest first, with the UI list's filters and search."""
        return _list(args)


@blp.route("/enterprises/<int:enterprise_id>/projects")
class EnterpriseProjects(MethodView):
    @blp.arguments(ProjectListArgs, location="query")
    @blp.response(200, page_schema(ProjectSchema))
    def get(self, args, enterprise_id):
        """One enterprise's projects, oldest first."""
        enterprise = current_access().enterprise_or_abort(enterprise_id)
        return _list(args, Project.enterprise_id == enterprise.id)

    @checked_first(
        lambda enterprise_id: current_access().enterprise_or_abort(enterprise_id, Action.EDIT)
    )
    @blp.arguments(ProjectCreateSchema)
    @blp.response(201, ProjectDetailSchema)
    def post(self, data, enterprise_id):
        """Create a project entering the ladder at ``stage`` as of ``stage_on``."""
        enterprise = current_access().enterprise_or_abort(enterprise_id, Action.EDIT)
        fields = _fields(data, None)
        actor = token_user()

        def create():
            with api_field_names(RENAMED):
                return services.create_project(
                    enterprise,
                    actor=actor,
                    stage=data["stage"],
                    stage_on=data.get("stage_on"),
                    **fields,
                )

        project = write(create)
        return project, 201, etag_header(project)


def _project(project_id: int, action: Action = Action.READ) -> Project:
    return current_access().project_or_abort(project_id, action)


@blp.route("/projects/<int:project_id>")
class ProjectItem(MethodView):
    @blp.response(200, ProjectDetailSchema)
    def get(self, project_id):
        """One project with its stage history and funds in place; its ETag goes in If-Match."""
        project = _project(project_id)
        return project, 200, etag_header(project)

    @checked_first(lambda project_id: _project(project_id, Action.EDIT))
    @blp.arguments(ProjectWriteSchema(partial=True))
    @blp.response(200, ProjectDetailSchema)
    @blp.doc(parameters=[IF_MATCH_PARAMETER])
    def patch(self, data, project_id):
        """Change the fields sent (stages move by stage changes); recorded in the file."""
        project = _project(project_id, Action.EDIT)
        version = expected_version(project)
        fields = _fields(data, project)
        actor = token_user()

        def update():
            with api_field_names(RENAMED):
                return services.update_project(
                    project, actor=actor, expected_version=version, **fields
                )

        write(update)
        return project, 200, etag_header(project)

    @blp.response(204)
    @blp.doc(parameters=[IF_MATCH_PARAMETER])
    def delete(self, project_id):
        """Move the project to the trash (managers); an admin can restore it."""
        project = _project(project_id, Action.MANAGE)
        expected_version(project)
        actor = token_user()
        write(lambda: services.delete_project(project, actor=actor))
        return "", 204
