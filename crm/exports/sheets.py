"""The columns of each exported list: what the page shows, and the fields behind it.

Headers are lazy gettext strings, mostly the field names the file already uses
(``labels.FIELD``), so a sheet reads like the forms and the file. Amount headers
carry their unit (万元); enum values go through ``crm.labels``.
"""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from crm import labels
from crm.exports.xlsx_stream import Column, language
from crm.labels import FIELD

SEPARATORS = {"zh": "、", "en": ", "}


def joined(parts) -> str:
    """A list in one cell: 甲、乙 in Chinese, "a, b" in English."""
    return SEPARATORS[language()].join(str(p) for p in parts if p)


_TAG_LABELS: dict[str, dict[str, str]] = {}


def _tag_labels() -> dict[str, str]:
    """The tags' labels in the workbook's language, translated once, not once per row."""
    lang = language()
    if lang not in _TAG_LABELS:
        with force_locale("zh_CN" if lang == "zh" else "en"):
            _TAG_LABELS[lang] = {key: str(text) for key, text in labels.TAG.items()}
    return _TAG_LABELS[lang]


def _name(obj) -> str | None:
    return obj.name if obj is not None else None


def _yes(value: bool) -> str:
    return str(_l("Yes")) if value else ""


ID = Column(_l("ID"), lambda r: r.id, "int", 8)
# The enterprise column of the lists; the dossier, all about one enterprise, leaves it out.
ENTERPRISE_HEADER = _l("Enterprise")


# -- enterprises ---------------------------------------------------------------------


# The ranking tags: those with a list year, then the yes/no ones (Enterprise.tags' order).
TAG_YEARS = {
    "fortune_global_500": "fortune_global_500_year",
    "china_top_500": "china_top_500_year",
    "china_private_500": "china_private_500_year",
}
TAG_FLAGS = ("is_listed", "is_foreign_invested", "is_settled", "is_reinvesting")


def tag_text(enterprise) -> str:
    """The tags with their list years; reads an Enterprise or a row with the same columns."""
    names = _tag_labels()
    parts = []
    for key, attribute in TAG_YEARS.items():
        year = getattr(enterprise, attribute)
        if year:
            parts.append(f"{names[key]} {year}")
    parts.extend(names[key] for key in TAG_FLAGS if getattr(enterprise, key))
    return joined(parts)


# A register row is (columns, unit names): see crm.exports.lists.enterprises.
ENTERPRISE_COLUMNS = [
    Column(_l("ID"), lambda line: line[0].id, "int", 8),
    Column(FIELD["name"], lambda line: line[0].name, width=30),
    Column(FIELD["name_en"], lambda line: line[0].name_en, width=30),
    Column(FIELD["credit_code"], lambda line: line[0].credit_code, width=21),
    Column(_l("Tags"), lambda line: tag_text(line[0]), width=24),
    Column(FIELD["units"], lambda line: joined(line[1]), width=24),
    Column(FIELD["responsible"], lambda line: line[0].responsible_name, width=12),
    Column(FIELD["industry"], lambda line: line[0].industry_name, width=16),
    Column(FIELD["region"], lambda line: line[0].region, width=14),
    Column(FIELD["chamber"], lambda line: line[0].chamber_name, width=16),
    Column(FIELD["address"], lambda line: line[0].address, width=30),
    Column(_l("Last activity"), lambda line: line[0].last_activity_at, "datetime", 18),
    Column(_l("Created"), lambda line: line[0].created_at, "date", 14),
]


# -- projects ------------------------------------------------------------------------

PROJECT_COLUMNS = [
    ID,
    Column(_l("Project"), lambda p: p.name, width=30),
    Column(ENTERPRISE_HEADER, lambda p: p.enterprise.name, width=30),
    Column(FIELD["stage"], lambda p: labels.label(p.stage), width=14),
    Column(FIELD["contract_amount_wan"], lambda p: p.contract_amount_wan, "amount", 16),
    Column(FIELD["fdi_usd_wan"], lambda p: p.fdi_usd_wan, "amount", 14),
    Column(FIELD["county"], lambda p: _name(p.county), width=14),
    Column(FIELD["park"], lambda p: _name(p.park), width=14),
    Column(FIELD["task_force"], lambda p: _name(p.task_force), width=16),
    Column(FIELD["industry"], lambda p: _name(p.industry), width=16),
    Column(FIELD["channel"], lambda p: labels.label(p.channel), width=16),
    Column(FIELD["platform_number"], lambda p: p.platform_number, width=18),
    Column(_l("Signed"), lambda p: p.signed_on, "date", 14),
    Column(_l("Landed"), lambda p: p.landed_on, "date", 14),
    Column(_l("Construction started"), lambda p: p.started_on, "date", 14),
    Column(FIELD["is_out_of_province"], lambda p: _yes(p.is_out_of_province), width=10),
    Column(FIELD["committed_investment_wan"], lambda p: p.committed_investment_wan, "amount", 16),
]


# -- enterprise issues ---------------------------------------------------------------

ISSUE_COLUMNS = [
    ID,
    Column(FIELD["due_date"], lambda i: i.due_date, "date", 14),
    Column(FIELD["title"], lambda i: i.title, width=30),
    Column(ENTERPRISE_HEADER, lambda i: i.enterprise.name, width=30),
    Column(FIELD["category"], lambda i: labels.label(i.category), width=14),
    Column(FIELD["status"], lambda i: labels.label(i.status), width=12),
    Column(_l("Step deadline"), lambda i: i.step_due_at, "datetime", 18),
    Column(FIELD["assignee"], lambda i: _name(i.assignee), width=12),
    Column(_l("Responsible unit"), lambda i: _name(i.unit), width=16),
    Column(_l("Satisfaction"), lambda i: i.satisfaction, "int", 10),
    Column(_l("Created"), lambda i: i.created_at, "date", 14),
    Column(FIELD["description"], lambda i: i.description, "long_text", 40),
]


# -- follow-ups ----------------------------------------------------------------------

FOLLOW_UP_COLUMNS = [
    ID,
    Column(FIELD["due_date"], lambda f: f.due_date, "date", 14),
    Column(_l("Next step"), lambda f: f.title, width=36),
    Column(ENTERPRISE_HEADER, lambda f: f.enterprise.name, width=30),
    Column(FIELD["owner"], lambda f: _name(f.owner), width=12),
    Column(FIELD["status"], lambda f: labels.label(f.status), width=10),
    Column(_l("Done"), lambda f: f.done_at, "datetime", 18),
]


# -- supervision ---------------------------------------------------------------------

SUPERVISION_COLUMNS = [
    ID,
    Column(FIELD["due_date"], lambda s: s.due_date, "date", 14),
    Column(FIELD["title"], lambda s: s.title, width=30),
    Column(ENTERPRISE_HEADER, lambda s: s.enterprise.name, width=30),
    Column(FIELD["status"], lambda s: labels.label(s.status), width=10),
    Column(_l("Responsible unit"), lambda s: _name(s.unit), width=16),
    Column(FIELD["owner"], lambda s: _name(s.owner), width=12),
    Column(FIELD["target_stage"], lambda s: labels.label(s.target_stage), width=14),
    Column(_l("Project"), lambda s: _name(s.project), width=24),
    Column(FIELD["issue"], lambda s: s.issue.title if s.issue else None, width=24),
    Column(FIELD["note"], lambda s: s.note, "long_text", 30),
]


# -- admin lists ---------------------------------------------------------------------

USER_COLUMNS = [
    ID,
    Column(_l("Full name"), lambda u: u.name, width=14),
    Column(FIELD["email"], lambda u: u.email, width=28),
    Column(_l("Role"), lambda u: labels.label(u.role), width=12),
    Column(FIELD["units"], lambda u: joined(unit.name for unit in u.units), width=24),
    Column(FIELD["phone"], lambda u: u.phone, width=14),
    Column(_l("Active"), lambda u: _yes(u.active), width=8),
    Column(_l("Created"), lambda u: u.created_at, "date", 14),
]

TRASH_COLUMNS = [
    Column(_l("Type"), lambda t: t.kind_label, width=14),
    Column(_l("ID"), lambda t: t.id, "int", 8),
    Column(_l("Record"), lambda t: t.title, width=30),
    Column(ENTERPRISE_HEADER, lambda t: t.enterprise.name, width=30),
    Column(_l("Deleted"), lambda t: t.deleted_at, "datetime", 18),
    Column(_l("Deleted by"), lambda t: _name(t.deleted_by), width=12),
]

DELIVERY_COLUMNS = [
    ID,
    Column(_l("Due"), lambda r: r.due_at, "datetime", 18),
    Column(_l("To"), lambda r: _name(r.recipient), width=12),
    Column(_l("Subject"), lambda r: r.subject, width=40),
    Column(FIELD["status"], lambda r: labels.label(r.status), width=14),
    Column(_l("Attempts"), lambda r: r.attempts, "int", 9),
    Column(_l("Sent"), lambda r: r.sent_at, "datetime", 18),
    Column(_l("Server's answer"), lambda r: r.last_error, "long_text", 40),
]
