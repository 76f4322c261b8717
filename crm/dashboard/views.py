"""The dashboards: the whole city (the reader's scope) and one unit."""

from __future__ import annotations

from datetime import date

from babel.dates import format_skeleton
from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import and_

from crm.access import current_access
from crm.clock import local_today
from crm.dashboard import services
from crm.dashboard.forms import DashboardForm
from crm.extensions import db
from crm.models import OrgUnit, Project
from crm.projects.figures import Period

bp = Blueprint("dashboard", __name__)

# Years offered by the period selector: this one and the nine before it.
YEARS_BACK = 9


def _selector(today: date, unit: OrgUnit | None) -> DashboardForm:
    """The period and unit chosen in the query string; this month and no unit by default.

    The form is sent to ``dashboard.city``, which goes on to the unit's page when
    a unit is chosen: one selector, no script needed.
    """
    units = list(db.session.execute(current_access().units()).scalars())
    if unit is not None and unit not in units:
        units.append(unit)  # an inactive unit's page still shows itself as chosen
    defaults = {"year": today.year, "month": today.month, "unit": unit.id if unit else None}

    def make(formdata) -> DashboardForm:
        form = DashboardForm(formdata=formdata, data=defaults)
        form.year.choices = [
            (y, str(y)) for y in range(today.year, today.year - YEARS_BACK - 1, -1)
        ]
        form.month.choices = [(m, format_date(date(2000, m, 1), "MMMM")) for m in range(1, 13)]
        form.unit.choices = [("", _("Whole scope"))] + [(u.id, u.name) for u in units]
        return form

    form = make(request.args or None)
    if request.args and not form.validate():
        form = make(None)
    if unit is not None:
        form.unit.data = unit.id
    return form


def _project_url(project: Project) -> str | None:
    """The project's page, once the projects blueprint provides it."""
    if "projects.detail" not in current_app.view_functions:
        return None
    return url_for("projects.detail", project_id=project.id)


def _render(board: services.Dashboard, form: DashboardForm, title: str):
    period_text = format_skeleton("yMMM", board.period.end, locale=get_locale())
    return render_template(
        "dashboard/index.html",
        board=board,
        form=form,
        title=title,
        period_text=period_text,
        chart_data=board.chart_data(),
        project_url=_project_url,
    )


@bp.route("/dashboard", methods=["GET"])
@login_required
def city():
    access = current_access()
    today = local_today()
    form = _selector(today, None)
    if form.unit.data is not None:
        return redirect(
            url_for(".unit", unit_id=form.unit.data, year=form.year.data, month=form.month.data)
        )
    board = services.build(
        access.project_scope(),
        Period(form.year.data, form.month.data),
        today,
        city_targets=access.sees_everything,
    )
    title = _("City dashboard") if access.sees_everything else _("Dashboard of my units")
    return _render(board, form, title)


@bp.route("/dashboard/units/<int:unit_id>", methods=["GET"])
@login_required
def unit(unit_id):
    access = current_access()
    chosen = access.unit_or_abort(unit_id)
    today = local_today()
    form = _selector(today, chosen)
    scope = and_(
        access.project_scope(),
        Project.unit_paths.contains("|" + chosen.path, autoescape=True),
    )
    board = services.build(scope, Period(form.year.data, form.month.data), today, unit=chosen)
    return _render(board, form, _("Dashboard: %(unit)s", unit=chosen.name))
