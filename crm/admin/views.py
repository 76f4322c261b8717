"""The admin area: users, units, reference lists and the trash (admins only)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user
from sqlalchemy import func, select

from crm import labels
from crm import trash as trash_service
from crm.access import admin_area_gate
from crm.admin import services
from crm.admin.forms import (
    ConfirmForm,
    PasswordResetForm,
    ReferenceForm,
    UnitEditForm,
    UnitForm,
    UserCreateForm,
    UserEditForm,
)
from crm.admin.units import create_unit, deactivate_unit, unit_tree, update_unit
from crm.errors import ServiceError
from crm.exports import lists as export_lists
from crm.extensions import db
from crm.models import OrgUnit, Role, UnitKind, User
from crm.web import save

# Admin forms re-render with 200 when a rule is broken (the field shows why).
INVALID = 200

bp = Blueprint("admin", __name__, url_prefix="/admin")


bp.before_request(admin_area_gate)


# -- helpers ---------------------------------------------------------------------
def _unit_choices(*, blank: str | None = None, keep: list[int] | None = None, exclude=None):
    """(id, indented name) pairs of active units, plus the ones a record already has."""
    keep = set(keep or [])
    choices = [(0, blank)] if blank is not None else []
    for row in unit_tree():
        unit = row.unit
        if not unit.is_active and unit.id not in keep:
            continue
        if exclude is not None and unit.path.startswith(exclude.path):
            continue
        choices.append((unit.id, "\u3000" * row.depth + unit.name))
    return choices


def _units_by_ids(ids) -> list[OrgUnit]:
    ids = [i for i in (ids or []) if i]
    if not ids:
        return []
    return list(db.session.execute(select(OrgUnit).where(OrgUnit.id.in_(ids))).scalars())


def _count(model, *where) -> int:
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


# -- overview --------------------------------------------------------------------
@bp.route("/")
def index():
    from crm.models import Chamber, Industry

    counts = {
        "users": _count(User, User.active.is_(True)),
        "units": _count(OrgUnit, OrgUnit.is_active.is_(True)),
        "industries": _count(Industry, Industry.is_active.is_(True)),
        "chambers": _count(Chamber, Chamber.is_active.is_(True)),
        "trash": trash_service.count_deleted(),
    }
    return render_template("admin/index.html", counts=counts)


# -- users -----------------------------------------------------------------------
def _user_filters() -> tuple[str | None, int | None, str]:
    """Role, unit and search of the user list (the page and its export)."""
    role = request.args.get("role") or None
    if role not in {r.value for r in Role}:
        role = None
    unit_id = request.args.get("unit", type=int) or None
    return role, unit_id, request.args.get("q", "").strip()


@bp.route("/users")
def users():
    role, unit_id, q = _user_filters()
    rows = db.session.execute(services.user_query(role=role, unit_id=unit_id, q=q)).scalars().all()
    return render_template(
        "admin/users.html",
        users=rows,
        role=role,
        unit_id=unit_id,
        q=q,
        roles=labels.choices(Role),
        unit_choices=_unit_choices(),
        confirm=ConfirmForm(),
    )


@bp.route("/users/export.xlsx")
def users_export():
    role, unit_id, q = _user_filters()
    return export_lists.users(services.user_query(role=role, unit_id=unit_id, q=q))


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():
    form = UserCreateForm()
    form.units.choices = _unit_choices()
    if form.validate_on_submit():
        password = form.password.data or services.generate_password()
        outcome = save(
            lambda: services.create_user(
                actor=current_user,
                email=form.email.data,
                name=form.name.data,
                role=form.role.data,
                units=_units_by_ids(form.units.data),
                locale=form.locale.data,
                password=password,
                phone=form.phone.data,
            ),
            form,
            invalid_status=INVALID,
        )
        if outcome.saved:
            user = outcome.value
            if form.password.data:
                flash(_("User %(name)s created.", name=user.name), "success")
                return redirect(url_for("admin.users"))
            return _show_password_once(user, password)
    return render_template("admin/user_form.html", form=form, user=None)


def _show_password_once(user: User, password: str):
    # Rendered directly (not flashed) so the password never sits in the session cookie.
    return render_template("admin/password_shown.html", user=user, password=password)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
def user_edit(user_id: int):
    user = db.get_or_404(User, user_id)
    form = UserEditForm(obj=user)
    if request.method == "GET":
        form.units.data = [u.id for u in user.units]
        form.role.data = user.role.value
        form.version.data = user.version
    form.units.choices = _unit_choices(keep=[u.id for u in user.units])
    if form.validate_on_submit():
        outcome = save(
            lambda: services.update_user(
                user,
                actor=current_user,
                expected_version=form.version.data or None,
                name=form.name.data,
                email=form.email.data,
                role=form.role.data,
                units=_units_by_ids(form.units.data),
                locale=form.locale.data,
                active=form.active.data,
                phone=form.phone.data,
            ),
            form,
            invalid_status=INVALID,
        )
        if outcome.saved:
            flash(_("Changes to %(name)s saved.", name=user.name), "success")
            return redirect(url_for("admin.users"))
        return render_template("admin/user_form.html", form=form, user=user), outcome.status
    return render_template("admin/user_form.html", form=form, user=user)


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
def user_password(user_id: int):
    user = db.get_or_404(User, user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        password = form.password.data or services.generate_password()
        outcome = save(
            lambda: services.reset_password(user, actor=current_user, password=password),
            form,
            invalid_status=INVALID,
        )
        if outcome.saved:
            if user.id == current_user.id:
                login_user(user)  # the new session token would otherwise sign the admin out
            if form.password.data:
                flash(
                    _("Password of %(name)s changed; their sessions ended.", name=user.name),
                    "success",
                )
                return redirect(url_for("admin.users"))
            return _show_password_once(user, password)
    return render_template("admin/user_password.html", form=form, user=user)


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
def user_deactivate(user_id: int):
    user = db.get_or_404(User, user_id)
    if ConfirmForm().validate_on_submit():
        try:
            services.deactivate_user(user, actor=current_user)
        except ServiceError as exc:
            db.session.rollback()
            flash(str(exc.message), "danger")
        else:
            db.session.commit()
            flash(_("%(name)s can no longer sign in.", name=user.name), "success")
    return redirect(url_for("admin.users"))


# -- units -----------------------------------------------------------------------
@bp.route("/units")
def units():
    return render_template("admin/units.html", rows=unit_tree(), confirm=ConfirmForm())


@bp.route("/units/new", methods=["GET", "POST"])
def unit_new():
    form = UnitForm()
    form.parent_id.choices = _unit_choices(blank=_("— none (top level) —"))
    if request.method == "GET" and request.args.get("parent", type=int):
        form.parent_id.data = request.args.get("parent", type=int)
    if form.validate_on_submit():
        outcome = save(
            lambda: create_unit(
                name=form.name.data,
                name_en=form.name_en.data,
                kind=UnitKind(form.kind.data),
                parent=db.session.get(OrgUnit, form.parent_id.data)
                if form.parent_id.data
                else None,
                sort_order=form.sort_order.data or 0,
            ),
            form,
            invalid_status=INVALID,
        )
        if outcome.saved:
            flash(_("Unit %(name)s created.", name=outcome.value.name), "success")
            return redirect(url_for("admin.units"))
    return render_template("admin/unit_form.html", form=form, unit=None)


@bp.route("/units/<int:unit_id>/edit", methods=["GET", "POST"])
def unit_edit(unit_id: int):
    unit = db.get_or_404(OrgUnit, unit_id)
    form = UnitEditForm(obj=unit)
    if request.method == "GET":
        form.parent_id.data = unit.parent_id or 0
        form.kind.data = unit.kind.value
        form.version.data = unit.version
    # Every unit is offered as parent, so that choosing a sub-unit gets the clear
    # "cannot be placed under itself" message rather than a silent omission.
    form.parent_id.choices = _unit_choices(blank=_("— none (top level) —"), keep=[unit.id])
    if form.validate_on_submit():
        parent = db.session.get(OrgUnit, form.parent_id.data) if form.parent_id.data else None
        outcome = save(
            lambda: update_unit(
                unit,
                expected_version=form.version.data or None,
                name=form.name.data,
                name_en=form.name_en.data,
                kind=UnitKind(form.kind.data),
                parent=parent,
                sort_order=form.sort_order.data or 0,
                is_active=form.is_active.data,
            ),
            form,
            invalid_status=INVALID,
        )
        if outcome.saved:
            flash(_("Unit %(name)s saved.", name=unit.name), "success")
            return redirect(url_for("admin.units"))
        return render_template("admin/unit_form.html", form=form, unit=unit), outcome.status
    return render_template("admin/unit_form.html", form=form, unit=unit)


@bp.route("/units/<int:unit_id>/deactivate", methods=["POST"])
def unit_deactivate(unit_id: int):
    unit = db.get_or_404(OrgUnit, unit_id)
    if ConfirmForm().validate_on_submit():
        try:
            deactivate_unit(unit)
        except ServiceError as exc:
            db.session.rollback()
            flash(str(exc.message), "danger")
        else:
            db.session.commit()
            flash(_("Unit %(name)s deactivated.", name=unit.name), "success")
    return redirect(url_for("admin.units"))


# -- reference lists -------------------------------------------------------------
def _reference_model(kind: str):
    model = services.REFERENCE_MODELS.get(kind)
    if model is None:
        abort(404)
    return model


def _reference_title(kind: str) -> str:
    return _("Industries") if kind == "industries" else _("Chambers of commerce")


def _reference_extra(kind: str, form) -> dict:
    return {"sort_order": form.sort_order.data or 0} if kind == "industries" else {}


@bp.route("/reference/<kind>")
def reference(kind: str):
    model = _reference_model(kind)
    order = (model.sort_order, model.name) if kind == "industries" else (model.name,)
    items = (
        db.session.execute(select(model).order_by(model.is_active.desc(), *order)).scalars().all()
    )
    return render_template(
        "admin/reference.html",
        kind=kind,
        title=_reference_title(kind),
        items=items,
        confirm=ConfirmForm(),
    )


@bp.route("/reference/<kind>/new", methods=["GET", "POST"])
def reference_new(kind: str):
    return _reference_form(kind, item=None)


@bp.route("/reference/<kind>/<int:item_id>/edit", methods=["GET", "POST"])
def reference_edit(kind: str, item_id: int):
    return _reference_form(kind, item=db.get_or_404(_reference_model(kind), item_id))


def _reference_form(kind: str, item=None):
    """Adding and editing an entry are one form and one flow; only the service call differs."""
    model = _reference_model(kind)
    form = ReferenceForm(obj=item)
    if form.validate_on_submit():
        fields = {
            "name": form.name.data,
            "name_en": form.name_en.data,
            "is_active": form.is_active.data,
            **_reference_extra(kind, form),
        }
        outcome = save(
            lambda: (
                services.update_reference(item, **fields)
                if item is not None
                else services.create_reference(model, **fields)
            ),
            form,
            invalid_status=INVALID,
        )
        if outcome.saved:
            flash(_("Saved."), "success")
            return redirect(url_for("admin.reference", kind=kind))
    return render_template(
        "admin/reference_form.html", form=form, kind=kind, title=_reference_title(kind), item=item
    )


@bp.route("/reference/<kind>/<int:item_id>/deactivate", methods=["POST"])
def reference_deactivate(kind: str, item_id: int):
    item = db.get_or_404(_reference_model(kind), item_id)
    if ConfirmForm().validate_on_submit():
        services.deactivate_reference(item)
        db.session.commit()
        flash(_("%(name)s deactivated.", name=item.name), "success")
    return redirect(url_for("admin.reference", kind=kind))


# -- trash -----------------------------------------------------------------------
@bp.route("/trash")
def trash():
    kind = request.args.get("kind") or None
    if kind not in trash_service.KINDS:
        kind = None
    return render_template(
        "admin/trash.html",
        items=trash_service.list_deleted(kind=kind),
        kind=kind,
        kinds=trash_service.KIND_LABELS,
        confirm=ConfirmForm(),
    )


@bp.route("/trash/export.xlsx")
def trash_export():
    kind = request.args.get("kind") or None
    return export_lists.trash(
        trash_service.list_deleted(kind=kind if kind in trash_service.KINDS else None)
    )


@bp.route("/trash/<kind>/<int:record_id>/restore", methods=["POST"])
def restore(kind: str, record_id: int):
    record = trash_service.get_deleted(kind, record_id)
    if record is None:
        abort(404)
    if ConfirmForm().validate_on_submit():
        try:
            trash_service.restore(record, current_user)
        except ServiceError as exc:
            db.session.rollback()
            flash(str(exc.message), "danger")
            return redirect(url_for("admin.trash"))
        db.session.commit()
        flash(_("%(title)s restored.", title=trash_service.title_of(record)), "success")
    return redirect(url_for("admin.trash"))
