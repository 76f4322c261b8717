"""Jinja filters: dates as people in a Chinese bureau write them, amounts in 万元/亿元."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from flask import Flask
from flask_babel import format_date, format_datetime, get_locale, gettext

from crm import labels
from crm.clock import local_date


def _is_chinese() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "zh"


def date_text(value: date | str | None) -> str:
    """2026年11月26日 in Chinese, 26 Nov 2026 in English."""
    if not value:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        # A moment (stored in UTC) falls on the bureau's local day, not on UTC's.
        value = local_date(value)
    if _is_chinese():
        return f"{value.year}年{value.month}月{value.day}日"
    return format_date(value, "d MMM y")


def datetime_text(value: datetime | str | None) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if _is_chinese():
        return format_datetime(value, "y年M月d日 HH:mm")
    return format_datetime(value, "d MMM y HH:mm")


def amount_wan(value: Decimal | int | str | None) -> str:
    """An amount held in 万元, shown in 亿元 from 1 亿 up (1 亿元 = 10,000 万元)."""
    if value is None or value == "":
        return "—"
    value = Decimal(str(value))
    if abs(value) >= 10000:
        return gettext(
            "%(amount)s hundred million yuan", amount=f"{(value / 10000).normalize():,f}"
        )
    return gettext("%(amount)s ten thousand yuan", amount=f"{value.normalize():,f}")


def percent(value: Decimal | str | None, places: int = 1) -> str:
    """A rate as a percentage (0.7 -> 70.0%); no rate (nothing to divide by) is "—"."""
    if value is None or value == "":
        return "—"
    value = Decimal(str(value)) * 100
    return f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):f}%"


def filesize(num: int | None) -> str:
    if num is None:
        return ""
    for unit in ("B", "KB", "MB"):
        if num < 1024:
            return f"{num:.0f} {unit}" if unit == "B" else f"{num:.1f} {unit}"
        num /= 1024
    return f"{num:.1f} GB"


def colon() -> str:
    """Between a label and its value: full-width in Chinese (标签：值), ": " in English."""
    return "：" if _is_chinese() else ": "


def register(app: Flask) -> None:
    app.jinja_env.filters["date_text"] = date_text
    app.jinja_env.filters["datetime_text"] = datetime_text
    app.jinja_env.filters["amount_wan"] = amount_wan
    app.jinja_env.filters["filesize"] = filesize
    app.jinja_env.filters["percent"] = percent
    app.jinja_env.filters["label"] = labels.label
    app.jinja_env.globals["labels"] = labels
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["colon"] = colon
    app.jinja_env.add_extension("jinja2.ext.do")
