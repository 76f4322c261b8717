"""Admin pages for mail: the delivery log (with resend) and the outbox folder."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm import labels
from crm.access import admin_area_gate
from crm.exports import lists as export_lists
from crm.extensions import db
from crm.models import Reminder, ReminderStatus
from crm.reminders import services
from crm.visits.forms import ActionForm
from crm.web import save

bp = Blueprint("mail_admin", __name__, url_prefix="/admin/mail")


bp.before_request(admin_area_gate)


def _status() -> ReminderStatus | None:
    raw = request.args.get("status") or None
    return ReminderStatus(raw) if raw in {s.value for s in ReminderStatus} else None


@bp.route("/deliveries")
def deliveries():
    status = _status()
    page = db.paginate(
        services.deliveries_query(status),
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    return render_template(
        "mail_admin/deliveries.html",
        page=page,
        status=status,
        statuses=labels.REMINDER_STATUS,
        resend_form=ActionForm(),
    )


@bp.route("/deliveries/export.xlsx")
def deliveries_export():
    return export_lists.deliveries(services.deliveries_query(_status()))


@bp.route("/deliveries/<int:reminder_id>/resend", methods=["POST"])
def resend(reminder_id: int):
    reminder = db.session.get(Reminder, reminder_id)
    if reminder is None:
        abort(404)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    if save(lambda: services.resend(reminder), form).saved:
        flash(_("The message will be sent again within a minute."), "success")
    return redirect(url_for("mail_admin.deliveries", status=ReminderStatus.FAILED.value))


@bp.route("/outbox")
def outbox():
    folder = Path(current_app.config["MAIL_OUTBOX"])
    return render_template(
        "mail_admin/outbox.html",
        messages=services.outbox_messages(folder),
        smtp=bool(current_app.config.get("MAIL_SERVER")),
        folder=folder,
    )
