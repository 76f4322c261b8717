"""One row's cells read into field values, with a reason for every cell that cannot be read.

The reason names the column as the sheet names it; ``rows.py`` then decides,
with the database, what the row will do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _

from crm import labels
from crm.enterprises.services import clean_credit_code
from crm.errors import ServiceError
from crm.imports import values
from crm.imports.lookups import References, key
from crm.imports.mapping import Field
from crm.models import AttractionChannel, FundsSource, ProjectStage, UnitKind
from crm.projects.services import check_amount

YEAR_RANGE = (1990, 2100)
_LIST_SPLIT = re.compile(r"[,，、;；/|\n]+")
_UNIT_KINDS = {"county": UnitKind.COUNTY, "park": UnitKind.PARK, "task_force": UnitKind.TASK_FORCE}

# Words bureaus write in their sheets besides the labels the app shows.
_ENUM_WORDS = {
    "stage": {
        "储备": ProjectStage.RESERVE,
        "在谈": ProjectStage.NEGOTIATION,
        "洽谈": ProjectStage.NEGOTIATION,
        "签约": ProjectStage.SIGNED,
        "已签约": ProjectStage.SIGNED,
        "落地": ProjectStage.LANDED,
        "开工": ProjectStage.STARTED,
        "已开工": ProjectStage.STARTED,
        "投产": ProjectStage.PRODUCING,
        "竣工投产": ProjectStage.PRODUCING,
        "达效": ProjectStage.REACHED_TARGET,
        "终止": ProjectStage.TERMINATED,
    },
    "source": {
        "省外": FundsSource.OUTSIDE_PROVINCE,
        "市外": FundsSource.OUTSIDE_CITY,
        "市外省内": FundsSource.OUTSIDE_CITY,
        "省内市外": FundsSource.OUTSIDE_CITY,
        "市内": FundsSource.WITHIN_CITY,
    },
    "channel": {
        "产业链招商": AttractionChannel.INDUSTRY_CHAIN,
        "基金招商": AttractionChannel.FUND,
        "敲门招商": AttractionChannel.DOOR_KNOCKING,
        "商会招商": AttractionChannel.CHAMBER,
        "领导带队": AttractionChannel.LEADER_LED,
        "驻外分局": AttractionChannel.OUTBOUND_OFFICE,
    },
}
_ENUM_LABELS = {
    "stage": labels.PROJECT_STAGE,
    "source": labels.FUNDS_SOURCE,
    "channel": labels.ATTRACTION_CHANNEL,
}
_enum_tables: dict[str, dict[str, Any]] = {}


def _enum_table(kind: str) -> dict[str, Any]:
    """Cell text → enum member: stored values, both languages' labels and the usual words."""
    if kind not in _enum_tables:
        table = {key(k): v for k, v in _ENUM_WORDS[kind].items()}
        for member, label in _ENUM_LABELS[kind].items():
            table[key(member.value)] = member
            for locale in ("zh_CN", "en"):
                with force_locale(locale):
                    table[key(str(label))] = member
        _enum_tables[kind] = table
    return _enum_tables[kind]


@dataclass
class Row:
    number: int
    values: dict[str, Any] = field(default_factory=dict)  # field key → value (None: blank)
    reasons: list[tuple[str, str]] = field(default_factory=list)  # (column, message)

    def refuse(self, column: str, message: str) -> None:
        self.reasons.append((column, message))


class CellReader:
    """Reads the mapped cells of rows; ``columns`` names each field's column as in the sheet."""

    def __init__(
        self, fields: list[Field], mapping: list[str | None], headers: list[str], refs: References
    ):
        by_key = {f.key: f for f in fields}
        self.refs = refs
        self.fields = by_key
        self.columns = {f.key: str(f.label) for f in fields}
        self.mapped: list[tuple[int, Field]] = []
        for index, field_key in enumerate(mapping):
            if field_key in by_key:
                self.mapped.append((index, by_key[field_key]))
                self.columns[field_key] = (
                    headers[index]
                    if index < len(headers) and headers[index]
                    else str(by_key[field_key].label)
                )
        self.required = [f for f in fields if f.required]

    def column(self, field_key: str | None) -> str:
        return self.columns.get(field_key or "", "") if field_key else ""

    def read(self, number: int, cells: tuple) -> Row:
        row = Row(number)
        for index, f in self.mapped:
            cell = cells[index] if index < len(cells) else None
            try:
                row.values[f.key] = self._parse(f, cell, row)
            except values.BadValue:
                row.refuse(self.columns[f.key], self._bad_value_message(f, cell))
                row.values[f.key] = None
            except ServiceError as error:
                row.refuse(self.columns[f.key], str(error.message))
                row.values[f.key] = None
        for f in self.required:
            if row.values.get(f.key) is None and not any(
                c == self.columns[f.key] for c, _m in row.reasons
            ):
                row.refuse(self.columns[f.key], _("Required value missing."))
        return row

    @staticmethod
    def _bad_value_message(f: Field, cell) -> str:
        shown = values.normal(cell)
        if f.parse == "amount":
            return _("Not a number: %(value)s", value=shown)
        if f.parse == "day":
            return _("Not a date: %(value)s", value=shown)
        if f.parse == "month":
            return _("Not a month: %(value)s", value=shown)
        if f.parse == "yes_no":
            return _("Not yes or no: %(value)s", value=shown)
        if f.parse == "year":
            return _("Enter a list year between 1990 and 2100.")
        return _("Unknown value: %(value)s", value=shown)

    def _parse(self, f: Field, cell, row: Row):
        kind = f.parse
        if kind == "text":
            return values.text(cell)
        if kind == "paragraph":
            return values.paragraph(cell)
        if kind == "code":
            text = values.text(cell)
            return clean_credit_code(text) if text else None
        if kind == "amount":
            number = values.amount(cell)
            if number is not None:
                # The projects' rule for amounts (4 decimals, not negative, not absurd).
                check_amount(number, f.key)
            return number
        if kind == "year":
            year = values.integer(cell)
            if year is not None and year != 0 and not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
                raise values.BadValue(cell)
            return year or None
        if kind == "day":
            return values.day(cell)
        if kind == "month":
            return values.month(cell)
        if kind == "yes_no":
            return values.yes_no(cell)
        text = values.text(cell)
        if text is None:
            return None
        if kind == "units":
            return self._units(text, f, row)
        if kind in _UNIT_KINDS:
            return self._unit(text, _UNIT_KINDS[kind], f, row)
        if kind == "industry":
            return self._known(self.refs.industries, text)
        if kind == "chamber":
            return self._known(self.refs.chambers, text)
        if kind == "user":
            user = self.refs.user(text)
            if user is None:
                raise values.BadValue(cell)
            return user
        if kind in _ENUM_WORDS:
            member = _enum_table(kind).get(key(text))
            if member is None:
                raise values.BadValue(cell)
            return member
        raise ValueError(f"unknown parse kind {kind}")

    @staticmethod
    def _known(table: dict, text: str):
        found = table.get(key(text))
        if found is None:
            raise values.BadValue(text)
        return found

    def _unit(self, name: str, kind, f: Field, row: Row):
        unit, problem = self.refs.unit(name, kind)
        if problem is None:
            return unit
        column = self.columns[f.key]
        if problem == "scope":
            row.refuse(column, _("%(name)s is outside your units.", name=name))
        elif problem == "ambiguous":
            row.refuse(column, _("More than one unit is called %(name)s.", name=name))
        else:
            row.refuse(column, _("Unknown unit: %(name)s", name=name))
        return None

    def _units(self, text: str, f: Field, row: Row):
        found = []
        for name in _LIST_SPLIT.split(text):
            if name.strip():
                unit = self._unit(name.strip(), None, f, row)
                if unit is not None:
                    found.append(unit)
        return found or None
