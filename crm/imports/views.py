"""Spreadsheet import pages: upload, map the columns, preview, import, follow the progress."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.access import Action, current_access
from crm.errors import ServiceError
from crm.extensions import db
from crm.imports import jobs, progress
from crm.imports import mapping as columns
from crm.imports.forms import KIND_LABELS, ON_EXISTING_LABELS, SubmitForm, UploadForm, mapping_form
from crm.models import ImportJob, ImportStatus
from crm.web import save, show_service_error

bp = Blueprint("imports", __name__, url_prefix="/imports")

IN_PROGRESS = (ImportStatus.MAPPED, ImportStatus.QUEUED, ImportStatus.RUNNING)


def _require_importer():
    access = current_access()
    access.require(Action.MANAGE)
    return access


def _job_or_abort(job_id: int) -> ImportJob:
    return current_access().import_job_or_abort(job_id)


@bp.route("/", methods=["GET"])
@login_required
def index():
    access = _require_importer()
    return render_template("imports/index.html", jobs=jobs.recent_jobs(access), kinds=KIND_LABELS)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    _require_importer()
    form = UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        outcome = save(
            lambda: jobs.create_job(
                actor=current_user,
                kind=form.kind.data,
                stream=upload.stream,
                filename=upload.filename,
            ),
            form,
            invalid_status=422,
        )
        if outcome.saved:
            return redirect(url_for("imports.mapping", job_id=outcome.value.id))
        status = outcome.status
    else:
        status = 422 if form.is_submitted() else 200
    return render_template("imports/new.html", form=form, max_bytes=jobs.MAX_BYTES), status


@bp.route("/<int:job_id>/mapping", methods=["GET", "POST"])
@login_required
def mapping(job_id):
    job = _job_or_abort(job_id)
    if job.status not in (ImportStatus.UPLOADED, ImportStatus.MAPPED, ImportStatus.PREVIEWED):
        return redirect(url_for("imports.detail", job_id=job.id))
    form = mapping_form(job.kind, job.headers, job.mapping or [], job.on_existing)
    status = 200
    if form.validate_on_submit():
        chosen = [f.data or None for f in form.column_fields]
        outcome = save(
            lambda: jobs.set_mapping(job, mapping=chosen, on_existing=form.on_existing_choice.data),
            None,
            invalid_status=422,
        )
        if outcome.saved:
            jobs.start_preview(job)
            return redirect(url_for("imports.detail", job_id=job.id))
        status = outcome.status
    elif form.is_submitted():
        status = 422
    return (
        render_template(
            "imports/mapping.html",
            job=job,
            form=form,
            fields=columns.fields(job.kind),
            kinds=KIND_LABELS,
        ),
        status,
    )


@bp.route("/<int:job_id>", methods=["GET"])
@login_required
def detail(job_id):
    job = _job_or_abort(job_id)
    return _detail_page(job, SubmitForm())


def _detail_page(job: ImportJob, form: SubmitForm):
    in_progress = job.status in IN_PROGRESS
    return render_template(
        "imports/detail.html",
        job=job,
        form=form,
        kinds=KIND_LABELS,
        on_existing=ON_EXISTING_LABELS,
        in_progress=in_progress,
        progress=progress.read(job.id) if in_progress else {},
        has_accepted_rows=jobs.has_accepted_rows(job.preview),
        # What broke is for administrators; everyone else reads that it broke.
        error_detail=job.error if current_access().is_admin else None,
    )


@bp.route("/<int:job_id>/import", methods=["POST"])
@login_required
def commit(job_id):
    job = _job_or_abort(job_id)
    form = SubmitForm()
    if not form.validate_on_submit():
        flash(_("The form has expired. Please reload the page and try again."), "danger")
        return redirect(url_for("imports.detail", job_id=job.id))
    try:
        submitted = jobs.submit(job, confirm_repeat=form.confirm_repeat.data)
    except ServiceError as error:
        db.session.rollback()
        show_service_error(form, error)
        return _detail_page(job, form), 409
    if submitted:
        jobs.start_run(job)
    # A second submit of the same preview lands here too: the same job page, nothing twice.
    return redirect(url_for("imports.detail", job_id=job.id))


@bp.route("/<int:job_id>/progress", methods=["GET"])
@login_required
def progress_json(job_id):
    job = _job_or_abort(job_id)
    now = progress.read(job.id)
    done, total = now.get("done", 0), now.get("total", 0)
    return jsonify(
        status=job.status.value,
        phase=now.get("phase"),
        done=done,
        total=total,
        percent=round(100 * done / total) if total else (100 if job.is_finished else 0),
        finished=job.status not in IN_PROGRESS,
    )
