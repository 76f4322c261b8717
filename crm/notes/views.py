"""Notes on an enterprise: add, edit, delete (soft)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm.exc import StaleDataError

from crm.access import Action, current_access
from crm.contacts.services import STALE_MESSAGE
from crm.errors import ServiceError, StaleEditError
from crm.extensions import db
from crm.models import Note
from crm.notes.forms import DeleteForm, NoteForm
from crm.notes.services import add_note, delete_note, update_note

bp = Blueprint("notes", __name__)


def _file_url(enterprise_id: int) -> str:
    return url_for("enterprises.file", enterprise_id=enterprise_id)


def _render(form, enterprise, note=None, status=200):
    delete_form = DeleteForm(version=note.version) if note is not None else None
    return (
        render_template(
            "notes/form.html", form=form, enterprise=enterprise, note=note, delete_form=delete_form
        ),
        status,
    )


def _show_error(form: NoteForm, error: ServiceError) -> None:
    if error.field in form:
        form[error.field].errors = [*form[error.field].errors, error.message]
    else:
        flash(str(error.message), "danger")


@bp.route("/enterprises/<int:enterprise_id>/notes/new", methods=["GET", "POST"])
@login_required
def new(enterprise_id):
    enterprise = current_access().enterprise_or_abort(enterprise_id, Action.EDIT)
    form = NoteForm()
    if form.validate_on_submit():
        try:
            add_note(enterprise, actor=current_user, body=form.body.data)
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            _show_error(form, error)
            return _render(form, enterprise, status=422)
        flash(_("Note added."), "success")
        return redirect(_file_url(enterprise.id))
    return _render(form, enterprise, status=422 if form.is_submitted() else 200)


@bp.route("/notes/<int:note_id>/edit", methods=["GET", "POST"])
@login_required
def edit(note_id):
    note = current_access().record_or_abort(Note, note_id, Action.EDIT)
    enterprise = note.enterprise
    form = NoteForm(obj=note)
    if not form.is_submitted():
        form.version.data = note.version
    if form.validate_on_submit():
        try:
            update_note(
                note, actor=current_user, expected_version=form.version.data, body=form.body.data
            )
            db.session.commit()
        except (StaleEditError, StaleDataError):
            db.session.rollback()
            flash(str(STALE_MESSAGE), "danger")
            return _render(form, enterprise, db.session.get(Note, note_id), status=409)
        except ServiceError as error:
            db.session.rollback()
            _show_error(form, error)
            return _render(form, enterprise, db.session.get(Note, note_id), status=422)
        flash(_("Note saved."), "success")
        return redirect(_file_url(enterprise.id))
    return _render(form, enterprise, note, status=422 if form.is_submitted() else 200)


@bp.route("/notes/<int:note_id>/delete", methods=["POST"])
@login_required
def delete(note_id):
    note = current_access().record_or_abort(Note, note_id, Action.EDIT)
    enterprise_id = note.enterprise_id
    form = DeleteForm()
    if not form.validate_on_submit():
        flash(_("The form has expired. Please reload the page and try again."), "danger")
        return redirect(_file_url(enterprise_id))
    try:
        delete_note(note, actor=current_user, expected_version=form.version.data or None)
        db.session.commit()
    except (StaleEditError, StaleDataError):
        db.session.rollback()
        flash(str(STALE_MESSAGE), "danger")
        return redirect(_file_url(enterprise_id))
    flash(_("Note deleted."), "success")
    return redirect(_file_url(enterprise_id))
