"""Enterprise issues (诉求): list, log, view, edit, delete."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm import labels
from crm.access import Action, current_access
from crm.clock import local_today, local_zone
from crm.exports import lists as export_lists
from crm.extensions import db
from crm.issues import figures as issue_figures
from crm.issues import services, workflow
from crm.issues.forms import (
    CallbackForm,
    EditIssueForm,
    FiguresPeriodForm,
    IssueFilterForm,
    IssueForm,
    ReassignForm,
    TransitionForm,
)
from crm.models import EnterpriseIssue, IssueStatus, OrgUnit, User, Visit
from crm.models.base import utcnow
from crm.visits.forms import ActionForm
from crm.visits.services import active_users
from crm.web import back_to_file, save, submit

bp = Blueprint("issues", __name__)


def _fill_choices(form, issue: EnterpriseIssue | None = None) -> None:
    users = active_users()
    units = list(db.session.execute(current_access().units()).scalars())
    if issue is not None:
        # What is already set stays selectable even if since deactivated or out of reach.
        if issue.assignee is not None and issue.assignee not in users:
            users.append(issue.assignee)
        if issue.unit is not None and issue.unit not in units:
            units.append(issue.unit)
    none = ("", "—")
    form.assignee.choices = [none] + [(u.id, u.name) for u in users]
    form.unit.choices = [none] + [(u.id, u.name) for u in units]


def _issue_fields(form) -> dict:
    return {
        "category": form.category.data,
        "title": form.title.data,
        "description": form.description.data,
        "due_date": form.due_date.data,
        "assignee": db.session.get(User, form.assignee.data) if form.assignee.data else None,
        "unit": db.session.get(OrgUnit, form.unit.data) if form.unit.data else None,
    }


def _listed():
    """The list's filter form and statement (the page and its export)."""
    form = IssueFilterForm(formdata=request.args)
    if not form.validate():
        form = IssueFilterForm(formdata=None)
    stmt = services.issues_query(
        current_access().enterprise_scope(),
        status=form.status.data or None,
        category=form.category.data or None,
        overdue_only=bool(form.overdue.data),
        step_due=form.step_due.data or None,
    )
    return form, stmt


@bp.route("/issues", methods=["GET"])
@login_required
def index():
    form, stmt = _listed()
    page = db.paginate(
        stmt,
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    return render_template(
        "issues/index.html",
        form=form,
        page=page,
        today=local_today(),
        now=utcnow(),
        open_statuses=services.OPEN_STATUSES,
        escalated=services.escalated_ids(issue.id for issue in page.items),
    )


@bp.route("/issues/export.xlsx", methods=["GET"])
@login_required
def export():
    _form, stmt = _listed()
    return export_lists.issues(stmt)


@bp.route("/enterprises/<int:enterprise_id>/issues/new", methods=["GET", "POST"])
@login_required
def new(enterprise_id):
    access = current_access()
    enterprise = access.enterprise_or_abort(enterprise_id, Action.EDIT)
    visit = access.related_or_abort(Visit, request.args.get("visit_id"), enterprise, Action.READ)
    form = IssueForm()
    _fill_choices(form)
    if form.validate_on_submit():
        outcome = save(
            lambda: services.create_issue(
                enterprise, actor=current_user, visit=visit, **_issue_fields(form)
            ),
            form,
        )
        if outcome.saved:
            flash(_("The issue was logged."), "success")
            return back_to_file(enterprise.id)
    status = 400 if request.method == "POST" else 200
    return render_template(
        "issues/form.html", form=form, enterprise=enterprise, visit=visit
    ), status


def _render_detail(issue: EnterpriseIssue, failed: TransitionForm | None = None, status=200):
    access = current_access()
    forms = {}
    for action in workflow.allowed_actions(issue):
        form = TransitionForm(formdata=None, action=action, version=issue.version)
        if failed is not None and failed.action.data == action:
            form = failed
        forms[action] = form
    return render_template(
        "issues/detail.html",
        issue=issue,
        enterprise=issue.enterprise,
        can_edit=access.can(Action.EDIT, issue.enterprise),
        can_manage=access.can(Action.MANAGE, issue.enterprise),
        overdue=services.is_overdue(issue),
        step_overdue=services.step_overdue(issue),
        steps=workflow.steps(issue),
        escalations=services.escalations(issue),
        transition_forms=forms,
        action_labels=workflow.ACTION_LABELS,
        can_call_back=workflow.can_call_back(issue),
        failed=failed,
        delete_form=ActionForm(),
    ), status


@bp.route("/issues/<int:issue_id>", methods=["GET"])
@login_required
def detail(issue_id):
    issue = current_access().record_or_abort(EnterpriseIssue, issue_id, Action.READ)
    return _render_detail(issue)


@bp.route("/issues/<int:issue_id>/transition", methods=["POST"])
@login_required
def transition(issue_id):
    """One step of the workflow: accept, start (with the proposed solution), resolve, close."""
    issue = current_access().record_or_abort(EnterpriseIssue, issue_id, Action.EDIT)
    form = TransitionForm()
    if form.validate_on_submit():
        outcome = save(
            lambda: workflow.transition(
                issue,
                form.action.data,
                actor=current_user,
                expected_version=form.version.data,
                note=form.note.data,
            ),
            form,
        )
        if outcome.saved:
            flash(_("The issue moved on: %(status)s.", status=_status_label(issue)), "success")
            return redirect(url_for("issues.detail", issue_id=issue.id))
        status = outcome.status
    else:
        status = 400
    # The action is a hidden field: what is wrong with it is said above the page.
    for error in form.action.errors:
        flash(str(error), "danger")
    form.action.errors = []
    return _render_detail(issue, failed=form, status=status)


def _status_label(issue: EnterpriseIssue) -> str:
    return labels.enum_label(IssueStatus, issue.status.value)


@bp.route("/issues/<int:issue_id>/callback", methods=["GET", "POST"])
@login_required
def callback(issue_id):
    """The enterprise's satisfaction with the resolution (回访); 1–2 reopens the issue."""
    issue = current_access().record_or_abort(EnterpriseIssue, issue_id, Action.EDIT)
    form = CallbackForm()
    if request.method == "GET":
        form.version.data = issue.version
    outcome = submit(
        form,
        lambda: workflow.callback(
            issue,
            actor=current_user,
            expected_version=form.version.data,
            satisfaction=form.satisfaction.data,
            comment=form.comment.data,
        ),
    )
    if outcome.saved:
        if issue.status == IssueStatus.IN_PROGRESS:
            flash(_("The enterprise is not satisfied: the issue was reopened."), "warning")
        else:
            flash(_("The callback was recorded."), "success")
        return redirect(url_for("issues.detail", issue_id=issue.id))
    status = outcome.status
    return render_template(
        "issues/callback.html",
        form=form,
        issue=issue,
        enterprise=issue.enterprise,
        allowed=workflow.can_call_back(issue),
    ), status


@bp.route("/issues/<int:issue_id>/reassign", methods=["GET", "POST"])
@login_required
def reassign(issue_id):
    """Hand the issue to another person or unit (转办): managers and admins."""
    issue = current_access().record_or_abort(EnterpriseIssue, issue_id, Action.MANAGE)
    form = ReassignForm()
    if request.method == "GET":
        form.assignee.data = issue.assignee_id
        form.unit.data = issue.unit_id
        form.version.data = issue.version
    _fill_choices(form, issue)
    outcome = submit(
        form,
        lambda: workflow.reassign(
            issue,
            actor=current_user,
            expected_version=form.version.data,
            assignee=db.session.get(User, form.assignee.data) if form.assignee.data else None,
            unit=db.session.get(OrgUnit, form.unit.data) if form.unit.data else None,
            reason=form.reason.data,
        ),
    )
    if outcome.saved:
        flash(_("The issue was reassigned."), "success")
        return redirect(url_for("issues.detail", issue_id=issue.id))
    status = outcome.status
    return render_template(
        "issues/reassign.html", form=form, issue=issue, enterprise=issue.enterprise
    ), status


def _local_start(day) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=local_zone())


@bp.route("/issues/figures", methods=["GET"])
@login_required
def figures():
    """Accepted, closed, closed on time, median time to close and satisfaction per unit."""
    access = current_access()
    form = FiguresPeriodForm(formdata=request.args)
    today = local_today()
    status = 200
    if not form.validate() or (
        form.start.data and form.end.data and form.start.data > form.end.data
    ):
        if form.start.data and form.end.data and form.start.data > form.end.data:
            form.end.errors = [*form.end.errors, _("The end is before the start.")]
        status = 400
        form.start.data = form.end.data = None
    start = form.start.data or today.replace(day=1)
    end = form.end.data or today
    form.start.data, form.end.data = start, end
    rows_by_unit = issue_figures.issue_figures(
        access.enterprise_scope(), _local_start(start), _local_start(end + timedelta(days=1))
    )
    units = list(db.session.execute(access.units()).scalars())
    known = {unit.id for unit in units}
    extra_ids = [uid for uid in rows_by_unit if uid is not None and uid not in known]
    if extra_ids:
        units += [db.session.get(OrgUnit, uid) for uid in sorted(extra_ids)]
    rows = [
        (unit.name, rows_by_unit.get(unit.id, issue_figures.IssueFigures(unit.id)))
        for unit in units
    ]
    if None in rows_by_unit:
        rows.append((_("No responsible unit"), rows_by_unit[None]))
    return render_template(
        "issues/figures.html",
        form=form,
        rows=rows,
        total=issue_figures.total(rows_by_unit),
        start=start,
        end=end,
    ), status


@bp.route("/issues/<int:issue_id>/edit", methods=["GET", "POST"])
@login_required
def edit(issue_id):
    issue = current_access().record_or_abort(EnterpriseIssue, issue_id, Action.EDIT)
    form = EditIssueForm(obj=issue)
    if request.method == "GET":
        form.category.data = issue.category.value
        form.assignee.data = issue.assignee_id
        form.unit.data = issue.unit_id
    _fill_choices(form, issue)
    outcome = submit(
        form,
        lambda: services.update_issue(
            issue, actor=current_user, expected_version=form.version.data, **_issue_fields(form)
        ),
    )
    if outcome.saved:
        flash(_("The issue was saved."), "success")
        return back_to_file(issue.enterprise_id)
    status = outcome.status
    return render_template(
        "issues/form.html", form=form, enterprise=issue.enterprise, issue=issue, visit=issue.visit
    ), status


@bp.route("/issues/<int:issue_id>/delete", methods=["POST"])
@login_required
def delete(issue_id):
    issue = current_access().record_or_abort(EnterpriseIssue, issue_id, Action.EDIT)
    if not ActionForm().validate_on_submit():
        abort(400)
    enterprise_id = issue.enterprise_id
    services.delete_issue(issue, actor=current_user)
    db.session.commit()
    flash(_("The issue was deleted."), "success")
    return back_to_file(enterprise_id)
