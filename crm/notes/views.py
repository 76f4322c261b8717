"""Notes on an enterprise: add, edit, delete (soft)."""

from __future__ import annotations

from flask import Blueprint, flash, render_template
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.access import Action, current_access
from crm.models import Note
from crm.notes.forms import DeleteForm, NoteForm
from crm.notes.services import add_note, delete_note, update_note
from crm.web import back_to_file, save

bp = Blueprint("notes", __name__)


def _render(form, enterprise, note=None, status=200):
    delete_form = DeleteForm(version=note.version) if note is not None else None
    return (
        render_template(
            "notes/form.html", form=form, enterprise=enterprise, note=note, delete_form=delete_form
        ),
        status,
    )


@bp.route("/enterprises/<int:enterprise_id>/notes/new", methods=["GET", "POST"])
@login_required
def new(enterprise_id):
    enterprise = current_access().enterprise_or_abort(enterprise_id, Action.EDIT)
    form = NoteForm()
    if form.validate_on_submit():
        outcome = save(
            lambda: add_note(enterprise, actor=current_user, body=form.body.data),
            form,
            invalid_status=422,
        )
        if not outcome.saved:
            return _render(form, enterprise, status=outcome.status)
        flash(_("Note added."), "success")
        return back_to_file(enterprise.id)
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
        outcome = save(
            lambda: update_note(
                note, actor=current_user, expected_version=form.version.data, body=form.body.data
            ),
            form,
            invalid_status=422,
        )
        if not outcome.saved:
            return _render(form, enterprise, note, status=outcome.status)
        flash(_("Note saved."), "success")
        return back_to_file(enterprise.id)
    return _render(form, enterprise, note, status=422 if form.is_submitted() else 200)


@bp.route("/notes/<int:note_id>/delete", methods=["POST"])
@login_required
def delete(note_id):
    note = current_access().record_or_abort(Note, note_id, Action.EDIT)
    enterprise_id = note.enterprise_id
    form = DeleteForm()
    if not form.validate_on_submit():
        flash(_("The form has expired. Please reload the page and try again."), "danger")
        return back_to_file(enterprise_id)
    outcome = save(
        lambda: delete_note(note, actor=current_user, expected_version=form.version.data or None),
    )
    if not outcome.saved:
        return back_to_file(enterprise_id)
    flash(_("Note deleted."), "success")
    return back_to_file(enterprise_id)
