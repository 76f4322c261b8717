"""Visits and events, and the follow-ups page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from crm.access import Action, current_access
from crm.auth.views import safe_next
from crm.clock import local_today
from crm.errors import ServiceError
from crm.exports import lists as export_lists
from crm.extensions import db
from crm.models import Contact, FollowUp, FollowUpStatus, User, Visit
from crm.visits import services
from crm.visits.forms import ActionForm, EditVisitForm, FollowUpFilterForm, NewVisitForm
from crm.web import back_to_file, save

bp = Blueprint("visits", __name__)


# -- helpers -----------------------------------------------------------------------
def _fill_choices(form, enterprise, visit: Visit | None = None) -> None:
    users = services.active_users()
    contacts = services.live_contacts(enterprise)
    if visit is not None:
        # Keep what is already linked selectable even if since deactivated/deleted.
        users += [u for u in visit.participants if u not in users]
        contacts += [c for c in visit.contacts_met if c not in contacts]
    form.participants.choices = [(u.id, u.name) for u in users]
    form.contacts_met.choices = [
        (c.id, f"{c.name} · {c.title}" if c.title else c.name) for c in contacts
    ]
    if hasattr(form, "next_step_owner"):
        form.next_step_owner.choices = [(u.id, u.name) for u in users]


def _users(ids) -> list[User]:
    if not ids:
        return []
    return list(db.session.execute(select(User).where(User.id.in_(ids))).scalars())


def _contacts(ids) -> list[Contact]:
    if not ids:
        return []
    return list(db.session.execute(select(Contact).where(Contact.id.in_(ids))).scalars())


def _next_step_owner(user_id) -> User | None:
    if not user_id:
        return None
    owner = db.session.get(User, user_id)
    if owner is None:
        # A forged id: refuse rather than silently fall back to the actor.
        raise ServiceError(_("Choose an active user."), "next_step_owner")
    return owner


def _visit_fields(form) -> dict:
    return {
        "kind": form.kind.data,
        "visit_date": form.visit_date.data,
        "place": form.place.data,
        "summary": form.summary.data,
        "concerns": form.concerns.data,
        "flag": form.flag.data,
        "participants": _users(form.participants.data),
        "contacts_met": _contacts(form.contacts_met.data),
    }


# -- visits ------------------------------------------------------------------------
@bp.route("/enterprises/<int:enterprise_id>/visits/new", methods=["GET", "POST"])
@login_required
def new(enterprise_id):
    enterprise = current_access().enterprise_or_abort(enterprise_id, Action.EDIT)
    form = NewVisitForm()
    _fill_choices(form, enterprise)
    if request.method == "GET":
        form.participants.data = [current_user.id]
        form.next_step_owner.data = current_user.id
    if form.validate_on_submit():
        outcome = save(
            lambda: services.log_visit(
                enterprise,
                actor=current_user,
                next_step_title=form.next_step_title.data,
                next_step_due=form.next_step_due.data,
                next_step_owner=_next_step_owner(form.next_step_owner.data),
                **_visit_fields(form),
            ),
            form,
        )
        if outcome.saved:
            flash(_("The visit was logged."), "success")
            return back_to_file(enterprise.id)
    status = 400 if request.method == "POST" else 200
    return render_template("visits/form.html", form=form, enterprise=enterprise), status


@bp.route("/visits/<int:visit_id>", methods=["GET"])
@login_required
def detail(visit_id):
    access = current_access()
    visit = access.record_or_abort(Visit, visit_id, Action.READ)
    return render_template(
        "visits/detail.html",
        visit=visit,
        enterprise=visit.enterprise,
        follow_ups=services.visit_follow_ups(visit),
        can_edit=access.can(Action.EDIT, visit.enterprise),
        delete_form=ActionForm(),
        today=local_today(),
    )


@bp.route("/visits/<int:visit_id>/edit", methods=["GET", "POST"])
@login_required
def edit(visit_id):
    visit = current_access().record_or_abort(Visit, visit_id, Action.EDIT)
    enterprise = visit.enterprise
    form = EditVisitForm(obj=visit)
    if request.method == "GET":
        form.kind.data = visit.kind.value
        form.flag.data = visit.flag.value
        form.participants.data = [u.id for u in visit.participants]
        form.contacts_met.data = [c.id for c in visit.contacts_met]
    _fill_choices(form, enterprise, visit)
    status = 200
    if form.validate_on_submit():
        outcome = save(
            lambda: services.update_visit(
                visit, actor=current_user, expected_version=form.version.data, **_visit_fields(form)
            ),
            form,
        )
        if outcome.saved:
            flash(_("The visit was saved."), "success")
            return back_to_file(enterprise.id)
        status = outcome.status
    elif request.method == "POST":
        status = 400
    return render_template(
        "visits/form.html", form=form, enterprise=enterprise, visit=visit
    ), status


@bp.route("/visits/<int:visit_id>/delete", methods=["POST"])
@login_required
def delete(visit_id):
    visit = current_access().record_or_abort(Visit, visit_id, Action.EDIT)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    enterprise_id = visit.enterprise_id
    services.delete_visit(visit, actor=current_user)
    db.session.commit()
    flash(_("The visit was deleted."), "success")
    return back_to_file(enterprise_id)


# -- follow-ups --------------------------------------------------------------------
def _follow_ups_listed():
    """The filter form, whether everyone's are shown, and the statement (page and export)."""
    access = current_access()
    form = FollowUpFilterForm(formdata=request.args)
    if not form.validate():
        form = FollowUpFilterForm(formdata=None)
    if form.overdue.data and not form.due.data:
        form.due.data = "overdue"  # a link from before the "due" choice
    see_all = form.who.data == "all" and access.oversees_others()
    status = FollowUpStatus(form.status.data or FollowUpStatus.OPEN.value)
    stmt = services.follow_ups_query(
        access.enterprise_scope(),
        owner=None if see_all else current_user,
        status=status,
        due=form.due.data or None,
    )
    return form, see_all, stmt


@bp.route("/follow-ups/export.xlsx", methods=["GET"])
@login_required
def follow_ups_export():
    _form, _see_all, stmt = _follow_ups_listed()
    return export_lists.follow_ups(stmt)


@bp.route("/follow-ups", methods=["GET"])
@login_required
def follow_ups():
    access = current_access()
    form, see_all, stmt = _follow_ups_listed()
    page = db.paginate(
        stmt, page=request.args.get("page", 1, type=int), per_page=100, error_out=False
    )
    today = local_today()
    groups: dict[str, list[FollowUp]] = {}
    for item in page.items:
        groups.setdefault(services.due_group(item, today), []).append(item)
    return render_template(
        "visits/follow_ups.html",
        form=form,
        page=page,
        groups=groups,
        group_order=["overdue", "today", "week", "later", "done"],
        see_all=see_all,
        may_see_all=access.oversees_others(),
        may_edit=access.role_allows(Action.EDIT),
        today=today,
        done_form=ActionForm(),
    )


@bp.route("/follow-ups/<int:follow_up_id>/done", methods=["POST"])
@login_required
def follow_up_done(follow_up_id):
    access = current_access()
    follow_up = access.follow_up_to_complete_or_abort(follow_up_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if services.complete_follow_up(follow_up, actor=current_user):
        db.session.commit()
        flash(_("The follow-up was marked done."), "success")
    return redirect(
        safe_next(request.form.get("next"))
        or url_for("enterprises.file", enterprise_id=follow_up.enterprise_id)
    )
