"""/api/v1/reports: the monthly ranking (月通报) — published months, and one month as its page shows it.

A published month answers its frozen rows, and beside each figure that differs
now the live value (``changes``), as the report page does; units ranked now but
absent from the published report are listed as ``added``. A month not yet
published answers the live ranking (``published`` false). Every signed-in user
reads reports, as on the web.
"""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import abort
from sqlalchemy import select

from crm.api.base import resource
from crm.api.pagination import PageArgs, keyset_page, link_header, page_schema
from crm.api.resources.figures import FiguresSchema, amount_text, as_json
from crm.api.resources.lookups import rate_number
from crm.api.schemas import RefSchema
from crm.models import MonthlyReport
from crm.projects.figures import RANKED_KINDS
from crm.reports import services

blp = resource("reports", "reports", "The monthly ranking (月通报) of counties and task forces.")

_YEAR = ma.validate.Range(min=2000, max=2100, error=_l("Not a valid year."))


class PublishedSchema(ma.Schema):
    year = ma.fields.Integer()
    month = ma.fields.Integer()
    published_at = ma.fields.DateTime()
    published_by = ma.fields.Nested(RefSchema, allow_none=True)
    note = ma.fields.String(allow_none=True)


class ReportListArgs(PageArgs):
    year = ma.fields.Integer(validate=_YEAR)


class UnitRefSchema(ma.Schema):
    id = ma.fields.Integer(allow_none=True, metadata={"description": "null if since deleted"})
    name = ma.fields.String()


class ChangeSchema(ma.Schema):
    figure = ma.fields.String(metadata={"description": "a name of figures, or rank"})
    published = ma.fields.Raw(allow_none=True)
    now = ma.fields.Raw(allow_none=True)


class LineSchema(ma.Schema):
    unit = ma.fields.Nested(UnitRefSchema)
    rank = ma.fields.Integer(allow_none=True, metadata={"description": "null: no target, unranked"})
    figures = ma.fields.Nested(FiguresSchema)
    changes = ma.fields.List(
        ma.fields.Nested(ChangeSchema),
        metadata={"description": "figures corrected since publication"},
    )
    gone = ma.fields.Boolean(metadata={"description": "published, but no longer ranked"})


class TableSchema(ma.Schema):
    kind = ma.fields.String(metadata={"enum": [kind.value for kind in RANKED_KINDS]})
    lines = ma.fields.List(ma.fields.Nested(LineSchema))
    added = ma.fields.List(
        ma.fields.Nested(LineSchema),
        metadata={"description": "ranked now, not in the published report"},
    )


class MonthReportSchema(ma.Schema):
    year = ma.fields.Integer()
    month = ma.fields.Integer()
    title = ma.fields.String()
    published = ma.fields.Boolean()
    published_at = ma.fields.DateTime(allow_none=True)
    published_by = ma.fields.Nested(RefSchema, allow_none=True)
    note = ma.fields.String(allow_none=True)
    tables = ma.fields.List(ma.fields.Nested(TableSchema))


def _change_value(kind: str, value):
    if value is None:
        return None
    if kind in ("count", "rank"):
        return int(value)
    if kind == "amount":
        return amount_text(value)
    return rate_number(value)


def _line(unit_id, unit_name, rank, figures, changes=(), gone=False) -> dict:
    return {
        "unit": {"id": unit_id, "name": unit_name},
        "rank": rank,
        "figures": as_json(figures),
        "changes": [
            {
                "figure": change.name,
                "published": _change_value(change.metric.kind, change.old),
                "now": _change_value(change.metric.kind, change.new),
            }
            for change in changes
        ],
        "gone": gone,
    }


def _month_json(month: services.MonthReport) -> dict:
    report = month.report
    return {
        "year": month.period.year,
        "month": month.period.month,
        "title": services.month_title(month.period),
        "published": report is not None,
        "published_at": report.published_at if report else None,
        "published_by": report.published_by if report else None,
        "note": report.note if report else None,
        "tables": [
            {
                "kind": table.kind.value,
                "lines": [
                    _line(
                        line.unit_id,
                        line.unit_name,
                        line.rank,
                        line.figures,
                        line.changes.values(),
                        line.gone,
                    )
                    for line in table.lines
                ],
                "added": [
                    _line(row.unit_id, row.unit_name, row.rank, row.figures) for row in table.added
                ],
            }
            for table in month.tables
        ],
    }


@blp.route("/")
class Reports(MethodView):
    @blp.arguments(ReportListArgs, location="query")
    @blp.response(200, page_schema(PublishedSchema))
    def get(self, args):
        """Published months, oldest first (a month not listed has live figures only)."""
        stmt = select(MonthlyReport)
        if args.get("year"):
            stmt = stmt.where(MonthlyReport.year == args["year"])
        page = keyset_page(
            stmt,
            [MonthlyReport.year, MonthlyReport.month, MonthlyReport.id],
            cursor=args.get("cursor"),
            limit=args["limit"],
            key_of=lambda report: (report.year, report.month, report.id),
        )
        return {"items": page.items, "next_cursor": page.next_cursor}, 200, link_header(page)


@blp.route("/<int:year>/<int:month>")
class MonthItem(MethodView):
    @blp.response(200, MonthReportSchema)
    def get(self, year, month):
        """One month's ranking: frozen rows and corrections if published, else live figures."""
        period = services.open_period(year, month)
        if period is None:
            abort(404)
        return _month_json(services.month_report(period))
