"""Sign in, sign out, language."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from crm.auth.forms import LanguageForm, LoginForm, LogoutForm
from crm.auth.services import LoginThrottled, authenticate
from crm.extensions import db

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str | None:
    """Only a path on our own host may be a redirect target after sign-in."""
    if not target:
        return None
    host = urlsplit(request.host_url)
    test = urlsplit(urljoin(request.host_url, target))
    if (
        test.scheme in ("http", "https")
        and test.netloc == host.netloc
        and not target.startswith("//")
    ):
        return test.path + (f"?{test.query}" if test.query else "")
    return None


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            user = authenticate(
                form.email.data, form.password.data, request.remote_addr, current_app.config
            )
        except LoginThrottled as exc:
            db.session.commit()
            flash(str(exc.message), "danger")
            return render_template("auth/login.html", form=form), 429
        db.session.commit()
        if user is None:
            flash(_("Wrong email or password."), "danger")
            return render_template("auth/login.html", form=form), 200
        locale = session.get("locale")
        session.clear()  # a fresh session: nothing planted before sign-in survives it
        login_user(user, remember=form.remember.data)
        if locale:
            session["locale"] = locale
        return redirect(safe_next(form.next.data) or url_for("home.index"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    form = LogoutForm()
    if form.validate_on_submit():
        logout_user()
        session.clear()
        flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
def language():
    form = LanguageForm()
    if form.validate_on_submit():
        session["locale"] = form.locale.data
        if current_user.is_authenticated:
            current_user.locale = form.locale.data
            db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("home.index"))
