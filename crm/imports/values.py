"""Turning cells into values: text, amounts in 万元, dates, months, yes/no.

Each parser returns the value or raises ``BadValue`` (the reason is added by
the caller, which knows the column). Cells come as Excel gives them (numbers,
dates, text) or as CSV text; people type full-width digits with a Chinese input
method, thousands separators, and dates in several ways.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation


class BadValue(ValueError):
    pass


# Excel's day 0 for the 1900 date system (it counts 1900-02-29, which did not exist).
EXCEL_EPOCH = date(1899, 12, 30)
# Serial numbers of 1954-10-... to 2091-...: plausible dates in a bureau's sheet.
SERIAL_RANGE = (20000, 70000)

_DATE_PATTERNS = [
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]
_MONTH_PATTERNS = [
    re.compile(r"^(\d{4})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月?$"),
    re.compile(r"^(\d{4})(\d{2})$"),
]
_TIME_SUFFIX = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
_AMOUNT_NOISE = re.compile(r"[,\s]|万元$|万$")

YES = {"是", "有", "y", "yes", "true", "1", "√", "✓", "✔", "对"}
NO = {"否", "无", "n", "no", "false", "0", "×", "✗", "不是", ""}


def normal(value) -> str:
    """Cell text as people mean it: NFKC (full-width → ASCII), spaces folded."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 13800138000.0 from a number cell is 13800138000
    return " ".join(unicodedata.normalize("NFKC", str(value)).split())


def text(value) -> str | None:
    return normal(value) or None


def paragraph(value) -> str | None:
    """Longer text (descriptions, notes): like ``text`` line by line, keeping the
    line breaks people typed in the cell (the web forms keep them too)."""
    if value is None:
        return None
    lines = [normal(line) for line in str(value).splitlines()]
    return "\n".join(lines).strip() or None


def amount(value) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadValue(value)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # Through repr: 1234.5 stays 1234.5, not its binary expansion.
        return Decimal(repr(value))
    cleaned = _AMOUNT_NOISE.sub("", normal(value).replace("，", ","))
    if not cleaned:
        return None
    try:
        result = Decimal(cleaned)
    except InvalidOperation:
        raise BadValue(value) from None
    if not result.is_finite():
        raise BadValue(value)
    return result


def integer(value) -> int | None:
    number = amount(value)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise BadValue(value)
    return int(number)


def _from_serial(number: float) -> date:
    if not SERIAL_RANGE[0] <= number <= SERIAL_RANGE[1]:
        raise BadValue(number)
    return EXCEL_EPOCH + timedelta(days=int(number))


def day(value) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise BadValue(value)
    if isinstance(value, int | float):
        return _from_serial(value)
    cleaned = _TIME_SUFFIX.sub("", normal(value))
    if not cleaned:
        return None
    for pattern in _DATE_PATTERNS:
        if match := pattern.match(cleaned):
            try:
                return date(*(int(part) for part in match.groups()))
            except ValueError:
                raise BadValue(value) from None
    try:  # a serial number saved as text
        return _from_serial(float(cleaned))
    except ValueError:
        raise BadValue(value) from None


def month(value) -> date | None:
    """The first day of the month named: a date, 2026-03, 2026年3月, 202603."""
    if isinstance(value, str):
        cleaned = normal(value)
        for pattern in _MONTH_PATTERNS:
            if match := pattern.match(cleaned):
                try:
                    return date(int(match.group(1)), int(match.group(2)), 1)
                except ValueError:
                    raise BadValue(value) from None
    found = day(value)
    return found.replace(day=1) if found else None


def yes_no(value) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    key = normal(value).lower()
    if key in YES:
        return True
    if key in NO:
        return False if key else None
    raise BadValue(value)
