"""Dates in pages fall on the bureau's local day."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import force_locale

from crm.formatting import date_text


def test_a_moment_is_shown_on_its_local_day(app):
    evening_utc = datetime(2026, 12, 5, 20, 30, tzinfo=UTC)  # 04:30 on the 6th in Yibin
    with app.test_request_context():
        with force_locale("zh_CN"):
            assert date_text(evening_utc) == "2026年12月6日"
            assert date_text(evening_utc.replace(tzinfo=None)) == "2026年12月6日"  # naive = UTC
        with force_locale("en"):
            assert date_text(evening_utc) == "6 Dec 2026"
