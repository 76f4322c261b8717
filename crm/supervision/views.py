"""Supervision items (督办事项): list, create, view, edit, mark done, cancel, delete, check on site.

Items are seen by whoever sees their enterprise (like issues); the URL's
``item_id`` is the name the reminder mails link with.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.access import Action, current_access
from crm.clock import local_today
from crm.documents.storage import get_storage
from crm.exports import lists as export_lists
from crm.extensions import db
from crm.models import (
    EnterpriseIssue,
    OrgUnit,
    Project,
    SupervisionItem,
    SupervisionStatus,
    User,
)
from crm.supervision import services
from crm.supervision.forms import (
    CancelForm,
    CheckForm,
    EditItemForm,
    ItemFilterForm,
    NewItemForm,
    VersionForm,
)
from crm.visits.forms import ActionForm
from crm.visits.services import active_users
from crm.web import back_to_file, save, submit

bp = Blueprint("supervision", __name__)

NONE = ("", "—")


def _fill_choices(form, item: SupervisionItem | None = None) -> None:
    users = active_users()
    units = list(db.session.execute(current_access().units()).scalars())
    if item is not None:
        # What is already set stays selectable even if since deactivated or out of reach.
        if item.owner is not None and item.owner not in users:
            users.append(item.owner)
        if item.unit is not None and item.unit not in units:
            units.append(item.unit)
    form.owner.choices = [NONE] + [(u.id, u.name) for u in users]
    form.unit.choices = [NONE] + [(u.id, u.name) for u in units]


def _item_fields(form) -> dict:
    return {
        "title": form.title.data,
        "target_stage": form.target_stage.data or None,
        "due_date": form.due_date.data,
        "unit": db.session.get(OrgUnit, form.unit.data) if form.unit.data else None,
        "owner": db.session.get(User, form.owner.data) if form.owner.data else None,
        "note": form.note.data,
    }


def _item_or_abort(item_id: int, action: Action) -> SupervisionItem:
    return current_access().record_or_abort(SupervisionItem, item_id, action)


def _to_detail(item: SupervisionItem):
    return redirect(url_for("supervision.detail", item_id=item.id))


# -- the list ----------------------------------------------------------------------
def _listed():
    """The list's filter form and statement (the page and its export)."""
    access = current_access()
    form = ItemFilterForm(formdata=request.args)
    units = list(db.session.execute(access.units()).scalars())
    form.unit.choices = [("", _("Any unit"))] + [(u.id, u.name) for u in units]
    if not form.validate():
        form = ItemFilterForm(formdata=None)
        form.unit.choices = [("", _("Any unit"))] + [(u.id, u.name) for u in units]
    stmt = services.items_query(
        access.enterprise_scope(),
        status=form.status.data or None,
        due=form.due.data or None,
        escalated=bool(form.escalated.data),
        unit=db.session.get(OrgUnit, form.unit.data) if form.unit.data else None,
    )
    return form, stmt


@bp.route("/supervision/export.xlsx", methods=["GET"])
@login_required
def export():
    _form, stmt = _listed()
    return export_lists.supervision(stmt)


@bp.route("/supervision", methods=["GET"])
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
        "supervision/index.html",
        form=form,
        page=page,
        today=local_today(),
        escalated=services.escalated_ids(item.id for item in page.items),
    )


# -- one item ------------------------------------------------------------------------
@bp.route("/enterprises/<int:enterprise_id>/supervision/new", methods=["GET", "POST"])
@login_required
def new(enterprise_id):
    access = current_access()
    enterprise = access.enterprise_or_abort(enterprise_id, Action.EDIT)
    project = access.related_or_abort(
        Project, request.args.get("project_id"), enterprise, Action.READ
    )
    issue = access.related_or_abort(
        EnterpriseIssue, request.args.get("issue_id"), enterprise, Action.READ
    )
    form = NewItemForm()
    _fill_choices(form)
    form.project.choices = [NONE] + [
        (p.id, p.name) for p in services.project_candidates(enterprise)
    ]
    form.issue.choices = [NONE] + [(i.id, i.title) for i in services.issue_candidates(enterprise)]
    if request.method == "GET":
        form.project.data = project.id if project else None
        form.issue.data = issue.id if issue else None
    outcome = submit(
        form,
        lambda: services.create_item(
            enterprise,
            actor=current_user,
            project=db.session.get(Project, form.project.data) if form.project.data else None,
            issue=(db.session.get(EnterpriseIssue, form.issue.data) if form.issue.data else None),
            **_item_fields(form),
        ),
    )
    if outcome.saved:
        flash(_("The supervision item was created."), "success")
        return _to_detail(outcome.value)
    return render_template(
        "supervision/form.html", form=form, enterprise=enterprise, item=None
    ), outcome.status


def _render_detail(item: SupervisionItem, status: int = 200):
    access = current_access()
    return render_template(
        "supervision/detail.html",
        item=item,
        enterprise=item.enterprise,
        can_edit=access.can(Action.EDIT, item.enterprise),
        is_open=item.status == SupervisionStatus.OPEN,
        overdue=services.is_overdue(item),
        escalations=services.escalations(item),
        photos=services.photos_by_check(item),
        history=services.history(item),
        cancelled_reason=_cancelled_reason(item),
        done_form=VersionForm(formdata=None, version=item.version),
        delete_form=ActionForm(),
    ), status


def _cancelled_reason(item: SupervisionItem) -> str | None:
    if item.status != SupervisionStatus.CANCELLED:
        return None
    for event in services.history(item):
        if event.kind == "supervision.cancelled":
            return (event.data or {}).get("text")
    return None


@bp.route("/supervision/<int:item_id>", methods=["GET"])
@login_required
def detail(item_id):
    return _render_detail(_item_or_abort(item_id, Action.READ))


@bp.route("/supervision/<int:item_id>/edit", methods=["GET", "POST"])
@login_required
def edit(item_id):
    item = _item_or_abort(item_id, Action.EDIT)
    form = EditItemForm(obj=item)
    if request.method == "GET":
        form.target_stage.data = item.target_stage.value if item.target_stage else ""
        form.unit.data = item.unit_id
        form.owner.data = item.owner_id
    _fill_choices(form, item)
    outcome = submit(
        form,
        lambda: services.update_item(
            item, actor=current_user, expected_version=form.version.data, **_item_fields(form)
        ),
    )
    if outcome.saved:
        flash(_("The supervision item was saved."), "success")
        return _to_detail(item)
    return render_template(
        "supervision/form.html", form=form, enterprise=item.enterprise, item=item
    ), outcome.status


@bp.route("/supervision/<int:item_id>/done", methods=["POST"])
@login_required
def done(item_id):
    item = _item_or_abort(item_id, Action.EDIT)
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    outcome = save(
        lambda: services.mark_done(item, actor=current_user, expected_version=form.version.data),
        form,
    )
    if outcome.saved:
        flash(_("The supervision item was marked done."), "success")
        return _to_detail(item)
    return _render_detail(item, outcome.status)


@bp.route("/supervision/<int:item_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel(item_id):
    item = _item_or_abort(item_id, Action.EDIT)
    form = CancelForm()
    if request.method == "GET":
        form.version.data = item.version
    outcome = submit(
        form,
        lambda: services.cancel_item(
            item, actor=current_user, expected_version=form.version.data, reason=form.reason.data
        ),
    )
    if outcome.saved:
        flash(_("The supervision item was cancelled."), "success")
        return _to_detail(item)
    return render_template(
        "supervision/cancel.html", form=form, item=item, enterprise=item.enterprise
    ), outcome.status


@bp.route("/supervision/<int:item_id>/delete", methods=["POST"])
@login_required
def delete(item_id):
    item = _item_or_abort(item_id, Action.EDIT)
    if not ActionForm().validate_on_submit():
        abort(400)
    enterprise_id = item.enterprise_id
    services.delete_item(item, actor=current_user)
    db.session.commit()
    flash(_("The supervision item was deleted."), "success")
    return back_to_file(enterprise_id)


@bp.route("/supervision/<int:item_id>/check", methods=["GET", "POST"])
@login_required
def check(item_id):
    """Record an on-site verification (实地核查), with photos."""
    item = _item_or_abort(item_id, Action.EDIT)
    form = CheckForm()
    if request.method == "GET":
        form.checked_on.data = local_today()
    # An empty file input still sends one nameless part.
    uploads = [f for f in (form.photos.data or []) if getattr(f, "filename", None)]
    outcome = submit(
        form,
        lambda: services.record_check(
            item,
            actor=current_user,
            checked_on=form.checked_on.data,
            outcome=form.outcome.data,
            findings=form.findings.data,
            photos=[services.Photo(f.stream, f.filename) for f in uploads],
            storage=get_storage(),
            allowed_extensions=current_app.config["UPLOAD_EXTENSIONS"],
            max_bytes=current_app.config["UPLOAD_MAX_BYTES"],
        ),
    )
    if outcome.saved:
        flash(_("The on-site check was recorded."), "success")
        return _to_detail(item)
    return render_template(
        "supervision/check.html",
        form=form,
        item=item,
        enterprise=item.enterprise,
        extensions=[
            e for e in current_app.config["UPLOAD_EXTENSIONS"] if e in services.PHOTO_EXTENSIONS
        ],
        max_bytes=current_app.config["UPLOAD_MAX_BYTES"],
    ), outcome.status


# -- what other pages show ----------------------------------------------------------------
@bp.app_template_global()
def supervision_items(enterprise=None, project=None, issue=None) -> list[SupervisionItem]:
    """Items of an enterprise, project or issue for the cards of the file, project and issue
    pages; none when the reader may not see the enterprise (a task force reading a project)."""
    owner = enterprise or (project.enterprise if project else issue.enterprise if issue else None)
    if owner is None or not current_access().in_scope(owner):
        return []
    return services.items_of(enterprise=enterprise, project=project, issue=issue)


@bp.app_template_global()
def supervision_overdue(item: SupervisionItem) -> bool:
    return services.is_overdue(item)
