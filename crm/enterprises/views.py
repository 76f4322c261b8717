"""The enterprise register, the enterprise form, and the file (一企一档)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from crm.access import Access, Action, current_access
from crm.clock import local_now
from crm.enterprises import queries, services
from crm.enterprises.forms import EnterpriseForm, SearchForm
from crm.enterprises.search import normalise_query
from crm.errors import DuplicateError, ServiceError
from crm.exports import dossier as export_dossier
from crm.exports import lists as export_lists
from crm.extensions import db
from crm.models import Enterprise, OrgUnit
from crm.web import save, show_service_error

bp = Blueprint("enterprises", __name__)


# -- the register --------------------------------------------------------------------


def _search(access: Access) -> tuple[SearchForm, queries.Filters]:
    """The register's filters from the query string (the page and its export read the same)."""
    form = SearchForm(request.args)
    people = queries.people_in_scope(access)
    form.set_choices(industries=queries.industries(), people=people, units=queries.units(access))
    filters = queries.Filters(
        q=normalise_query(form.q.data),
        tag=form.tag.data or "",
        unit_id=form.unit.data or None,
        responsible_id=form.responsible.data or None,
        industry_id=form.industry.data or None,
    )
    return form, filters


@bp.route("/enterprises/", methods=["GET"])
@login_required
def index():
    access = current_access()
    form, filters = _search(access)
    page = max(request.args.get("page", 1, type=int), 1)
    result = queries.list_enterprises(
        access, filters, page=page, per_page=current_app.config["PAGE_SIZE"]
    )
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "enterprises/index.html",
        form=form,
        result=result,
        filters=filters,
        page_args=args,
        count_cap=queries.COUNT_CAP,
        can_create=access.role_allows(Action.EDIT),
    )


@bp.route("/enterprises/export.xlsx", methods=["GET"])
@login_required
def export():
    """The register as .xlsx: the same viewer's scope and the same filters as the page."""
    access = current_access()
    _form, filters = _search(access)
    return export_lists.enterprises(access, filters)


# -- create and edit -------------------------------------------------------------------


def _prepare_form(form: EnterpriseForm, access: Access, responsible) -> None:
    form.set_choices(
        industries=queries.industries(),
        chambers=queries.chambers(),
        people=queries.responsible_choices(access, responsible),
        units=queries.units(access),
    )


def _form_fields(form: EnterpriseForm, units: list[OrgUnit]) -> dict:
    return {
        "credit_code": form.credit_code.data,
        "name": form.name.data,
        "name_en": form.name_en.data,
        "region": form.region.data,
        "address": form.address.data,
        "industry": form.industry.data or None,
        "chamber": form.chamber.data or None,
        "responsible": form.responsible.data or None,
        "fortune_global_500_year": form.fortune_global_500_year.data,
        "china_top_500_year": form.china_top_500_year.data,
        "china_private_500_year": form.china_private_500_year.data,
        "is_listed": form.is_listed.data,
        "is_foreign_invested": form.is_foreign_invested.data,
        "is_settled": form.is_settled.data,
        "is_reinvesting": form.is_reinvesting.data,
        "description": form.description.data,
        "units": units,
    }


def _chosen_units(form: EnterpriseForm) -> list[OrgUnit]:
    ids = set(form.units.data or [])
    return [db.session.get(OrgUnit, i) for i in sorted(ids)]


def _duplicate_context(exc: DuplicateError, access: Access) -> dict:
    existing = db.session.get(Enterprise, exc.existing_id) if exc.existing_id else None
    return {
        "duplicate": existing,
        # A link only where the viewer may open it; the name alone still stops a double entry.
        "duplicate_visible": existing is not None and access.can(Action.READ, existing),
    }


@bp.route("/enterprises/new", methods=["GET", "POST"])
@login_required
def new():
    access = current_access()
    access.require(Action.EDIT)
    form = EnterpriseForm()
    _prepare_form(form, access, current_user)
    if request.method == "GET":
        form.responsible.data = current_user.id
        if len(form.units.choices) == 1:
            form.units.data = [form.units.choices[0][0]]
    context: dict = {"similar": []}
    if form.validate_on_submit():
        try:
            services.check_new_code(form.credit_code.data)
            similar = [] if form.confirm_similar.data else services.find_similar(form.name.data)
            if similar:
                context["similar"] = similar
            else:
                enterprise = services.create_enterprise(
                    actor=current_user, **_form_fields(form, _chosen_units(form))
                )
                db.session.commit()
                flash(_("The enterprise has been registered."), "success")
                return redirect(url_for(".file", enterprise_id=enterprise.id))
        except DuplicateError as exc:
            db.session.rollback()
            show_service_error(form, exc)
            context.update(_duplicate_context(exc, access))
        except ServiceError as exc:
            db.session.rollback()
            show_service_error(form, exc)
        except IntegrityError:
            db.session.rollback()
            exc = services.duplicate_after_race(form.credit_code.data)
            if exc is None:
                raise
            show_service_error(form, exc)
            context.update(_duplicate_context(exc, access))
    return render_template("enterprises/form.html", form=form, enterprise=None, **context)


def _initial_data(enterprise: Enterprise, allowed_ids: set[int]) -> dict:
    data = {field: getattr(enterprise, field) for field in services.TRACKED_FIELDS}
    data.update(
        industry=enterprise.industry_id or 0,
        chamber=enterprise.chamber_id or 0,
        responsible=enterprise.responsible_id or 0,
        units=[u.id for u in enterprise.units if u.id in allowed_ids],
        version=enterprise.version,
    )
    return data


@bp.route("/enterprises/<int:enterprise_id>/edit", methods=["GET", "POST"])
@login_required
def edit(enterprise_id):
    access = current_access()
    enterprise = access.enterprise_or_abort(enterprise_id, Action.EDIT)
    allowed_ids = {u.id for u in queries.units(access)}
    # Units the viewer may not choose stay attached: the form cannot show them.
    kept_units = [u for u in enterprise.units if u.id not in allowed_ids]
    form = EnterpriseForm(data=_initial_data(enterprise, allowed_ids))
    _prepare_form(form, access, enterprise.responsible)
    status, context = 200, {"similar": []}
    if form.validate_on_submit():
        outcome = save(
            lambda: services.update_enterprise(
                enterprise,
                actor=current_user,
                expected_version=form.version.data,
                **_form_fields(form, _chosen_units(form) + kept_units),
            ),
            form,
            invalid_status=200,
        )
        if outcome.saved:
            flash(_("Your changes have been saved."), "success")
            return redirect(url_for(".file", enterprise_id=enterprise.id))
        status = outcome.status
        if isinstance(outcome.error, DuplicateError):
            context.update(_duplicate_context(outcome.error, access))
    return (
        render_template(
            "enterprises/form.html",
            form=form,
            enterprise=enterprise,
            kept_units=kept_units,
            **context,
        ),
        status,
    )


@bp.route("/enterprises/<int:enterprise_id>/delete", methods=["POST"])
@login_required
def delete(enterprise_id):
    access = current_access()
    enterprise = access.enterprise_or_abort(enterprise_id, Action.MANAGE)
    services.delete_enterprise(enterprise, actor=current_user)
    db.session.commit()
    flash(_("The enterprise %(name)s has been deleted.", name=enterprise.name), "success")
    return redirect(url_for(".index"))


# -- the file ------------------------------------------------------------------------------


@bp.route("/enterprises/<int:enterprise_id>", methods=["GET"])
@login_required
def file(enterprise_id):
    access = current_access()
    enterprise = access.enterprise_or_abort(enterprise_id, Action.READ, include_deleted=True)
    contents = queries.file_contents(enterprise)
    timeline = queries.timeline_page(
        enterprise,
        before=request.args.get("before"),
        size=current_app.config["TIMELINE_PAGE_SIZE"],
    )
    live = enterprise.deleted_at is None
    return render_template(
        "enterprises/file.html",
        enterprise=enterprise,
        contents=contents,
        projects=services.file_projects(enterprise),
        policies=services.file_policies(enterprise),
        timeline=timeline,
        can_edit=live and access.can(Action.EDIT, enterprise),
        can_manage=live and access.can(Action.MANAGE, enterprise),
        today=local_now().date(),
    )


@bp.route("/enterprises/<int:enterprise_id>/dossier", methods=["GET"])
@login_required
def dossier(enterprise_id):
    access = current_access()
    enterprise = access.enterprise_or_abort(enterprise_id, Action.READ, include_deleted=True)
    contents = queries.file_contents(enterprise)
    timeline = queries.timeline_page(enterprise, before=None, size=None)
    return render_template(
        "enterprises/dossier.html",
        enterprise=enterprise,
        contents=contents,
        projects=services.file_projects(enterprise),
        policies=services.file_policies(enterprise),
        timeline=timeline,
        printed_at=local_now(),
    )


@bp.route("/enterprises/<int:enterprise_id>/dossier.xlsx", methods=["GET"])
@login_required
def dossier_xlsx(enterprise_id):
    access = current_access()
    enterprise = access.enterprise_or_abort(enterprise_id, Action.READ, include_deleted=True)
    return export_dossier.response(enterprise)
