"""Contacts of an enterprise: add, edit, delete (soft)."""

from __future__ import annotations

from flask import Blueprint, flash, render_template
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.access import Action, current_access
from crm.contacts.forms import NOBODY, ContactForm, DeleteForm
from crm.contacts.services import (
    create_contact,
    delete_contact,
    known_by_candidates,
    update_contact,
)
from crm.extensions import db
from crm.models import Contact, User
from crm.web import back_to_file, save

bp = Blueprint("contacts", __name__)


def _known_by_choices(form: ContactForm, enterprise, current: User | None = None) -> None:
    users = known_by_candidates(enterprise)
    if current is not None and current not in users:
        users.append(current)  # keep the stored choice even if that person moved on
    form.set_known_by_choices(users)
    if form.known_by_id.data is None:  # not posted, or a contact nobody knows
        form.known_by_id.data = NOBODY


def _fields(form: ContactForm) -> dict:
    known_by_id = form.known_by_id.data
    return {
        "name": form.name.data,
        "title": form.title.data,
        "phone": form.phone.data,
        "email": form.email.data,
        "wechat": form.wechat.data,
        "is_main": form.is_main.data,
        "known_by": db.session.get(User, known_by_id) if known_by_id != NOBODY else None,
        "notes": form.notes.data,
    }


def _render(form, enterprise, contact=None, status=200):
    delete_form = DeleteForm(version=contact.version) if contact is not None else None
    return (
        render_template(
            "contacts/form.html",
            form=form,
            enterprise=enterprise,
            contact=contact,
            delete_form=delete_form,
        ),
        status,
    )


@bp.route("/enterprises/<int:enterprise_id>/contacts/new", methods=["GET", "POST"])
@login_required
def new(enterprise_id):
    enterprise = current_access().enterprise_or_abort(enterprise_id, Action.EDIT)
    form = ContactForm()
    _known_by_choices(form, enterprise)
    if form.validate_on_submit():
        outcome = save(
            lambda: create_contact(enterprise, actor=current_user, **_fields(form)),
            form,
            invalid_status=422,
        )
        if not outcome.saved:
            return _render(form, enterprise, status=outcome.status)
        flash(_("Contact %(name)s added.", name=outcome.value.name), "success")
        return back_to_file(enterprise.id)
    return _render(form, enterprise, status=422 if form.is_submitted() else 200)


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@login_required
def edit(contact_id):
    contact = current_access().record_or_abort(Contact, contact_id, Action.EDIT)
    enterprise = contact.enterprise
    form = ContactForm(obj=contact)
    if not form.is_submitted():
        form.version.data = contact.version
    _known_by_choices(form, enterprise, contact.known_by)
    if form.validate_on_submit():
        outcome = save(
            lambda: update_contact(
                contact, actor=current_user, expected_version=form.version.data, **_fields(form)
            ),
            form,
            invalid_status=422,
        )
        if not outcome.saved:
            return _render(form, enterprise, contact, status=outcome.status)
        flash(_("Contact %(name)s saved.", name=contact.name), "success")
        return back_to_file(enterprise.id)
    return _render(form, enterprise, contact, status=422 if form.is_submitted() else 200)


@bp.route("/contacts/<int:contact_id>/delete", methods=["POST"])
@login_required
def delete(contact_id):
    contact = current_access().record_or_abort(Contact, contact_id, Action.EDIT)
    enterprise_id = contact.enterprise_id
    form = DeleteForm()
    if not form.validate_on_submit():
        flash(_("The form has expired. Please reload the page and try again."), "danger")
        return back_to_file(enterprise_id)
    outcome = save(
        lambda: delete_contact(
            contact, actor=current_user, expected_version=form.version.data or None
        ),
    )
    if not outcome.saved:
        return back_to_file(enterprise_id)
    flash(_("Contact %(name)s deleted.", name=contact.name), "success")
    return back_to_file(enterprise_id)
