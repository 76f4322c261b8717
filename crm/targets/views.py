"""Admin pages: yearly targets, counting rules and stall thresholds."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from crm.access import current_access
from crm.clock import local_today
from crm.projects.figures import counting_rule
from crm.targets import services
from crm.targets.forms import CountingRuleForm, TargetsForm, ThresholdsForm
from crm.web import save

bp = Blueprint("targets", __name__, url_prefix="/admin/targets")

INVALID = 400


def _year() -> int:
    """The year of the page (?year=), this year by default; 404 outside 2000–2100."""
    raw = request.args.get("year", "")
    if not raw:
        return local_today().year
    if not raw.isdigit() or not services.MIN_YEAR <= int(raw) <= services.MAX_YEAR:
        abort(404)
    return int(raw)


def _years(year: int) -> list[int]:
    this_year = local_today().year
    return sorted({*range(this_year - 3, this_year + 3), year})


def _as_id(raw) -> int | None:
    text = str(raw) if raw is not None else ""
    return int(text) if text.isdigit() else None


def _row_errors(form, units_by_id, name_of_blank: str | None = None) -> list[str]:
    """Every refused cell of a grid as "unit — field: error", in the grid's order."""
    messages = []
    for row in form.rows:
        unit = units_by_id.get(_as_id(row.form.unit_id.data))
        name = unit.name if unit else (name_of_blank or "?")
        for field in row.form:
            for error in field.errors:
                messages.append(
                    _(
                        "%(unit)s — %(field)s: %(error)s",
                        unit=name,
                        field=field.label.text,
                        error=error,
                    )
                )
    return messages


def _flash_saved(changes) -> None:
    if changes:
        flash(
            ngettext("Saved: %(num)s change.", "Saved: %(num)s changes.", len(changes)),
            "success",
        )
    else:
        flash(_("Nothing changed."), "info")


def _unit_id(raw, units_by_id, *, allow_blank: bool = False):
    """The unit a grid row names: one of the page's units, or 400."""
    if allow_blank and raw in (None, ""):
        return None
    unit_id = _as_id(raw)
    if unit_id not in units_by_id:
        abort(400)
    return unit_id


# -- yearly targets ------------------------------------------------------------------
@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    current_access().require_admin()
    year = _year()
    units = services.target_units()
    units_by_id = {unit.id: unit for unit in units}
    targets = services.targets_of_year(year)
    form = TargetsForm()
    if request.method == "GET":
        for unit in units:
            target = targets.get(unit.id)
            form.rows.append_entry(
                {
                    "unit_id": unit.id,
                    "version": target.version if target else "",
                    "new_projects": target.new_projects if target else None,
                    "contract_amount_wan": target.contract_amount_wan if target else None,
                    "out_of_province_funds_wan": target.out_of_province_funds_wan
                    if target
                    else None,
                }
            )
    status = 200
    if form.validate_on_submit():
        entries = []
        for row in form.rows:
            unit_id = _unit_id(row.form.unit_id.data, units_by_id)
            entries.append(
                services.TargetEntry(
                    unit=units_by_id[unit_id],
                    version=row.form.version.data or None,
                    new_projects=row.form.new_projects.data,
                    contract_amount_wan=row.form.contract_amount_wan.data,
                    out_of_province_funds_wan=row.form.out_of_province_funds_wan.data,
                )
            )
        outcome = save(
            lambda: services.save_targets(year, entries, actor=current_user),
            form,
            invalid_status=INVALID,
        )
        if outcome.saved:
            _flash_saved(outcome.value)
            return redirect(url_for("targets.index", year=year))
        status = outcome.status
    elif request.method == "POST":
        status = INVALID
    rows = []
    for row in form.rows:
        unit = units_by_id[_unit_id(row.form.unit_id.data, units_by_id)]
        rows.append((unit, row.form, targets.get(unit.id)))
    rule = counting_rule(year)
    return render_template(
        "targets/index.html",
        year=year,
        years=_years(year),
        form=form,
        rows=rows,
        errors=_row_errors(form, units_by_id),
        rule=rule,
    ), status


# -- counting rules ------------------------------------------------------------------
@bp.route("/rules", methods=["GET", "POST"])
@login_required
def rules():
    current_access().require_admin()
    year = _year()
    rule = counting_rule(year)
    form = CountingRuleForm(obj=rule if request.method == "GET" else None)
    industries = services.industries_for_rules(rule)
    form.excluded_industries.choices = [(industry.id, industry.name) for industry in industries]
    if request.method == "GET":
        if rule is not None:
            form.excluded_industries.data = [industry.id for industry in rule.excluded_industries]
            form.version.data = rule.version
        else:
            form.count_terminated.data = True
    status = 200
    if form.validate_on_submit():
        chosen = set(form.excluded_industries.data or [])
        excluded = [industry for industry in industries if industry.id in chosen]
        outcome = save(
            lambda: services.save_counting_rule(
                year,
                actor=current_user,
                expected_version=form.version.data or None,
                min_contract_amount_wan=form.min_contract_amount_wan.data,
                excluded_industries=excluded,
                count_terminated=form.count_terminated.data,
                landing_rate_goal_pct=form.landing_rate_goal_pct.data,
                start_rate_goal_pct=form.start_rate_goal_pct.data,
            ),
            form,
            invalid_status=INVALID,
        )
        if outcome.saved:
            _flash_saved(outcome.value[1])
            return redirect(url_for("targets.rules", year=year))
        status = outcome.status
    elif request.method == "POST":
        status = INVALID
    return render_template(
        "targets/rules.html", year=year, years=_years(year), form=form, rule=rule
    ), status


# -- stall thresholds ----------------------------------------------------------------
@bp.route("/thresholds", methods=["GET", "POST"])
@login_required
def thresholds():
    current_access().require_admin()
    units = services.threshold_units()
    units_by_id = {unit.id: unit for unit in units}
    stages = [stage.value for stage in services.STALL_STAGES]
    form = ThresholdsForm()
    if request.method == "GET":
        stored = services.stored_thresholds()
        form.rows.append_entry({"unit_id": "", **services.city_days()})
        for unit in units:
            own = stored.get(unit.id, {})
            form.rows.append_entry({"unit_id": unit.id, **{s: own.get(s) for s in stages}})
    status = 200
    if form.validate_on_submit():
        city = None
        counties = {}
        for row in form.rows:
            unit_id = _unit_id(row.form.unit_id.data, units_by_id, allow_blank=True)
            days = {stage: row.form[stage].data for stage in stages}
            if unit_id is None:
                city = days
            else:
                counties[unit_id] = days
        if city is None:
            abort(400)
        outcome = save(
            lambda: services.save_stall_thresholds(city, counties, actor=current_user),
            form,
            invalid_status=INVALID,
        )
        if outcome.saved:
            _flash_saved(outcome.value)
            return redirect(url_for("targets.thresholds"))
        status = outcome.status
    elif request.method == "POST":
        status = INVALID
    rows = []
    for row in form.rows:
        unit_id = _unit_id(row.form.unit_id.data, units_by_id, allow_blank=True)
        rows.append((units_by_id.get(unit_id) if unit_id else None, row.form))
    return render_template(
        "targets/thresholds.html",
        form=form,
        rows=rows,
        stages=stages,
        defaults=services.city_days(),
        errors=_row_errors(form, units_by_id, str(_("City default"))),
    ), status
