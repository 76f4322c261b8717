"""Policy pages (一企一策) of an enterprise."""

from __future__ import annotations

from flask import Blueprint, abort, flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.access import Action, current_access
from crm.extensions import db
from crm.models import Enterprise, Policy, Project
from crm.policies import services
from crm.policies.forms import EditPolicyForm, PolicyForm
from crm.projects.services import enterprise_projects
from crm.visits.forms import ActionForm
from crm.web import back_to_file, submit

bp = Blueprint("policies", __name__)


def _fill_choices(form: PolicyForm, enterprise: Enterprise, policy: Policy | None = None) -> None:
    projects = enterprise_projects(enterprise)
    # A project deleted since stays selectable for the policy already tied to it.
    if policy is not None and policy.project is not None and policy.project not in projects:
        projects.append(policy.project)
    form.set_projects(projects)


def _policy_fields(form: PolicyForm) -> dict:
    return {
        "name": form.name.data,
        "basis": form.basis.data,
        "value_wan": form.value_wan.data,
        "conditions": form.conditions.data,
        "status": form.status.data,
        "project": db.session.get(Project, form.project.data) if form.project.data else None,
    }


@bp.route("/enterprises/<int:enterprise_id>/policies/new", methods=["GET", "POST"])
@login_required
def new(enterprise_id):
    access = current_access()
    enterprise = access.enterprise_or_abort(enterprise_id, Action.EDIT)
    project = access.related_or_abort(
        Project, request.args.get("project_id"), enterprise, Action.READ
    )
    form = PolicyForm(
        data={"project": project.id if project else None} if request.method == "GET" else None
    )
    _fill_choices(form, enterprise)
    outcome = submit(
        form, lambda: services.create_policy(enterprise, actor=current_user, **_policy_fields(form))
    )
    if outcome.saved:
        flash(_("The policy was added."), "success")
        return back_to_file(enterprise.id)
    status = outcome.status
    return render_template(
        "policies/form.html", form=form, enterprise=enterprise, policy=None
    ), status


@bp.route("/policies/<int:policy_id>/edit", methods=["GET", "POST"])
@login_required
def edit(policy_id):
    policy = current_access().record_or_abort(Policy, policy_id, Action.EDIT)
    initial = None
    if request.method == "GET":
        initial = {
            "name": policy.name,
            "basis": policy.basis,
            "value_wan": policy.value_wan,
            "conditions": policy.conditions,
            "status": policy.status.value,
            "project": policy.project_id,
            "version": policy.version,
        }
    form = EditPolicyForm(data=initial)
    _fill_choices(form, policy.enterprise, policy)
    outcome = submit(
        form,
        lambda: services.update_policy(
            policy,
            actor=current_user,
            expected_version=form.version.data,
            **_policy_fields(form),
        ),
    )
    if outcome.saved:
        flash(_("The policy was saved."), "success")
        return back_to_file(policy.enterprise_id)
    status = outcome.status
    return render_template(
        "policies/form.html",
        form=form,
        enterprise=policy.enterprise,
        policy=policy,
        delete_form=ActionForm(),
    ), status


@bp.route("/policies/<int:policy_id>/delete", methods=["POST"])
@login_required
def delete(policy_id):
    policy = current_access().record_or_abort(Policy, policy_id, Action.EDIT)
    if not ActionForm().validate_on_submit():
        abort(400)
    enterprise_id = policy.enterprise_id
    services.delete_policy(policy, actor=current_user)
    db.session.commit()
    flash(_("The policy was deleted."), "success")
    return back_to_file(enterprise_id)
