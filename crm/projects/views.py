"""Project pages: list, create, edit, stage changes, funds in place."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, joinedload, lazyload

from crm import labels
from crm.access import Action, current_access
from crm.clock import local_today
from crm.exports import lists as export_lists
from crm.extensions import db
from crm.models import (
    STAGE_LADDER,
    Enterprise,
    FundsEntry,
    FundsSource,
    Industry,
    OrgUnit,
    Policy,
    Project,
    ProjectStage,
    ProjectStageChange,
    UnitKind,
    User,
)
from crm.projects import figures, lifecycle, queries, services
from crm.projects.forms import (
    PUBLIC_FIELD_LABELS,
    EditProjectForm,
    FundsForm,
    NewProjectForm,
    ProjectFilterForm,
    StageForm,
    plain_decimal,
)
from crm.visits.forms import ActionForm
from crm.web import back_to_file, submit

bp = Blueprint("projects", __name__)


# -- the list -----------------------------------------------------------------------------


def _filtered(stmt, form: ProjectFilterForm):
    """The list's filters (crm.projects.queries, shared with the API and the export)."""
    return stmt.where(
        *queries.list_conditions(
            today=local_today(),
            stage=form.stage.data or None,
            county_id=form.county.data or None,
            task_force_id=form.task_force.data or None,
            key=bool(form.key.data),
            stalled=bool(form.stalled.data),
            q=form.q.data,
        )
    )


def _filter_form() -> ProjectFilterForm:
    counties = services.units_of_kind(UnitKind.COUNTY)
    task_forces = services.units_of_kind(UnitKind.TASK_FORCE)
    form = ProjectFilterForm(formdata=request.args)
    form.set_choices(counties=counties, task_forces=task_forces)
    if not form.validate():
        form = ProjectFilterForm(formdata=None)
        form.set_choices(counties=counties, task_forces=task_forces)
    return form


@bp.route("/projects", methods=["GET"])
@login_required
def index():
    access = current_access()
    form = _filter_form()
    stmt = (
        _filtered(access.projects(), form)
        .options(
            # The enterprise's name comes from the scope's own join; nothing else of it is shown.
            contains_eager(Project.enterprise).lazyload("*"),
            joinedload(Project.county),
            lazyload(Project.industry),
        )
        .order_by(Project.id.desc())
    )
    page = db.paginate(
        stmt,
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    return render_template("projects/index.html", form=form, page=page)


@bp.route("/projects/export.xlsx", methods=["GET"])
@login_required
def export():
    """The list as .xlsx: the viewer's scope, the page's filters and order."""
    stmt = _filtered(current_access().projects(), _filter_form()).order_by(Project.id.desc())
    return export_lists.projects(stmt)


# -- create and edit -------------------------------------------------------------------------


def _fill_choices(form, project: Project | None = None) -> None:
    """Active units of each kind and active industries; what the project already has stays."""
    units_by_field = {}
    for name, kind in services.UNIT_KINDS.items():
        units = services.units_of_kind(kind)
        current = getattr(project, name) if project is not None else None
        if current is not None and current not in units:
            units.append(current)
        units_by_field[name] = units
    industries = services.active_industries()
    if project is not None and project.industry is not None and project.industry not in industries:
        industries.append(project.industry)
    form.set_choices(industries=industries, units_by_field=units_by_field)


def _project_fields(form) -> dict:
    def unit(field):
        return db.session.get(OrgUnit, field.data) if field.data else None

    return {
        "name": form.name.data,
        "name_en": form.name_en.data,
        "description": form.description.data,
        "description_en": form.description_en.data,
        "industry": db.session.get(Industry, form.industry.data) if form.industry.data else None,
        "county": unit(form.county),
        "park": unit(form.park),
        "task_force": unit(form.task_force),
        "channel": form.channel.data or None,
        "outbound_office": unit(form.outbound_office),
        "outbound_role": form.outbound_role.data or None,
        "contract_amount_wan": form.contract_amount_wan.data,
        "is_out_of_province": bool(form.is_out_of_province.data),
        "is_reinvestment": bool(form.is_reinvestment.data),
        "fdi_usd_wan": form.fdi_usd_wan.data,
        "platform_number": form.platform_number.data,
        "committed_investment_wan": form.committed_investment_wan.data,
        "committed_output_wan": form.committed_output_wan.data,
        "committed_tax_wan": form.committed_tax_wan.data,
        "committed_jobs": form.committed_jobs.data,
        "planned_start_on": form.planned_start_on.data,
        "is_promoted": bool(form.is_promoted.data),
        "public_fields": list(form.public_fields.data or []),
    }


def _initial(project: Project) -> dict:
    data = {name: getattr(project, name) for name in services.PROJECT_FIELDS}
    for name in services.UNIT_KINDS:
        data[name] = getattr(project, f"{name}_id")
    data.update(
        industry=project.industry_id,
        channel=project.channel.value if project.channel else "",
        outbound_role=project.outbound_role.value if project.outbound_role else "",
        public_fields=list(project.public_fields or []),
        version=project.version,
    )
    return data


def _new_project_defaults(enterprise: Enterprise) -> dict:
    """The enterprise's industry and, when it has exactly one, its county."""
    counties = [u for u in enterprise.units if u.kind == UnitKind.COUNTY and u.is_active]
    return {
        "stage_on": local_today(),
        "industry": enterprise.industry_id,
        "county": counties[0].id if len(counties) == 1 else None,
    }


def _create(enterprise: Enterprise, form: NewProjectForm) -> Project:
    return services.create_project(
        enterprise,
        actor=current_user,
        stage=form.stage.data,
        stage_on=form.stage_on.data,
        **_project_fields(form),
    )


@bp.route("/enterprises/<int:enterprise_id>/projects/new", methods=["GET", "POST"])
@login_required
def new(enterprise_id):
    access = current_access()
    enterprise = access.enterprise_or_abort(enterprise_id, Action.EDIT)
    form = NewProjectForm(
        data=_new_project_defaults(enterprise) if request.method == "GET" else None
    )
    _fill_choices(form)
    outcome = submit(form, lambda: _create(enterprise, form))
    if outcome.saved:
        flash(_("The project was created."), "success")
        return redirect(url_for(".detail", project_id=outcome.value.id))
    status = outcome.status
    return render_template(
        "projects/form.html", form=form, enterprise=enterprise, project=None
    ), status


@bp.route("/projects/<int:project_id>/edit", methods=["GET", "POST"])
@login_required
def edit(project_id):
    project = current_access().project_or_abort(project_id, Action.EDIT)
    form = EditProjectForm(data=_initial(project) if request.method == "GET" else None)
    _fill_choices(form, project)
    outcome = submit(
        form,
        lambda: services.update_project(
            project,
            actor=current_user,
            expected_version=form.version.data,
            **_project_fields(form),
        ),
    )
    if outcome.saved:
        flash(_("The project was saved."), "success")
        return redirect(url_for(".detail", project_id=project.id))
    status = outcome.status
    return render_template(
        "projects/form.html", form=form, enterprise=project.enterprise, project=project
    ), status


@bp.route("/projects/<int:project_id>/delete", methods=["POST"])
@login_required
def delete(project_id):
    project = current_access().project_or_abort(project_id, Action.MANAGE)
    if not ActionForm().validate_on_submit():
        abort(400)
    enterprise_id = project.enterprise_id
    services.delete_project(project, actor=current_user)
    db.session.commit()
    flash(_("The project was deleted."), "success")
    return back_to_file(enterprise_id)


# -- the project page ------------------------------------------------------------------------


@dataclass(frozen=True)
class Rung:
    stage: ProjectStage
    reached: bool
    current: bool
    on: date | None


def _ladder(project: Project, history: list[ProjectStageChange]) -> list[Rung]:
    """Each rung of the ladder: reached or not, and since when (newest history first)."""
    top = project.stage
    if top == ProjectStage.TERMINATED:
        # Where it stood when it was terminated.
        ended = next((c for c in history if c.to_stage == ProjectStage.TERMINATED), None)
        top = ended.from_stage if ended is not None and ended.from_stage else None
    highest = lifecycle.rung(top) if top is not None else -1
    entered: dict[ProjectStage, date] = {}
    for change in history:  # newest first: the latest entry into each stage wins
        entered.setdefault(change.to_stage, change.effective_on)
    rungs = []
    for stage in STAGE_LADDER:
        reached = lifecycle.rung(stage) <= highest
        column = lifecycle.MILESTONES.get(stage)
        on = getattr(project, column) if column else entered.get(stage)
        rungs.append(
            Rung(
                stage=stage,
                reached=reached,
                current=stage == project.stage,
                on=on if reached else None,
            )
        )
    return rungs


def _load_people(*groups) -> None:
    """The people who recorded stage changes and funds, in one query (no query per row)."""
    ids = {row.recorded_by_id for rows in groups for row in rows if row.recorded_by_id}
    if ids:
        db.session.execute(
            select(User).options(lazyload(User.units)).where(User.id.in_(ids))
        ).scalars().all()


@dataclass
class FundsSummary:
    total: Decimal
    by_source: list[tuple[FundsSource, Decimal]]
    rate: Decimal | None
    corrected_by: dict


def _funds_summary(project: Project, entries: list[FundsEntry]) -> FundsSummary:
    sums: dict = defaultdict(Decimal)
    corrected_by: dict[int, list[FundsEntry]] = defaultdict(list)
    for entry in entries:
        sums[entry.source] += entry.amount_wan
        if entry.corrects_id:
            corrected_by[entry.corrects_id].append(entry)
    total = services.funds_total(project)
    return FundsSummary(
        total=total,
        by_source=[(source, sums[source]) for source in FundsSource if source in sums],
        rate=figures.ratio(total, project.contract_amount_wan),
        corrected_by=dict(corrected_by),
    )


@bp.route("/projects/<int:project_id>", methods=["GET"])
@login_required
def detail(project_id):
    access = current_access()
    project = access.project_or_abort(project_id, Action.READ)
    history = services.stage_history(project)
    entries = services.funds_entries(project)
    _load_people(history, entries)
    policies = list(
        db.session.execute(
            select(Policy)
            .where(Policy.project_id == project.id, Policy.deleted_at.is_(None))
            .order_by(Policy.created_at.desc(), Policy.id.desc())
        ).scalars()
    )
    return render_template(
        "projects/detail.html",
        project=project,
        enterprise=project.enterprise,
        ladder=_ladder(project, history),
        history=history,
        entries=entries,
        funds=_funds_summary(project, entries),
        policies=policies,
        can_edit=access.can_project(Action.EDIT, project),
        # A task force may see a project of an enterprise outside its scope: no link there.
        can_read_enterprise=access.in_scope(project.enterprise),
        can_edit_enterprise=access.can(Action.EDIT, project.enterprise),
        can_delete=access.can_project(Action.MANAGE, project),
        delete_form=ActionForm(),
        plain=plain_decimal,
        public_field_labels=PUBLIC_FIELD_LABELS,
    )


# -- stage changes and funds -----------------------------------------------------------------


def _stage_choices(project: Project) -> list[tuple[str, str]]:
    """Every stage but the current one; moves that need a reason say so."""
    found = []
    for stage in ProjectStage:
        if stage == project.stage:
            continue
        text = str(labels.PROJECT_STAGE[stage])
        if not lifecycle.is_regular(project.stage, stage):
            text = _("%(stage)s (skips or reverses stages: give the reason)", stage=text)
        elif stage == ProjectStage.TERMINATED:
            text = _("%(stage)s (give the reason)", stage=text)
        found.append((stage.value, text))
    return found


@bp.route("/projects/<int:project_id>/stage", methods=["GET", "POST"])
@login_required
def stage(project_id):
    project = current_access().project_or_abort(project_id, Action.EDIT)
    initial = None
    if request.method == "GET":
        following = lifecycle.next_stage(project.stage)
        initial = {
            "to_stage": following.value if following else None,
            "effective_on": local_today(),
            "version": project.version,
        }
    form = StageForm(data=initial)
    form.to_stage.choices = _stage_choices(project)
    outcome = submit(
        form,
        lambda: services.change_stage(
            project,
            actor=current_user,
            expected_version=form.version.data,
            to_stage=form.to_stage.data,
            effective_on=form.effective_on.data,
            reason=form.reason.data,
        ),
    )
    if outcome.saved:
        flash(_("The stage change was recorded."), "success")
        return redirect(url_for(".detail", project_id=project.id))
    status = outcome.status
    return render_template("projects/stage.html", form=form, project=project), status


def _corrected_entry(project: Project, raw: str | None) -> FundsEntry | None:
    """The entry named by ``?corrects=``; one of another project (or none at all) is a 404."""
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        abort(404)
    entry = db.session.get(FundsEntry, int(raw))
    if entry is None or entry.project_id != project.id:
        abort(404)
    return entry


@bp.route("/projects/<int:project_id>/funds", methods=["GET", "POST"])
@login_required
def funds(project_id):
    project = current_access().project_or_abort(project_id, Action.EDIT)
    corrects = _corrected_entry(project, request.args.get("corrects"))
    initial = {"month": local_today().replace(day=1)} if request.method == "GET" else None
    form = FundsForm(data=initial)
    if corrects is not None:
        # A correction adjusts the month and source of the entry it corrects.
        del form.month
        del form.source
    outcome = submit(
        form,
        lambda: services.record_funds(
            project,
            actor=current_user,
            month=corrects.month if corrects else form.month.data,
            source=corrects.source if corrects else form.source.data,
            amount_wan=form.amount_wan.data,
            note=form.note.data,
            corrects=corrects,
        ),
    )
    if outcome.saved:
        flash(_("The funds in place were recorded."), "success")
        return redirect(url_for(".detail", project_id=project.id, _anchor="funds"))
    status = outcome.status
    return render_template(
        "projects/funds.html", form=form, project=project, corrects=corrects
    ), status
