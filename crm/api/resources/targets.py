"""/api/v1/targets: yearly targets of counties and task forces, with the figures they are met by.

Reading: every signed-in user, as the monthly report shows every unit's targets
and completion; ``scope`` holds the figures of the caller's own scope with the
rates and goals the dashboard shows. Writing a target is the admin area's, as in
the UI (``crm.targets.services.save_targets``, logged to the audit log).
"""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import abort

from crm.access import current_access
from crm.api.base import checked_first, resource, token_user, write
from crm.api.etag import IF_MATCH_PARAMETER, etag_header, expected_version
from crm.api.resources.figures import FiguresSchema, amount_text, as_json
from crm.api.resources.lookups import Amount, rate_number
from crm.api.schemas import RefSchema
from crm.clock import local_today
from crm.extensions import db
from crm.models import OrgUnit, Target
from crm.projects import figures as fig
from crm.projects.figures import RANKED_KINDS, Period
from crm.projects.services import check_amount
from crm.targets import services
from crm.targets.forms import MAX_PROJECTS

blp = resource("targets", "targets", "Yearly targets, the rates and target completion.")

_YEAR = ma.validate.Range(
    min=services.MIN_YEAR, max=services.MAX_YEAR, error=_l("Choose a year from 2000 to 2100.")
)


class TargetValuesSchema(ma.Schema):
    new_projects = ma.fields.Integer(
        allow_none=True, validate=ma.validate.Range(min=0, max=MAX_PROJECTS)
    )
    contract_amount_wan = Amount(allow_none=True)
    out_of_province_funds_wan = Amount(allow_none=True)


class TargetSchema(TargetValuesSchema):
    year = ma.fields.Integer(dump_only=True)
    unit = ma.fields.Nested(RefSchema, dump_only=True)
    kind = ma.fields.String(dump_only=True, metadata={"enum": [k.value for k in RANKED_KINDS]})
    version = ma.fields.Integer(
        dump_only=True, allow_none=True, metadata={"description": "null: no target set yet"}
    )


class UnitFiguresSchema(ma.Schema):
    unit = ma.fields.Nested(RefSchema)
    kind = ma.fields.String(metadata={"enum": [k.value for k in RANKED_KINDS]})
    rank = ma.fields.Integer(allow_none=True)
    figures = ma.fields.Nested(FiguresSchema)


class GoalsSchema(ma.Schema):
    landing_rate = ma.fields.Float(allow_none=True)
    start_rate = ma.fields.Float(allow_none=True)


class TargetsSchema(ma.Schema):
    year = ma.fields.Integer()
    month = ma.fields.Integer(metadata={"description": "figures from January to this month"})
    goals = ma.fields.Nested(GoalsSchema, metadata={"description": "the city's rate goals"})
    scope = ma.fields.Nested(
        FiguresSchema,
        metadata={
            "description": "your scope's figures, as your dashboard shows them (the city's "
            "targets for those who see everything)"
        },
    )
    units = ma.fields.List(ma.fields.Nested(UnitFiguresSchema))


class TargetsArgs(ma.Schema):
    year = ma.fields.Integer(validate=_YEAR, metadata={"description": "default: this year"})
    month = ma.fields.Integer(
        validate=ma.validate.Range(min=1, max=12),
        metadata={"description": "default: this month this year, December for other years"},
    )


def _goal(percent) -> float | None:
    return None if percent is None else rate_number(percent / 100)


def _scope_figures(period: Period):
    """The dashboard's headline figures: the reader's scope, with the city's targets for
    readers who see everything (crm.dashboard.services.build does the same)."""
    access = current_access()
    figures = fig.total_figures(period, access.project_scope())
    if access.sees_everything:
        projects, amount, funds = fig.city_targets(period.year)
        figures.target_projects = int(projects) if projects is not None else None
        figures.target_amount_wan = amount
        figures.target_out_of_province_funds_wan = funds
    return figures


@blp.route("/")
class Targets(MethodView):
    @blp.arguments(TargetsArgs, location="query")
    @blp.response(200, TargetsSchema)
    def get(self, args):
        """Every county's and task force's targets and figures for the year to a month."""
        today = local_today()
        year = args.get("year", today.year)
        month = args.get("month") or (today.month if year == today.year else 12)
        period = Period(year, month)
        rule = fig.counting_rule(year)
        units = []
        for kind, rows in fig.rankings(period).items():
            for row in rows:
                units.append(
                    {
                        "unit": {"id": row.unit_id, "name": row.unit_name},
                        "kind": kind.value,
                        "rank": row.rank,
                        "figures": as_json(row.figures),
                    }
                )
        return {
            "year": year,
            "month": month,
            "goals": {
                "landing_rate": _goal(rule.landing_rate_goal_pct if rule else None),
                "start_rate": _goal(rule.start_rate_goal_pct if rule else None),
            },
            "scope": as_json(_scope_figures(period)),
            "units": units,
        }


def _unit(unit_id: int) -> OrgUnit:
    """A unit that gets targets (an active county or task force), or 404."""
    unit = db.session.get(OrgUnit, unit_id)
    if unit is None or unit not in services.target_units():
        abort(404)
    return unit


def _check_year(year: int) -> None:
    if not services.MIN_YEAR <= year <= services.MAX_YEAR:
        abort(404)


def _target_json(year: int, unit: OrgUnit, target: Target | None) -> dict:
    return {
        "year": year,
        "unit": unit,
        "kind": unit.kind.value,
        "new_projects": target.new_projects if target else None,
        "contract_amount_wan": amount_text(target.contract_amount_wan) if target else None,
        "out_of_province_funds_wan": amount_text(target.out_of_province_funds_wan)
        if target
        else None,
        "version": target.version if target else None,
    }


def _save(year: int, entry: services.TargetEntry, actor) -> None:
    # The grid's messages name the unit's row; a caller of the API needs the field.
    for name in ("contract_amount_wan", "out_of_province_funds_wan"):
        check_amount(getattr(entry, name), name)
    services.save_targets(year, [entry], actor=actor)


def _admin_only(**_url_values) -> None:
    current_access().require_admin()


@blp.route("/<int:year>/<int:unit_id>")
class TargetItem(MethodView):
    @blp.response(200, TargetSchema)
    def get(self, year, unit_id):
        """One unit's targets for a year (all null when none is set); its ETag goes in If-Match."""
        _check_year(year)
        unit = _unit(unit_id)
        target = services.targets_of_year(year).get(unit.id)
        headers = etag_header(target) if target else {}
        return _target_json(year, unit, target), 200, headers

    @checked_first(_admin_only)
    @blp.arguments(TargetValuesSchema)
    @blp.response(200, TargetSchema)
    @blp.doc(parameters=[{**IF_MATCH_PARAMETER, "required": False}])
    def put(self, data, year, unit_id):
        """Set the unit's targets (admins). If-Match is required once a target exists;
        an absent or null value means no target for that metric."""
        _check_year(year)
        unit = _unit(unit_id)
        target = services.targets_of_year(year).get(unit.id)
        version = expected_version(target) if target else None
        entry = services.TargetEntry(
            unit=unit,
            version=str(version) if version is not None else None,
            new_projects=data.get("new_projects"),
            contract_amount_wan=data.get("contract_amount_wan"),
            out_of_province_funds_wan=data.get("out_of_province_funds_wan"),
        )
        actor = token_user()
        write(lambda: _save(year, entry, actor))
        target = services.targets_of_year(year).get(unit.id)
        headers = etag_header(target) if target else {}
        return _target_json(year, unit, target), 200, headers
