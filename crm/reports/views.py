"""The monthly ranking (月通报): live figures, publishing, .xlsx and print."""

from __future__ import annotations

from time import perf_counter

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.access import Action, current_access
from crm.clock import local_today
from crm.models.base import utcnow
from crm.projects.figures import Period
from crm.reports import services, xlsx
from crm.reports.forms import PublishForm, YearForm
from crm.web import save

bp = Blueprint("reports", __name__)


def _period_or_404(year: int, month: int) -> Period:
    """The month asked for; 404 for a month that does not exist or has not begun."""
    period = services.open_period(year, month)
    if period is None:
        abort(404)
    return period


def _neighbours(period: Period) -> tuple[Period | None, Period | None]:
    previous = (period.year, period.month - 1) if period.month > 1 else (period.year - 1, 12)
    following = (period.year, period.month + 1) if period.month < 12 else (period.year + 1, 1)
    out = []
    for year, month in (previous, following):
        try:
            candidate = Period(year, month)
        except ValueError:
            out.append(None)
            continue
        out.append(candidate if services.is_open(candidate) else None)
    return out[0], out[1]


def _month_context(period: Period) -> dict:
    month = services.month_report(period)
    return {
        "period": period,
        "month": month,
        "title": services.month_title(period),
        "metrics": services.METRICS,
        "cell_text": services.cell_text,
        "note_line": services.note_line(month),
    }


@bp.route("/reports", methods=["GET"])
@login_required
def index():
    today = local_today()
    form = YearForm(formdata=request.args)
    year = form.year.data if form.validate() and form.year.data else today.year
    reports = services.reports_of_year(year)
    years = sorted({*range(today.year - 4, today.year + 1), *services.report_years(), year})
    months = []
    for number in range(1, 13):
        period = Period(year, number)
        months.append(
            {
                "period": period,
                "title": services.month_title(period),
                "open": services.is_open(period, today),
                "report": reports.get(number),
            }
        )
    return render_template("reports/index.html", year=year, years=years, months=months, form=form)


@bp.route("/reports/<int:year>/<int:month>", methods=["GET"])
@login_required
def month(year, month):
    period = _period_or_404(year, month)
    previous, following = _neighbours(period)
    return render_template(
        "reports/month.html",
        **_month_context(period),
        previous=previous,
        following=following,
        can_publish=current_access().role_allows(Action.MANAGE),
        publish_form=PublishForm(),
    )


@bp.route("/reports/<int:year>/<int:month>/publish", methods=["POST"])
@login_required
def publish(year, month):
    current_access().require(Action.MANAGE)  # admins and managers; leaders and staff 403
    period = _period_or_404(year, month)
    form = PublishForm()
    if not form.validate_on_submit():
        abort(400)
    outcome = save(lambda: services.publish_report(period, actor=current_user, note=form.note.data))
    if outcome.saved:
        report = outcome.value
        current_app.logger.info(
            "monthly report %s (id %s) published by user %s", period.key, report.id, current_user.id
        )
        flash(
            _(
                "The report for %(month)s was published and is now frozen.",
                month=services.month_title(period),
            ),
            "success",
        )
    return redirect(url_for("reports.month", year=period.year, month=period.month))


@bp.route("/reports/<int:year>/<int:month>.xlsx", methods=["GET"], endpoint="xlsx")
@login_required
def xlsx_file(year, month):
    period = _period_or_404(year, month)
    started = perf_counter()
    context = _month_context(period)
    data = xlsx.build_workbook(
        context["month"], services.note_line(context["month"], for_file=True)
    )
    name, fallback = xlsx.file_name(context["month"])
    current_app.logger.debug("ranking %s as xlsx in %.3f s", period.key, perf_counter() - started)
    response = current_app.response_class(data, mimetype=xlsx.MIMETYPE)
    response.headers["Content-Disposition"] = xlsx.content_disposition(name, fallback)
    return response


@bp.route("/reports/<int:year>/<int:month>/print", methods=["GET"])
@login_required
def printable(year, month):
    period = _period_or_404(year, month)
    return render_template("reports/print.html", **_month_context(period), printed_at=utcnow())
