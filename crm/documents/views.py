"""Documents of an enterprise: upload, download, delete (soft)."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.access import Action, current_access
from crm.documents.forms import DeleteForm, DocumentForm
from crm.documents.services import attach_document, delete_document
from crm.documents.storage import get_storage
from crm.extensions import db
from crm.models import Document, EnterpriseIssue, Visit
from crm.web import back_to_file, save

bp = Blueprint("documents", __name__)


@bp.route("/enterprises/<int:enterprise_id>/documents/new", methods=["GET", "POST"])
@login_required
def upload(enterprise_id):
    access = current_access()
    enterprise = access.enterprise_or_abort(enterprise_id, Action.EDIT)
    visit = access.related_or_abort(Visit, request.args.get("visit_id"), enterprise, Action.EDIT)
    issue = access.related_or_abort(
        EnterpriseIssue, request.args.get("issue_id"), enterprise, Action.EDIT
    )
    form = DocumentForm()
    if form.validate_on_submit():
        upload_file = form.file.data
        outcome = save(
            lambda: attach_document(
                enterprise,
                actor=current_user,
                stream=upload_file.stream,
                filename=upload_file.filename,
                kind=form.kind.data,
                title=form.title.data,
                visit=visit,
                issue=issue,
                storage=get_storage(),
                allowed_extensions=current_app.config["UPLOAD_EXTENSIONS"],
                max_bytes=current_app.config["UPLOAD_MAX_BYTES"],
            ),
            form,
        )
        if outcome.saved:
            flash(_("Document %(name)s attached.", name=outcome.value.filename), "success")
            return back_to_file(enterprise.id)
    status = 422 if form.is_submitted() else 200
    action = url_for(
        "documents.upload",
        enterprise_id=enterprise.id,
        visit_id=visit.id if visit else None,
        issue_id=issue.id if issue else None,
    )
    return (
        render_template(
            "documents/upload.html",
            form=form,
            enterprise=enterprise,
            visit=visit,
            issue=issue,
            action=action,
            extensions=sorted(current_app.config["UPLOAD_EXTENSIONS"]),
            max_bytes=current_app.config["UPLOAD_MAX_BYTES"],
        ),
        status,
    )


@bp.route("/documents/<int:document_id>/download", methods=["GET"])
@login_required
def download(document_id):
    document = current_access().record_or_abort(Document, document_id, Action.READ)
    try:
        stream = get_storage().open(document.storage_key)
    except FileNotFoundError:
        current_app.logger.error(
            "document %s: file %s missing from storage", document.id, document.storage_key
        )
        abort(404)
    response = send_file(
        stream,
        mimetype=document.content_type,
        as_attachment=True,
        download_name=document.filename,
        etag=document.sha256,
        conditional=False,
    )
    response.content_length = document.size_bytes
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Documents carry personal and business data: no cache may keep them.
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/documents/<int:document_id>/delete", methods=["POST"])
@login_required
def delete(document_id):
    document = current_access().record_or_abort(Document, document_id, Action.EDIT)
    enterprise_id = document.enterprise_id
    if not DeleteForm().validate_on_submit():
        flash(_("The form has expired. Please reload the page and try again."), "danger")
        return back_to_file(enterprise_id)
    delete_document(document, actor=current_user)
    db.session.commit()
    flash(_("Document %(name)s deleted.", name=document.filename), "success")
    return back_to_file(enterprise_id)
