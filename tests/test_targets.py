"""The targets admin: the yearly targets grid, counting rules and stall thresholds."""

from __future__ import annotations

import logging
import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.models import (
    CountingRule,
    Industry,
    ProjectStage,
    Role,
    StallThreshold,
    Target,
    UnitKind,
)
from crm.projects import figures
from crm.projects.figures import Period
from crm.projects.services import change_stage, create_project

D = Decimal
YEAR = 2025
URL = f"/admin/targets/?year={YEAR}"
RULES_URL = f"/admin/targets/rules?year={YEAR}"
THRESHOLDS_URL = "/admin/targets/thresholds"


@pytest.fixture
def units(make_unit):
    return {
        "a": make_unit("翠屏区", UnitKind.COUNTY),
        "b": make_unit("叙州区", UnitKind.COUNTY),
        "tf": make_unit("数字经济专班", UnitKind.TASK_FORCE),
        "park": make_unit("临港经开区", UnitKind.PARK),
    }


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN, name="管理员", locale="en")


def grid(units, values: dict[str, tuple], versions: dict[str, str] | None = None) -> dict:
    """POST data of the targets grid: counties, then task forces (the page's order)."""
    data = {}
    for index, key in enumerate(["a", "b", "tf"]):
        projects, amount, funds = values.get(key, ("", "", ""))
        prefix = f"rows-{index}-"
        data[prefix + "unit_id"] = str(units[key].id)
        data[prefix + "version"] = (versions or {}).get(key, "")
        data[prefix + "new_projects"] = projects
        data[prefix + "contract_amount_wan"] = amount
        data[prefix + "out_of_province_funds_wan"] = funds
    return data


def targets(db) -> dict[str, tuple]:
    db.session.expire_all()
    rows = db.session.execute(select(Target).where(Target.year == YEAR)).scalars()
    return {
        t.unit.name: (t.new_projects, t.contract_amount_wan, t.out_of_province_funds_wan)
        for t in rows
    }


def errors_of(html: str) -> list[str]:
    block = re.search(r'id="grid-errors">(.*?)</div>', html, re.S)
    if not block:
        return []
    return [
        " ".join(re.sub(r"<[^>]+>", "", li).split())
        for li in re.findall(r"<li>(.*?)</li>", block.group(1), re.S)
    ]


# -- the grid ---------------------------------------------------------------------------
def test_the_grid_lists_every_county_and_task_force(client, login, admin, units, db):
    db.session.add(
        Target(year=YEAR, unit_id=units["a"].id, new_projects=12, contract_amount_wan=D("2.5"))
    )
    db.session.commit()
    login(admin)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.findall(r'<tr data-unit="(\d+)">', html) == [
        str(units["a"].id),
        str(units["b"].id),
        str(units["tf"].id),
    ]  # no park
    assert 'value="12"' in html and 'value="2.5"' in html
    assert "version 1" in html


def test_saving_the_grid_sets_every_target_at_once(client, login, admin, units, db, caplog):
    login(admin)
    caplog.set_level(logging.INFO, logger="crm.audit")
    response = client.post(
        URL,
        data=grid(units, {"a": ("10", "200000", "7400.5"), "tf": ("3", "", "12345.6789")}),
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert targets(db) == {
        "翠屏区": (10, D("200000"), D("7400.5")),
        "数字经济专班": (3, None, D("12345.6789")),
    }  # 叙州区 left empty: no target row
    audit = [r.getMessage() for r in caplog.records if r.name == "crm.audit"]
    assert any("翠屏区" in m and "contract_amount_wan: None -> 200000" in m for m in audit)
    assert all(f"by user {admin.id}" in m for m in audit)
    assert "Saved: 5 changes." in client.get(URL).get_data(as_text=True)

    # Change one cell: only that row changes (its version goes up), and the log says old → new.
    version = db.session.execute(
        select(Target.version).where(Target.unit_id == units["a"].id)
    ).scalar_one()
    caplog.clear()
    response = client.post(
        URL,
        data=grid(
            units,
            {"a": ("11", "200000", "7400.5"), "tf": ("3", "", "12345.6789")},
            {"a": str(version), "tf": "1"},
        ),
    )
    assert response.status_code == 302
    assert targets(db)["翠屏区"] == (11, D("200000"), D("7400.5"))
    rows = {t.unit_id: t.version for t in db.session.execute(select(Target)).scalars()}
    assert rows == {units["a"].id: version + 1, units["tf"].id: 1}
    assert [r.getMessage() for r in caplog.records if r.name == "crm.audit"] == [
        f"targets {YEAR}: 翠屏区 · new_projects: 10 -> 11 (by user {admin.id})"
    ]


BAD = {
    "negative amount": (
        ("1", "-5", ""),
        "翠屏区 — Contract amount (万元): The amount cannot be negative.",
    ),
    "not a number": (
        ("1", "一万", ""),
        "翠屏区 — Contract amount (万元): Enter the amount as a number.",
    ),
    "five decimals": (
        ("1", "", "1.23456"),
        "翠屏区 — Out-of-province funds in place (万元): Amounts in 万元 have at most four decimal places.",
    ),
    "half a project": (("1.5", "", ""), "翠屏区 — New signed projects: Enter a whole number."),
    "negative projects": (
        ("-2", "", ""),
        "翠屏区 — New signed projects: The number cannot be negative.",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_row_refuses_the_whole_grid(client, login, admin, units, db, case):
    login(admin)
    bad_row, message = BAD[case]
    # 数字经济专班's row is fine, but nothing is saved while another row is wrong.
    response = client.post(URL, data=grid(units, {"a": bad_row, "tf": ("3", "100", "")}))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert errors_of(html) == [message]
    assert "Nothing was saved" in html
    assert targets(db) == {}
    # What was typed is shown again.
    assert 'value="100"' in html


def test_several_bad_cells_are_all_named(client, login, admin, units, db):
    login(admin)
    response = client.post(URL, data=grid(units, {"a": ("x", "-1", ""), "b": ("", "", "0.00001")}))
    assert response.status_code == 400
    assert errors_of(response.get_data(as_text=True)) == [
        "翠屏区 — New signed projects: Enter a whole number.",
        "翠屏区 — Contract amount (万元): The amount cannot be negative.",
        "叙州区 — Out-of-province funds in place (万元): Amounts in 万元 have at most four decimal places.",
    ]
    assert targets(db) == {}


def test_the_service_names_the_row_too(app, db, units, admin):
    """The rules hold without the form (a script, an import)."""
    from crm.errors import ServiceError
    from crm.targets.services import TargetEntry, save_targets

    with app.test_request_context(headers={"Accept-Language": "en"}):
        good = TargetEntry(units["b"], None, 5, D("10"), None)
        bad = TargetEntry(units["a"], None, 1, D("-1"), None)
        with pytest.raises(ServiceError) as error:
            save_targets(YEAR, [good, bad], actor=admin)
        assert str(error.value.message) == (
            "翠屏区 — Contract amount (万元): The amount cannot be negative."
        )
        db.session.rollback()
        with pytest.raises(ServiceError):
            save_targets(YEAR, [TargetEntry(units["park"], None, 1, None, None)], actor=admin)
        db.session.rollback()
    assert targets(db) == {}


def test_a_grid_opened_before_someone_else_saved_is_refused(client, login, admin, units, db):
    login(admin)
    client.post(URL, data=grid(units, {"a": ("10", "", "")}))
    # Someone else saves 翠屏区 again (version 2) ...
    client.post(URL, data=grid(units, {"a": ("12", "", "")}, {"a": "1"}))
    assert targets(db)["翠屏区"] == (12, None, None)
    # ... and a grid still showing version 1 is refused, with nothing saved.
    response = client.post(
        URL, data=grid(units, {"a": ("15", "", ""), "b": ("4", "", "")}, {"a": "1"})
    )
    assert response.status_code == 409
    assert targets(db) == {"翠屏区": (12, None, None)}


def test_a_row_of_another_unit_kind_is_a_bad_request(client, login, admin, units):
    login(admin)
    data = grid(units, {"a": ("1", "", "")})
    data["rows-0-unit_id"] = str(units["park"].id)
    assert client.post(URL, data=data).status_code == 400


@pytest.mark.parametrize("role", [Role.MANAGER, Role.LEADER, Role.STAFF])
def test_only_admins(client, login, make_user, units, db, role):
    user = make_user(role, [units["a"]] if role != Role.LEADER else [], locale="en")
    login(user)
    for url in (URL, RULES_URL, THRESHOLDS_URL):
        assert client.get(url).status_code == 403
        assert client.post(url, data={}).status_code == 403
    assert targets(db) == {}


def test_the_year_picker(client, login, admin, units):
    login(admin)
    assert "Yearly targets 2027" in client.get("/admin/targets/?year=2027").get_data(as_text=True)
    assert client.get("/admin/targets/?year=1999").status_code == 404
    assert client.get("/admin/targets/?year=abc").status_code == 404
    assert client.get(f"/admin/targets/?year={date.today().year}").status_code == 200


# -- counting rules --------------------------------------------------------------------------
@pytest.fixture
def signed_world(app, db, units, make_enterprise):
    """Four projects of 翠屏区 signed in 2025: one real estate, one small, one terminated."""
    with app.test_request_context():
        estate = Industry(name="房地产")
        digital = Industry(name="数字经济")
        db.session.add_all([estate, digital])
        db.session.flush()
        firm = make_enterprise("宜宾测试企业有限公司", units=[units["a"]])

        def signed(name, amount, industry=None):
            return create_project(
                firm,
                actor=None,
                name=name,
                county=units["a"],
                industry=industry,
                stage=ProjectStage.SIGNED,
                stage_on=date(2025, 3, 1),
                contract_amount_wan=D(amount),
            )

        signed("数据中心", "50000", digital)
        signed("商住楼盘", "30000", estate)
        signed("小型加工厂", "500")
        ended = signed("物流园", "8000")
        change_stage(
            ended,
            actor=None,
            expected_version=ended.version,
            to_stage=ProjectStage.TERMINATED,
            effective_on=date(2025, 4, 1),
            reason="投资方撤资",
        )
        db.session.commit()
    return {"estate": estate, "digital": digital}


def signed_in_a(app, units) -> tuple[int, Decimal]:
    with app.test_request_context():
        rows = {row.unit_id: row for row in figures.ranking(Period(YEAR, 6), UnitKind.COUNTY)}
    a = rows[units["a"].id].figures
    return a.signed, a.signed_amount_wan


def test_counting_rules_change_the_figures(app, client, login, admin, units, db, signed_world):
    assert signed_in_a(app, units) == (4, D("88500"))
    login(admin)
    page = client.get(RULES_URL).get_data(as_text=True)
    assert "房地产" in page and "数字经济" in page

    response = client.post(
        RULES_URL,
        data={
            "min_contract_amount_wan": "",
            "excluded_industries": [str(signed_world["estate"].id)],
            "count_terminated": "y",
            "landing_rate_goal_pct": "70",
            "start_rate_goal_pct": "35",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    # The real-estate project no longer counts.
    assert signed_in_a(app, units) == (3, D("58500"))
    rule = db.session.execute(select(CountingRule)).scalar_one()
    assert (rule.landing_rate_goal_pct, rule.start_rate_goal_pct, rule.version) == (70, 35, 1)
    assert [i.name for i in rule.excluded_industries] == ["房地产"]

    # A minimum amount and not counting terminated projects: the edit carries the version.
    response = client.post(
        RULES_URL,
        data={
            "min_contract_amount_wan": "1000",
            "excluded_industries": [str(signed_world["estate"].id)],
            "landing_rate_goal_pct": "70",
            "start_rate_goal_pct": "35",
            "version": "1",
        },
    )
    assert response.status_code == 302
    assert signed_in_a(app, units) == (1, D("50000"))
    # The targets page summarises the rule.
    html = client.get(URL).get_data(as_text=True)
    assert "房地产" in html


def test_counting_rules_refuse_bad_input(client, login, admin, units, db, signed_world):
    login(admin)
    for data in (
        {"landing_rate_goal_pct": "150"},
        {"min_contract_amount_wan": "-1"},
        {"min_contract_amount_wan": "1.00001"},
        {"excluded_industries": ["999999"]},
    ):
        response = client.post(RULES_URL, data=data)
        assert response.status_code == 400, data
    assert db.session.execute(select(CountingRule)).scalar_one_or_none() is None


def test_a_stale_rule_edit_is_refused(client, login, admin, units, db, signed_world):
    login(admin)
    client.post(RULES_URL, data={"count_terminated": "y"})
    client.post(
        RULES_URL, data={"count_terminated": "y", "start_rate_goal_pct": "30", "version": "1"}
    )
    response = client.post(RULES_URL, data={"start_rate_goal_pct": "40", "version": "1"})
    assert response.status_code == 409
    db.session.expire_all()
    assert db.session.execute(select(CountingRule.start_rate_goal_pct)).scalar_one() == 30


# -- stall thresholds ------------------------------------------------------------------------
def thresholds_data(units, city=("30", "20", "15"), a=("", "", ""), b=("", "", "")) -> dict:
    data = {}
    for index, (unit_id, days) in enumerate(
        [("", city), (str(units["a"].id), a), (str(units["b"].id), b)]
    ):
        data[f"rows-{index}-unit_id"] = unit_id
        for stage, value in zip(("negotiation", "signed", "landed"), days, strict=True):
            data[f"rows-{index}-{stage}"] = value
    return data


def stored(db) -> dict:
    db.session.expire_all()
    return {
        (row.unit.name if row.unit else None, row.stage.value): row.days
        for row in db.session.execute(select(StallThreshold)).scalars()
    }


def test_thresholds_start_from_the_defaults(client, login, admin, units):
    login(admin)
    html = client.get(THRESHOLDS_URL).get_data(as_text=True)
    city = re.search(r'<tr data-unit="city".*?</tr>', html, re.S).group(0)
    assert [int(v) for v in re.findall(r'value="(\d+)"', city)] == [30, 20, 15]
    assert re.findall(r'<tr data-unit="(\d+)"', html) == [str(units["a"].id), str(units["b"].id)]


def test_thresholds_save_city_days_and_county_overrides(app, client, login, admin, units, db):
    login(admin)
    response = client.post(
        THRESHOLDS_URL, data=thresholds_data(units, city=("45", "20", "15"), a=("10", "", ""))
    )
    assert response.status_code == 302
    # Only what differs from the defaults is stored; a county's empty cell uses the city's.
    assert stored(db) == {(None, "negotiation"): 45, ("翠屏区", "negotiation"): 10}
    with app.app_context():
        city, by_unit = figures.stall_thresholds()
    assert city[ProjectStage.NEGOTIATION] == 45
    assert by_unit[ProjectStage.NEGOTIATION] == {units["a"].id: 10}
    # Clearing the override removes it.
    client.post(THRESHOLDS_URL, data=thresholds_data(units, city=("45", "20", "15")))
    assert stored(db) == {(None, "negotiation"): 45}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"city": ("0", "20", "15")},
            "City default — In negotiation: Enter a number from 1 to 3650.",
        ),
        ({"city": ("30", "", "15")}, "City default — Signed: Enter a number."),
        ({"a": ("", "x", "")}, "翠屏区 — Signed: Enter a whole number."),
        ({"b": ("", "", "-3")}, "叙州区 — Landed: The number cannot be negative."),
    ],
)
def test_bad_thresholds_are_refused(client, login, admin, units, db, data, message):
    login(admin)
    response = client.post(THRESHOLDS_URL, data=thresholds_data(units, **data))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert stored(db) == {}
