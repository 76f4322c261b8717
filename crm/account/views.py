"""The signed-in user's own settings."""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.account.forms import ApiTokenForm, ReminderPreferencesForm, RevokeApiTokenForm
from crm.account.services import save_reminder_preferences
from crm.api import tokens
from crm.extensions import db
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


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def api_tokens():
    """The user's personal API tokens; a new token's secret is shown in this answer only."""
    user = current_user._get_current_object()
    form = ApiTokenForm()
    outcome = submit(form, lambda: tokens.create_token(user, form.name.data), invalid_status=422)
    new_token = secret = None
    if outcome.saved:
        # Rendered into this response, never redirected to or flashed: the
        # session cookie is signed, not encrypted, and would carry it in clear.
        new_token, secret = outcome.value
        form = ApiTokenForm(formdata=None)
    response = make_response(
        render_template(
            "account/tokens.html",
            form=form,
            tokens=tokens.tokens_of(user),
            secret=secret,
            new_token=new_token,
        ),
        outcome.status or 200,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/tokens/revoke", methods=["POST"])
@login_required
def revoke_api_token():
    form = RevokeApiTokenForm()
    if not form.validate_on_submit():
        abort(400)
    token = tokens.own_token(current_user._get_current_object(), form.token_id.data)
    if token is None:
        abort(404)  # someone else's token: not revealed, as for records outside one's units
    tokens.revoke_token(token)
    db.session.commit()
    flash(_("The token %(name)s is revoked.", name=token.name), "success")
    return redirect(url_for("account.api_tokens"))
