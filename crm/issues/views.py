"""Enterprise issues (诉求): list, log, view, edit, delete."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.access import Action, current_access
from crm.clock import local_today
from crm.extensions import db
from crm.issues import services
from crm.issues.forms import EditIssueForm, IssueFilterForm, IssueForm
from crm.models import EnterpriseIssue, OrgUnit, User, Visit
from crm.visits.forms import ActionForm
from crm.visits.services import active_users
from crm.web import back_to_file, save

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


@bp.route("/issues", methods=["GET"])
@login_required
def index():
    access = current_access()
    form = IssueFilterForm(formdata=request.args)
    if not form.validate():
        form = IssueFilterForm(formdata=None)
    stmt = services.issues_query(
        access.enterprise_scope(),
        status=form.status.data or None,
        category=form.category.data or None,
        overdue_only=bool(form.overdue.data),
    )
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
        open_statuses=services.OPEN_STATUSES,
    )


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


@bp.route("/issues/<int:issue_id>", methods=["GET"])
@login_required
def detail(issue_id):
    access = current_access()
    issue = access.record_or_abort(EnterpriseIssue, issue_id, Action.READ)
    return render_template(
        "issues/detail.html",
        issue=issue,
        enterprise=issue.enterprise,
        can_edit=access.can(Action.EDIT, issue.enterprise),
        overdue=services.is_overdue(issue),
        delete_form=ActionForm(),
    )


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
    status = 200
    if form.validate_on_submit():
        outcome = save(
            lambda: services.update_issue(
                issue, actor=current_user, expected_version=form.version.data, **_issue_fields(form)
            ),
            form,
        )
        if outcome.saved:
            flash(_("The issue was saved."), "success")
            return back_to_file(issue.enterprise_id)
        status = outcome.status
    elif request.method == "POST":
        status = 400
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
