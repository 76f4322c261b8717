"""The columns each kind of import understands, and guessing them from the header.

Headers come in Chinese or English, with units in brackets (金额（万元）),
required-marks (*企业名称) and stray spaces; each is normalised and matched
first exactly, then by the longest known name it contains. Every field is
taken by one column at most; the user corrects the guess in the mapping step.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from crm.models import ImportKind


@dataclass(frozen=True)
class Field:
    key: str
    label: object  # lazy string
    parse: str  # how rows.py reads the cell: text, code, amount, int, year, day, month, yes_no, ...
    aliases: tuple[str, ...]
    required: bool = False


CODE = Field(
    "credit_code",
    _l("Unified social credit code"),
    "code",
    (
        "统一社会信用代码",
        "社会信用代码",
        "信用代码",
        "credit code",
        "unified social credit code",
        "uscc",
    ),
    required=True,
)
PLATFORM_NUMBER = Field(
    "platform_number",
    _l("City platform number"),
    "text",
    ("市平台项目编号", "平台项目编号", "项目编号", "平台编号", "platform number", "project number"),
)
INDUSTRY = Field("industry", _l("Industry"), "industry", ("所属行业", "行业", "产业", "industry"))
NOTES = ("备注", "说明", "notes", "note", "remarks")

FIELDS: dict[ImportKind, list[Field]] = {
    ImportKind.ENTERPRISES: [
        CODE,
        Field(
            "name",
            _l("Name"),
            "text",
            ("企业名称", "公司名称", "单位名称", "名称", "enterprise name", "company name", "name"),
            required=True,
        ),
        Field(
            "name_en", _l("English name"), "text", ("英文名称", "英文名", "english name", "name en")
        ),
        Field(
            "region",
            _l("Region"),
            "text",
            ("总部所在地", "所在地区", "地区", "区域", "region", "headquarters"),
        ),
        Field("address", _l("Address"), "text", ("注册地址", "详细地址", "地址", "address")),
        INDUSTRY,
        Field(
            "units", _l("Units"), "units", ("所属单位", "责任单位", "单位", "县区", "unit", "units")
        ),
        Field(
            "responsible",
            _l("Responsible"),
            "user",
            ("责任人邮箱", "责任人", "负责人", "responsible"),
        ),
        Field(
            "fortune_global_500_year",
            _l("Fortune Global 500"),
            "year",
            ("世界500强", "fortune global 500"),
        ),
        Field(
            "china_top_500_year", _l("China Top 500"), "year", ("中国企业500强", "china top 500")
        ),
        Field(
            "china_private_500_year",
            _l("China Private Top 500"),
            "year",
            ("中国民营企业500强", "民营企业500强", "民营500强", "china private top 500"),
        ),
        Field(
            "is_listed", _l("Listed company"), "yes_no", ("是否上市", "上市公司", "上市", "listed")
        ),
        Field(
            "is_foreign_invested",
            _l("Foreign-invested"),
            "yes_no",
            ("是否外资", "外资企业", "外资", "foreign-invested", "foreign invested"),
        ),
        Field(
            "is_settled",
            _l("Settled here"),
            "yes_no",
            ("是否落户", "落户企业", "已落户", "settled"),
        ),
        Field(
            "is_reinvesting", _l("Reinvesting"), "yes_no", ("是否再投资", "再投资", "reinvesting")
        ),
        Field("chamber", _l("Chamber of commerce"), "chamber", ("所属商会", "商会", "chamber")),
        Field(
            "description",
            _l("Description"),
            "paragraph",
            ("企业简介", "简介", "description", *NOTES),
        ),
    ],
    ImportKind.CONTACTS: [
        CODE,
        Field(
            "name",
            _l("Name"),
            "text",
            ("联系人姓名", "联系人", "姓名", "contact name", "contact", "name"),
            required=True,
        ),
        Field("title", _l("Title"), "text", ("职务", "职位", "title", "position")),
        Field(
            "phone",
            _l("Phone"),
            "text",
            ("联系电话", "手机号码", "手机号", "手机", "电话", "phone", "mobile", "telephone"),
        ),
        Field("email", _l("Email"), "text", ("电子邮箱", "邮箱", "email", "e-mail")),
        Field("wechat", _l("WeChat"), "text", ("微信号", "微信", "wechat")),
        Field(
            "is_main",
            _l("Main contact"),
            "yes_no",
            ("是否主要联系人", "主要联系人", "main contact"),
        ),
        Field("notes", _l("Notes"), "paragraph", NOTES),
    ],
    ImportKind.PROJECTS: [
        PLATFORM_NUMBER,
        CODE,
        Field(
            "name",
            _l("Project name"),
            "text",
            ("项目名称", "名称", "project name", "name"),
            required=True,
        ),
        Field("stage", _l("Stage"), "stage", ("项目阶段", "当前阶段", "阶段", "stage")),
        Field(
            "stage_on", _l("Stage date"), "day", ("阶段日期", "阶段开始日期", "stage date", "since")
        ),
        Field(
            "contract_amount_wan",
            _l("Contract amount"),
            "amount",
            ("协议投资额", "签约金额", "合同金额", "投资额", "contract amount"),
        ),
        Field(
            "county",
            _l("County / district"),
            "county",
            ("所在县区", "县区", "县(区)", "county", "district"),
        ),
        Field("park", _l("Park / new area"), "park", ("园区", "park")),
        Field(
            "task_force",
            _l("Industry task force"),
            "task_force",
            ("产业专班", "专班", "task force"),
        ),
        INDUSTRY,
        Field(
            "channel",
            _l("Attraction channel"),
            "channel",
            ("招商方式", "引进方式", "招商渠道", "channel"),
        ),
        Field(
            "is_out_of_province",
            _l("Investor from outside the province"),
            "yes_no",
            ("是否省外", "省外投资", "out of province"),
        ),
        Field(
            "is_reinvestment",
            _l("Reinvestment"),
            "yes_no",
            ("是否再投资", "再投资", "reinvestment"),
        ),
        Field("fdi_usd_wan", _l("FDI (万美元)"), "amount", ("外商直接投资", "外资金额", "fdi")),
        Field(
            "planned_start_on",
            _l("Planned start"),
            "day",
            ("计划开工日期", "计划开工", "planned start"),
        ),
        Field("description", _l("Description"), "paragraph", ("项目简介", "简介", "description")),
    ],
    ImportKind.FUNDS: [
        Field(
            "platform_number",
            _l("City platform number"),
            "text",
            PLATFORM_NUMBER.aliases,
            required=True,
        ),
        Field(
            "month", _l("Month"), "month", ("所属月份", "报告月份", "月份", "month"), required=True
        ),
        Field("source", _l("Source"), "source", ("资金来源", "来源", "source"), required=True),
        Field(
            "amount_wan",
            _l("Funds in place"),
            "amount",
            ("到位资金", "到位金额", "金额", "funds in place", "amount"),
            required=True,
        ),
        Field("note", _l("Note"), "paragraph", NOTES),
    ],
}

_BRACKETED = re.compile(r"\([^)]*\)|\[[^\]]*\]|【[^】]*】")
_NOISE = re.compile(r"[\s*:：_\-]+")


def normalise_header(text: str | None) -> str:
    value = unicodedata.normalize("NFKC", text or "").lower()
    stripped = _NOISE.sub("", _BRACKETED.sub("", value))
    # "县(区)" is all bracket-free meaning: keep the text when only brackets were left.
    return stripped or _NOISE.sub("", value)


def fields(kind: ImportKind | str) -> list[Field]:
    return FIELDS[ImportKind(kind)]


def field_map(kind: ImportKind | str) -> dict[str, Field]:
    return {f.key: f for f in fields(kind)}


def _match(header: str, kind_fields: list[Field]) -> list[tuple[int, Field]]:
    """Candidate fields for one header, best first (exact beats contained; longer beats shorter)."""
    found = []
    key = normalise_header(header)
    if not key:
        return found
    for f in kind_fields:
        for alias in f.aliases:
            alias_key = normalise_header(alias)
            if key == alias_key or key == normalise_header(alias.replace("(", "").replace(")", "")):
                found.append((1000, f))
            elif len(alias_key) >= 2 and alias_key in key:
                found.append((len(alias_key), f))
    return sorted(found, key=lambda pair: -pair[0])


def guess(kind: ImportKind | str, headers: list[str]) -> list[str | None]:
    """One field key (or None) per header; each field used once, the better match first."""
    kind_fields = fields(kind)
    candidates = []
    for index, header in enumerate(headers):
        for quality, f in _match(header, kind_fields):
            candidates.append((quality, index, f.key))
    candidates.sort(key=lambda c: (-c[0], c[1]))
    mapping: list[str | None] = [None] * len(headers)
    taken: set[str] = set()
    for _quality, index, key in candidates:
        if mapping[index] is None and key not in taken:
            mapping[index] = key
            taken.add(key)
    return mapping


def header_score(kind: ImportKind | str):
    """How header-like a row is for this kind: the number of its cells that name a field."""
    kind_fields = fields(kind)

    def score(row: list[str]) -> int:
        return sum(1 for cell in row if _match(cell, kind_fields))

    return score


def missing_required(kind: ImportKind | str, mapping: list[str | None]) -> list[Field]:
    return [f for f in fields(kind) if f.required and f.key not in mapping]


def clean_mapping(kind: ImportKind | str, mapping: list[str | None]) -> list[str | None]:
    """Unknown keys become None; a field chosen twice keeps its first column."""
    known = field_map(kind)
    seen: set[str] = set()
    cleaned: list[str | None] = []
    for key in mapping:
        if key in known and key not in seen:
            seen.add(key)
            cleaned.append(key)
        else:
            cleaned.append(None)
    return cleaned
