"""/api/v1/enterprises: the register, one enterprise, create, change, delete."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, select
from sqlalchemy.orm import aliased

from crm.access import Action, current_access
from crm.api.base import requires, resource, token_user, write
from crm.api.etag import IF_MATCH_PARAMETER, etag_header, expected_version
from crm.api.pagination import PageArgs, keyset_page, link_header, page_schema
from crm.api.schemas import Id, RefSchema
from crm.enterprises import queries, search, services
from crm.enterprises.search import normalise_query
from crm.models import Enterprise, EnterpriseGram

blp = resource("enterprises", "enterprises", "Enterprises: the register and each enterprise.")

_YEAR = ma.validate.Range(min=1900, max=2100, error=_l("Not a valid year."))


class EnterpriseSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    credit_code = ma.fields.String(
        metadata={"description": "unified social credit code (统一社会信用代码), 18 characters"}
    )
    name = ma.fields.String()
    name_en = ma.fields.String(allow_none=True)
    region = ma.fields.String(allow_none=True)
    address = ma.fields.String(allow_none=True)
    industry = ma.fields.Nested(RefSchema, allow_none=True, dump_only=True)
    chamber = ma.fields.Nested(RefSchema, allow_none=True, dump_only=True)
    responsible = ma.fields.Nested(RefSchema, allow_none=True, dump_only=True)
    units = ma.fields.List(ma.fields.Nested(RefSchema), dump_only=True)
    fortune_global_500_year = ma.fields.Integer(allow_none=True, validate=_YEAR)
    china_top_500_year = ma.fields.Integer(allow_none=True, validate=_YEAR)
    china_private_500_year = ma.fields.Integer(allow_none=True, validate=_YEAR)
    is_listed = ma.fields.Boolean()
    is_foreign_invested = ma.fields.Boolean()
    is_settled = ma.fields.Boolean()
    is_reinvesting = ma.fields.Boolean()
    description = ma.fields.String(allow_none=True)
    last_activity_at = ma.fields.DateTime(dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)
    version = ma.fields.Integer(dump_only=True)


class EnterpriseWriteSchema(EnterpriseSchema):
    """What a caller sends: related records by id."""

    industry_id = Id(allow_none=True, load_only=True)
    chamber_id = Id(allow_none=True, load_only=True)
    responsible_id = Id(allow_none=True, load_only=True)
    unit_ids = ma.fields.List(Id(), load_only=True, metadata={"description": "ids of the units"})


class EnterpriseCreateSchema(EnterpriseWriteSchema):
    name = ma.fields.String(required=True)
    credit_code = ma.fields.String(required=True)
    unit_ids = ma.fields.List(Id(), required=True, load_only=True)


class EnterpriseListArgs(PageArgs):
    q = ma.fields.String(
        metadata={
            "description": "search: any part of the name (two Chinese characters "
            "work), pinyin, initials, English name or credit code"
        }
    )
    tag = ma.fields.String(validate=ma.validate.OneOf(sorted(queries.TAG_CONDITIONS)))
    unit_id = Id(metadata={"description": "attached to this unit or below"})
    responsible_id = Id()
    industry_id = Id()


def _service_fields(data: dict) -> dict:
    """The request body in the services' words (``industry`` takes a row or an id)."""
    fields = dict(data)
    for name in ("industry", "chamber", "responsible"):
        if f"{name}_id" in fields:
            fields[name] = fields.pop(f"{name}_id") or None
    if "unit_ids" in fields:
        fields["units"] = sorted(set(fields.pop("unit_ids")))
    return fields


@blp.route("/")
class Enterprises(MethodView):
    @blp.arguments(EnterpriseListArgs, location="query")
    @blp.response(200, page_schema(EnterpriseSchema))
    def get(self, args):
        """The register: enterprises in your units, oldest first, with the UI's filters and search."""
        filters = queries.Filters(
            q=normalise_query(args.get("q")),
            tag=args.get("tag", ""),
            unit_id=args.get("unit_id"),
            responsible_id=args.get("responsible_id"),
            industry_id=args.get("industry_id"),
        )
        stmt = select(Enterprise).where(
            Enterprise.deleted_at.is_(None),
            current_access().enterprise_scope(),
            *filters.conditions(),
        )
        key = Enterprise.id
        if filters.q:
            plan = search.plan(filters.q)
            stmt = stmt.where(plan.condition)
            if plan.driver:
                # Walk the rarest piece's postings, already in id order (see Plan.driver).
                posting = aliased(EnterpriseGram)
                stmt = stmt.join(
                    posting,
                    and_(posting.enterprise_id == Enterprise.id, posting.gram == plan.driver),
                )
                key = posting.enterprise_id
        page = keyset_page(
            stmt,
            [key],
            cursor=args.get("cursor"),
            limit=args["limit"],
            key_of=lambda e: (e.id,),
        )
        return {"items": page.items, "next_cursor": page.next_cursor}, 200, link_header(page)

    @requires(Action.EDIT)
    @blp.arguments(EnterpriseCreateSchema)
    @blp.response(201, EnterpriseSchema)
    def post(self, data):
        """Register an enterprise (as the UI does: the code is checked and must be new)."""
        actor = token_user()
        enterprise = write(lambda: services.create_enterprise(actor=actor, **_service_fields(data)))
        return enterprise, 201, etag_header(enterprise)


@blp.route("/<int:enterprise_id>")
class EnterpriseItem(MethodView):
    @blp.response(200, EnterpriseSchema)
    def get(self, enterprise_id):
        """One enterprise; its ETag goes in If-Match to change it."""
        enterprise = current_access().enterprise_or_abort(enterprise_id)
        return enterprise, 200, etag_header(enterprise)

    @blp.arguments(EnterpriseWriteSchema(partial=True))
    @blp.response(200, EnterpriseSchema)
    @blp.doc(parameters=[IF_MATCH_PARAMETER])
    def patch(self, data, enterprise_id):
        """Change the fields sent; the change is recorded in the enterprise's file."""
        enterprise = current_access().enterprise_or_abort(enterprise_id, Action.EDIT)
        version = expected_version(enterprise)
        actor = token_user()
        write(
            lambda: services.update_enterprise(
                enterprise, actor=actor, expected_version=version, **_service_fields(data)
            )
        )
        return enterprise, 200, etag_header(enterprise)

    @blp.response(204)
    @blp.doc(parameters=[IF_MATCH_PARAMETER])
    def delete(self, enterprise_id):
        """Move the enterprise to the trash (managers); an admin can restore it."""
        enterprise = current_access().enterprise_or_abort(enterprise_id, Action.MANAGE)
        expected_version(enterprise)
        actor = token_user()
        write(lambda: services.delete_enterprise(enterprise, actor=actor))
        return "", 204
