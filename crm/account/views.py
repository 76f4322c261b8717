"""The signed-in user's own settings."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.account.forms import ReminderPreferencesForm
from crm.account.services import save_reminder_preferences
from crm.web import submit

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.route("/reminders", methods=["GET", "POST"])
@login_required
def reminder_preferences():
    user = current_user._get_current_object()
    form = ReminderPreferencesForm(obj=user)
    outcome = submit(
        form,
        lambda: save_reminder_preferences(
            user,
            version=form.version.data,
            remind_before_minutes=form.remind_before_minutes.data,
            reminder_digest=form.reminder_digest.data,
            digest_hour=form.digest_hour.data,
        ),
    )
    if outcome.saved:
        flash(_("Your reminder preferences are saved."), "success")
        return redirect(url_for("account.reminder_preferences"))
    return render_template("account/reminders.html", form=form), outcome.status
