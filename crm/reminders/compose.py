"""Reminder mails: subject, plain text and HTML, in the recipient's language, with a link.

Rendered when the reminder is planned (a reminder's text is what the delivery
log shows), with ``force_locale`` set to the recipient's language. Links are
absolute, built from EXTERNAL_URL: a mail is read outside the request that
planned it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from crm.clock import local_zone
from crm.formatting import date_text, datetime_text

# The sentence that opens a mail, by occasion (the part of the kind after the dot).
INTROS = {
    "before": _l("A reminder: this is due soon."),
    "due": _l("This is due now."),
    "escalation": _l("This is overdue and has been escalated to you (level %(level)s)."),
    "reopened": _l(
        "The enterprise was not satisfied with the solution: the issue is reopened "
        "and escalated to you (level %(level)s)."
    ),
}
SUBJECTS = {
    "before": _l("Due %(when)s: %(title)s"),
    "due": _l("Due now: %(title)s"),
    "escalation": _l("Overdue (escalated, level %(level)s): %(title)s"),
    "reopened": _l("Reopened and escalated (level %(level)s): %(title)s"),
}


def external_url(endpoint: str, **values) -> str:
    """An absolute link into the service, as the reader of a mail must open it."""
    base = urlsplit(current_app.config["EXTERNAL_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https"
    )
    anchor = values.pop("_anchor", None)
    url = adapter.build(endpoint, values, force_external=True)
    return f"{url}#{anchor}" if anchor else url


def when_text(moment, dated: bool) -> str:
    return date_text(moment.astimezone(local_zone())) if dated else datetime_text(moment)


def render(want, describe, *, intro=None, subject=None, extra: dict | None = None):
    """(subject, text, html) of one reminder for ``want.recipient``.

    ``describe()`` is called inside the recipient's language, so the labels it
    puts in the mail (a category, a status) are in that language too.
    """
    occasion = want.kind.rpartition(".")[2]
    with force_locale(want.recipient.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        described = describe()
        when = when_text(want.occasion_at, described.dated) if want.occasion_at else ""
        params = {"title": described.title, "when": when, "level": want.level or ""}
        context = {
            "recipient": want.recipient,
            "what": str(described.what),
            "title": described.title,
            "enterprise": described.enterprise_name,
            "when": when,
            "intro": str(intro if intro is not None else INTROS.get(occasion, "")) % params,
            "lines": [(str(label), str(value)) for label, value in described.lines],
            "url": external_url(described.endpoint, **described.args),
            "preferences_url": external_url("account.reminder_preferences"),
            **(extra or {}),
        }
        subject_line = str(subject if subject is not None else SUBJECTS.get(occasion, "%(title)s"))
        subject_line = (subject_line % params)[:300]
        text = render_template("mail/reminder.txt", **context)
        html = render_template("mail/reminder.html", **context)
    return subject_line, text, html
