"""The monthly report (月通报) mailed to managers and leaders when it is published.

One reminder row per recipient, scheduled in the publishing transaction (a
rolled-back publish mails nothing) and due at once; the sweep sends it like any
reminder, never held for a digest (planner.NEVER_HELD). Rendered in each
recipient's language from the frozen rows: the month, the top of each ranking
(rank, unit, overall completion) and links to the page and the spreadsheet.
"""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from crm.extensions import db
from crm.formatting import datetime_text, percent
from crm.models import MonthlyReport, Role, User
from crm.models.base import utcnow
from crm.projects.figures import RANKED_KINDS, Figures, Period
from crm.reminders import compose, delivery

KIND = "report.published"
SUBJECT_TYPE = "report"
TOP = 5  # units of each ranking shown in the mail; the rest is one click away


def recipients() -> list[User]:
    return list(
        db.session.execute(
            select(User)
            .where(User.active.is_(True), User.role.in_((Role.MANAGER, Role.LEADER)))
            .order_by(User.id)
        ).scalars()
    )


def _tables(report: MonthlyReport) -> list[dict]:
    from crm.reports.services import KIND_TITLE, UNRANKED

    tables = []
    for kind in RANKED_KINDS:
        rows = sorted(
            (r for r in report.rows if r.unit_kind == kind.value and r.rank != UNRANKED),
            key=lambda r: (r.rank, r.id),
        )[:TOP]
        tables.append(
            {
                "title": str(KIND_TITLE[kind]),
                "rows": [
                    {
                        "rank": row.rank,
                        "unit": row.unit_name,
                        "completion": percent(Figures.from_dict(row.figures).score),
                    }
                    for row in rows
                ],
            }
        )
    return tables


def render(report: MonthlyReport, recipient: User) -> tuple[str, str, str]:
    """(subject, text, html) of the report's mail for ``recipient``, in their language."""
    from crm.reports.services import month_title

    period = Period(report.year, report.month)
    with force_locale(recipient.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        month = month_title(period)
        context = {
            "recipient": recipient,
            "month": month,
            "published": datetime_text(report.published_at),
            "publisher": report.published_by.name if report.published_by else None,
            "note": report.note,
            "tables": _tables(report),
            "url": compose.external_url("reports.month", year=report.year, month=report.month),
            "xlsx_url": compose.external_url("reports.xlsx", year=report.year, month=report.month),
            "preferences_url": compose.external_url("account.reminder_preferences"),
        }
        subject = _("Monthly report published: %(month)s", month=month)[:300]
        text = render_template("mail/report.txt", **context)
        html = render_template("mail/report.html", **context)
    return subject, text, html


def schedule_report(report: MonthlyReport) -> int:
    """One mail per active manager and leader, due now (the caller commits); how many added."""
    now = utcnow()
    added = 0
    for user in recipients():
        subject, text, html = render(report, user)
        added += delivery.schedule(
            kind=KIND,
            recipient=user,
            subject_type=SUBJECT_TYPE,
            subject_id=report.id,
            due_at=now,
            dedupe_key=f"report:{report.id}:u{user.id}",
            subject=subject,
            body=text,
            body_html=html,
        )
    return added
