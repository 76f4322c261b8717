"""The public opportunity list (机遇清单): no sign-in, read only, bilingual.

Flask-Babel translates into one language per request; this page shows every
label in Chinese and English side by side, so each text is rendered twice with
``force_locale``. Every string is still a gettext message (``_l`` below).
The pages touch no session (no CSRF token, no menu): an anonymous visitor gets
no cookie.
"""

from __future__ import annotations

from typing import NamedTuple

from flask import Blueprint, current_app, render_template, request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from crm import labels
from crm.extensions import db
from crm.formatting import amount_wan
from crm.opportunities import services

bp = Blueprint("opportunities", __name__)

CHINESE, ENGLISH = "zh_CN", "en"

# Every text of the pages, as messages.
TEXT = {
    "title": _l("Investment opportunities"),
    "intro": _l(
        "Projects open for investment, published by the investment promotion bureau. "
        "Figures are indicative."
    ),
    "industry": labels.FIELD["industry"],
    "county": labels.FIELD["county"],
    "park": labels.FIELD["park"],
    "contract_amount": _l("Investment size"),
    "description": labels.FIELD["description"],
    "any_industry": _l("Any industry"),
    "any_county": _l("Any county / district"),
    "filter": _l("Filter"),
    "none": _l("No opportunities match."),
    "back": _l("Back to the opportunity list"),
    "details": _l("Details"),
    "contact": _l("To learn more about a project, contact the investment promotion bureau."),
}


class Both(NamedTuple):
    """One text in Chinese and in English."""

    zh: str
    en: str


def _in_both(render) -> Both:
    with force_locale(CHINESE):
        zh = render()
    with force_locale(ENGLISH):
        en = render()
    return Both(zh, en)


def both(message) -> Both:
    """The Chinese and English text of a (lazy) message."""
    return _in_both(lambda: str(message))


def both_amount(value) -> Both:
    """An amount in 万元 as written in each language (亿元 from 1 亿 up)."""
    return _in_both(lambda: amount_wan(value))


def _named(record) -> Both:
    """A unit or industry by its Chinese and English names."""
    return Both(record.name, record.name_en or record.name)


def _texts() -> dict[str, Both]:
    return {key: both(message) for key, message in TEXT.items()}


def _chosen(raw: str | None, options: list) -> int | None:
    """A filter value, kept only when it is one of the public options."""
    if raw is None or not raw.isdigit():
        return None
    value = int(raw)
    return value if any(option.id == value for option in options) else None


@bp.route("/opportunities", methods=["GET"])
def index():
    industries = services.public_industries()
    counties = services.public_counties()
    industry_id = _chosen(request.args.get("industry"), industries)
    county_id = _chosen(request.args.get("county"), counties)
    page = db.paginate(
        services.opportunities(industry_id, county_id),
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    return render_template(
        "opportunities/index.html",
        t=_texts(),
        page=page,
        industries=[(i.id, _named(i)) for i in industries],
        counties=[(c.id, _named(c)) for c in counties],
        industry_id=industry_id,
        county_id=county_id,
        shown_fields=services.shown_fields,
        named=_named,
        amount=both_amount,
    )


@bp.route("/opportunities/<int:project_id>", methods=["GET"])
def detail(project_id):
    project = services.opportunity_or_404(project_id)
    return render_template(
        "opportunities/detail.html",
        t=_texts(),
        project=project,
        fields=services.shown_fields(project),
        named=_named,
        amount=both_amount,
    )
