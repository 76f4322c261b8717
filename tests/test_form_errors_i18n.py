"""Bad input gets field errors in the user's language (Chinese and English), and nothing is saved."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from crm.models import Enterprise, Role, Visit

CJK = re.compile(r"[\u4e00-\u9fff]")
ERROR = re.compile(r'<div class="invalid-feedback[^"]*"[^>]*>(.*?)</div>', re.S)


def field_errors(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", e).strip() for e in ERROR.findall(html)]


def count(db, model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def staff_in(make_unit, make_user):
    unit = make_unit("翠屏区")

    def _make(locale: str):
        return unit, make_user(Role.STAFF, [unit], locale=locale)

    return _make


GOOD = {"name": "宜宾长盈精密技术有限公司", "credit_code": "91350100M000100Y43"}
BAD_ENTERPRISES = {
    "bad check character": (
        {"credit_code": "91350100M000100Y44"},
        "校验码（最后一位）与前 17 位不符",
        "The check character (the last one) does not fit the first 17",
    ),
    "wrong length": (
        {"credit_code": "9135010"},
        "统一社会信用代码应为 18 位，当前为 7 位",
        "A unified social credit code has 18 characters; this one has 7.",
    ),
    "missing name": ({"name": ""}, None, None),
    "over-long name": ({"name": "长" * 201}, None, None),
    "year not a number": ({"fortune_global_500_year": "二〇二三"}, None, None),
}


@pytest.mark.parametrize("case", list(BAD_ENTERPRISES))
@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_enterprise_form_errors(client, login, db, staff_in, case, locale):
    unit, user = staff_in(locale)
    login(user)
    changes, zh_text, en_text = BAD_ENTERPRISES[case]
    data = {
        **GOOD,
        "units": [str(unit.id)],
        "responsible": str(user.id),
        "industry": "0",
        "chamber": "0",
    }
    data.update(changes)
    response = client.post("/enterprises/new", data=data)

    assert response.status_code in (200, 400, 422)
    errors = field_errors(response.get_data(as_text=True))
    assert errors, f"no field error shown for {case}"
    for error in errors:
        if locale == "zh_CN":
            assert CJK.search(error), f"untranslated error in Chinese page: {error!r}"
        else:
            assert not CJK.search(error), f"Chinese in English page: {error!r}"
    expected = zh_text if locale == "zh_CN" else en_text
    if expected:
        assert any(expected in e for e in errors), errors
    assert count(db, Enterprise) == 0


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_visit_form_malformed_date(client, login, db, staff_in, make_enterprise, locale):
    unit, user = staff_in(locale)
    enterprise = make_enterprise("宜宾长盈精密技术有限公司", units=[unit])
    login(user)
    response = client.post(
        f"/enterprises/{enterprise.id}/visits/new",
        data={"kind": "door_knocking", "visit_date": "2026-13-45", "summary": "走访"},
    )
    errors = field_errors(response.get_data(as_text=True))
    assert errors
    if locale == "zh_CN":
        assert all(CJK.search(e) for e in errors), errors
    else:
        assert not any(CJK.search(e) for e in errors), errors
    assert count(db, Visit) == 0
