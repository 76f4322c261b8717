"""The dashboards: the figures shown are the hand-computed ones, for the reader's scope.

The world is last year's (so every date is in the past whatever today is):
in 翠屏区 (county A), three projects signed, two landed, one started, one with
funds from outside the province; in 南溪区 (county B) one signed project; 高县
(county C) has none. Last year's December is the period looked at, unless a
test says otherwise.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event

from crm.clock import local_today
from crm.models import CountingRule, FundsSource, ProjectStage, Role, Target, UnitKind
from crm.projects.services import change_stage, create_project, record_funds

STAGE_NAMES = [
    "Reserve",
    "In negotiation",
    "Signed",
    "Landed",
    "Construction started",
    "Completed and producing",
    "Reached design output",
    "Terminated",
]


def _move(project, actor, to_stage, day):
    change_stage(
        project,
        actor=actor,
        expected_version=project.version,
        to_stage=to_stage,
        effective_on=day,
    )


@pytest.fixture
def world(app, db, make_unit, make_user, make_enterprise):
    today = local_today()
    year = today.year - 1
    county_a, county_b, county_c = make_unit("翠屏区"), make_unit("南溪区"), make_unit("高县")
    people = {
        "admin": make_user(Role.ADMIN, locale="en"),
        "leader": make_user(Role.LEADER, locale="en"),
        "manager_a": make_user(Role.MANAGER, [county_a], locale="en"),
        "staff_b": make_user(Role.STAFF, [county_b], locale="en"),
        "manager_c": make_user(Role.MANAGER, [county_c], locale="en"),
    }
    staff = people["manager_a"]
    enterprise_a = make_enterprise("宜宾长盈精密技术有限公司", [county_a])
    enterprise_b = make_enterprise("南溪丽豪半导体有限公司", [county_b])
    with app.test_request_context():
        first = create_project(
            enterprise_a,
            actor=staff,
            name="长盈精密一期",
            county=county_a,
            contract_amount_wan=Decimal("50000"),
            stage=ProjectStage.SIGNED,
            stage_on=date(year, 3, 10),
        )
        _move(first, staff, ProjectStage.LANDED, date(year, 5, 1))
        _move(first, staff, ProjectStage.STARTED, date(year, 6, 1))
        record_funds(
            first,
            actor=staff,
            month=date(year, 6, 1),
            source=FundsSource.OUTSIDE_PROVINCE,
            amount_wan=Decimal("10000"),
        )
        key = create_project(
            enterprise_a,
            actor=staff,
            name="长盈精密二期",
            county=county_a,
            contract_amount_wan=Decimal("150000"),  # 15 亿元: a key project
            stage=ProjectStage.SIGNED,
            stage_on=date(year, 11, 5),
        )
        _move(key, staff, ProjectStage.LANDED, date(year, 12, 1))
        late = create_project(
            enterprise_a,
            actor=staff,
            name="长盈精密三期",
            county=county_a,
            contract_amount_wan=Decimal("20000"),
            planned_start_on=date(year, 12, 1),  # passed without a start: not performing
            stage=ProjectStage.SIGNED,
            stage_on=date(year, 12, 3),
        )
        talks = create_project(
            enterprise_a,
            actor=staff,
            name="长盈精密研发中心",
            county=county_a,
            stage=ProjectStage.NEGOTIATION,
            stage_on=today - timedelta(days=60),
        )
        other = create_project(
            enterprise_b,
            actor=people["staff_b"],
            name="丽豪多晶硅",
            county=county_b,
            contract_amount_wan=Decimal("5000"),
            stage=ProjectStage.SIGNED,
            stage_on=date(year, 4, 1),
        )
        db.session.add_all(
            [
                Target(
                    year=year,
                    unit_id=county_a.id,
                    new_projects=6,
                    contract_amount_wan=Decimal("440000"),
                    out_of_province_funds_wan=Decimal("20000"),
                ),
                Target(year=year, unit_id=county_b.id, new_projects=2),
                CountingRule(year=year, landing_rate_goal_pct=70, start_rate_goal_pct=35),
            ]
        )
        db.session.commit()
    return {
        "year": year,
        "today": today,
        "county_a": county_a,
        "county_b": county_b,
        "county_c": county_c,
        "projects": {"first": first, "key": key, "late": late, "talks": talks, "other": other},
        **people,
    }


# -- reading the page ------------------------------------------------------------------------
def _text(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip()


def rate(html: str, key: str) -> str:
    match = re.search(rf'data-rate="{key}".*?data-value>([^<]*)<', html, re.S)
    assert match, key
    return match.group(1).strip()


def signed(html: str, key: str) -> tuple[str, str]:
    match = re.search(
        rf'data-signed="{key}".*?data-count>([^<]*)<.*?data-amount>([^<]*)<', html, re.S
    )
    assert match, key
    return match.group(1).strip(), match.group(2).strip()


def row(html: str, attribute: str, key: str) -> str:
    match = re.search(rf'<tr {attribute}="{key}"[^>]*>(.*?)</tr>', html, re.S)
    assert match, (attribute, key)
    return _text(match.group(1))


def listed(html: str, kind: str) -> dict[int, str]:
    match = re.search(rf'data-list="{kind}".*?</table>', html, re.S)
    if not match:
        return {}
    rows = re.findall(r'<tr data-project="(\d+)">(.*?)</tr>', match.group(0), re.S)
    return {int(pid): _text(cells) for pid, cells in rows}


def chart_data(html: str) -> dict:
    match = re.search(
        r'<script type="application/json" id="dashboard-data">(.*?)</script>', html, re.S
    )
    assert match
    return json.loads(match.group(1))


def page(client, url: str, **args) -> str:
    response = client.get(url, query_string=args or None)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


# -- the unit's dashboard ----------------------------------------------------------------------
def test_unit_dashboard_shows_the_hand_computed_figures(client, login, world):
    login(world["manager_a"])
    html = page(client, f"/dashboard/units/{world['county_a'].id}", year=world["year"], month=12)
    # Signed this month (December), this quarter (Oct–Dec), this year.
    assert signed(html, "month") == ("1", "2 hundred million yuan")
    assert signed(html, "quarter") == ("2", "17 hundred million yuan")
    assert signed(html, "year") == ("3", "22 hundred million yuan")
    # 3 signed: 2 landed, 1 started, none producing; the third is late to start.
    assert rate(html, "landing_rate") == "66.7%"
    assert rate(html, "start_rate") == "33.3%"
    assert rate(html, "completion_rate") == "0.0%"
    assert rate(html, "performance_rate") == "66.7%"
    # 10,000 万元 in place of 220,000 万元 contracted.
    assert rate(html, "funds_rate") == "4.5%"
    # Goals of the counting rule; the landing rate is below its 70%.
    assert "70%" in row(html, "data-rate-row", "landing_rate")
    assert "35%" in row(html, "data-rate-row", "start_rate")
    assert 'data-rate="landing_rate"' in html and "dashboard-tile-warn" in html
    # Against the county's target, at 100% of the year's schedule in December.
    assert row(html, "data-target", "projects") == "New signed projects 3 6 50.0% behind schedule"
    assert "50.0%" in row(html, "data-target", "amount")
    assert "50.0%" in row(html, "data-target", "out_of_province_funds")
    assert re.search(r"data-schedule>100\.0%<", html)
    # Projects by stage (now, whatever the period): 1 started, 1 landed, 1 signed, 1 in talks.
    assert row(html, "data-stage", "started") == "Construction started 1"
    assert row(html, "data-stage", "landed") == "Landed 1"
    assert row(html, "data-stage", "signed") == "Signed 1"
    assert row(html, "data-stage", "negotiation") == "In negotiation 1"
    assert row(html, "data-stage", "reserve") == "Reserve 0"
    # County B's project is not in county A's figures.
    assert "丽豪多晶硅" not in html


def test_a_period_earlier_in_the_year(client, login, world):
    """By the end of June only the first project was signed; it had landed and started."""
    login(world["manager_a"])
    html = page(client, f"/dashboard/units/{world['county_a'].id}", year=world["year"], month=6)
    assert signed(html, "year") == ("1", "5 hundred million yuan")
    assert signed(html, "month") == ("0", "0 ten thousand yuan")
    assert rate(html, "landing_rate") == "100.0%"
    assert rate(html, "start_rate") == "100.0%"
    assert re.search(r"data-schedule>50\.0%<", html)
    data = chart_data(html)
    assert data["targets"]["schedule"] == 50.0
    # The trend chart runs to the period's month: what was signed later is not shown.
    assert data["monthly"]["categories"] == ["Jan", "Feb", "Mar", "Apr", "May", "Jun"]
    assert data["monthly"]["series"][0]["data"] == [0, 0, 1, 0, 0, 0]
    assert data["monthly"]["series"][1]["data"] == [0.0, 0.0, 5.0, 0.0, 0.0, 0.0]
    assert len(re.findall(r"<tr data-month=", html)) == 6


def test_a_unit_without_signed_projects_shows_dashes(client, login, world):
    login(world["manager_c"])
    html = page(client, f"/dashboard/units/{world['county_c'].id}", year=world["year"], month=12)
    for key in ("landing_rate", "start_rate", "completion_rate", "performance_rate", "funds_rate"):
        assert rate(html, key) == "—", key
    assert signed(html, "year") == ("0", "0 ten thousand yuan")
    assert "data-no-targets" in html  # 高县 has no target
    data = chart_data(html)
    assert data["rates"]["series"][0]["data"] == [None] * 5
    assert "0.0%" not in re.search(r'data-table="rates".*?</table>', html, re.S).group(0)


def test_lists_of_key_and_stalled_projects(client, login, world):
    login(world["manager_a"])
    html = page(client, f"/dashboard/units/{world['county_a'].id}")
    projects = world["projects"]
    key = listed(html, "key")
    assert list(key) == [projects["key"].id]
    assert "长盈精密二期" in key[projects["key"].id]
    assert "翠屏区" in key[projects["key"].id]
    assert "15 hundred million yuan" in key[projects["key"].id]
    stalled = listed(html, "stalled")
    # In talks for 60 days (more than 30); landed on 1 December (more than 15);
    # signed on 3 December (more than 20). The first had funds reported today.
    assert projects["talks"].id in stalled
    assert stalled[projects["talks"].id].endswith(" 60")
    assert projects["key"].id in stalled and projects["late"].id in stalled
    assert projects["first"].id not in stalled
    days = (world["today"] - date(world["year"], 12, 1)).days
    assert stalled[projects["key"].id].endswith(f" {days}")
    # Longest without progress first.
    assert list(stalled)[0] == projects["key"].id
    assert re.search(r'id="dash-stalled".*?data-total>3<', html, re.S)
    if "projects.detail" in client.application.view_functions:
        assert f'href="/projects/{projects["key"].id}"' in html


# -- the city ----------------------------------------------------------------------------------
def test_city_dashboard_sums_the_counties_and_their_targets(client, login, world):
    login(world["leader"])
    html = page(client, "/dashboard", year=world["year"], month=12)
    assert signed(html, "year") == ("4", "22.5 hundred million yuan")
    assert rate(html, "landing_rate") == "50.0%"  # 2 of 4
    assert rate(html, "start_rate") == "25.0%"
    # Targets: 6 + 2 projects, 440,000 万元 (only county A set one), 20,000 万元 funds.
    assert row(html, "data-target", "projects") == "New signed projects 4 8 50.0% behind schedule"
    assert "51.1%" in row(html, "data-target", "amount")  # 225,000 / 440,000
    assert "City dashboard" in html


def test_the_bureaus_own_unit_compares_with_the_city_targets(
    client, login, world, make_unit, make_user
):
    bureau = make_unit("宜宾市投资促进局", kind=UnitKind.BUREAU)
    login(make_user(Role.MANAGER, [bureau], locale="en"))
    html = page(client, f"/dashboard/units/{bureau.id}", year=world["year"], month=12)
    # No project is attached to the bureau itself: none signed, against the city's 8.
    assert row(html, "data-target", "projects") == "New signed projects 0 8 0.0% behind schedule"


def test_a_readers_dashboard_is_their_scope(client, login, world):
    login(world["staff_b"])
    html = page(client, "/dashboard", year=world["year"], month=12)
    assert signed(html, "year") == ("1", "5,000 ten thousand yuan")
    assert rate(html, "landing_rate") == "0.0%"
    assert "长盈" not in html
    # The counties' targets are the city's, not this reader's: none are compared.
    assert "data-no-targets" in html
    assert 'data-table="targets"' not in html


def test_default_period_is_the_current_month(client, login, world):
    login(world["admin"])
    html = page(client, "/dashboard")
    today = world["today"]
    assert re.search(rf'<option selected value="{today.year}">', html)
    assert re.search(rf'<option selected value="{today.month}">', html)
    # This year's figures: nothing was signed this year in the world.
    assert signed(html, "year") == ("0", "0 ten thousand yuan")
    assert rate(html, "landing_rate") == "—"


def test_picking_a_unit_goes_to_its_dashboard(client, login, world):
    login(world["admin"])
    unit_id = world["county_b"].id
    response = client.get("/dashboard", query_string={"year": 2020, "month": 3, "unit": unit_id})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/dashboard/units/{unit_id}?year=2020&month=3")
    # A nonsensical choice falls back to this month, for the whole scope.
    assert client.get("/dashboard?year=1700&month=13&unit=x").status_code == 200


def test_unit_picker_offers_only_the_readers_units(client, login, world):
    login(world["manager_a"])
    html = page(client, "/dashboard")
    picker = re.search(r'<select[^>]*name="unit".*?</select>', html, re.S).group(0)
    assert "翠屏区" in picker and "南溪区" not in picker
    # Choosing a unit outside them is not accepted (the page shows the whole scope).
    response = client.get("/dashboard", query_string={"unit": world["county_b"].id})
    assert response.status_code == 200


def test_unit_dashboard_outside_the_users_units_is_404(client, login, world):
    login(world["manager_a"])
    assert client.get(f"/dashboard/units/{world['county_b'].id}").status_code == 404
    assert client.get("/dashboard/units/999999").status_code == 404


# -- the charts ----------------------------------------------------------------------------------
def test_chart_data_block_parses_and_has_the_series(client, login, world):
    login(world["manager_a"])
    html = page(client, f"/dashboard/units/{world['county_a'].id}", year=world["year"], month=12)
    data = chart_data(html)
    assert data["stages"]["categories"] == STAGE_NAMES
    assert data["stages"]["series"][0]["name"] == "Projects"
    assert data["stages"]["series"][0]["data"] == [0, 1, 1, 1, 1, 0, 0, 0]
    monthly = data["monthly"]
    assert monthly["categories"][0] == "Jan" and len(monthly["categories"]) == 12
    count, amount = monthly["series"]
    assert count["name"] == "Signed projects"
    assert count["data"] == [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1]
    # The largest month is 15 亿元: amounts are drawn in 亿元, the unit on the axis.
    assert monthly["amount_axis"] == "100 million yuan (亿元)"
    assert amount["data"] == [0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 15.0, 2.0]
    targets = data["targets"]
    assert targets["schedule"] == 100.0
    assert targets["categories"] == [
        "New signed projects",
        "Signed contract amount",
        "Out-of-province funds in place",
    ]
    assert targets["series"][0]["data"] == [50.0, 50.0, 50.0]
    rates = data["rates"]
    assert [s["name"] for s in rates["series"]] == ["Rate", "Goal"]
    assert rates["series"][0]["data"] == [66.7, 33.3, 0.0, 4.5, 66.7]
    assert rates["series"][1]["data"] == [70.0, 35.0, None, None, None]
    # Every number of a chart is also in a visible table.
    for name in ("stages", "monthly", "targets", "rates"):
        assert f'data-chart="{name}"' in html and f'data-table="{name}"' in html


def test_small_amounts_are_charted_in_wan(client, login, world):
    login(world["staff_b"])
    html = page(client, "/dashboard", year=world["year"], month=12)
    monthly = chart_data(html)["monthly"]
    assert monthly["amount_axis"] == "10 thousand yuan (万元)"
    assert monthly["series"][1]["data"][3] == 5000.0


def test_no_inline_script_and_echarts_shipped_locally(client, login, world):
    login(world["admin"])
    html = page(client, "/dashboard")
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert re.search(r"\son[a-z]+=", html) is None  # no inline event handlers
    assert '<script src="/static/vendor/echarts/echarts.min.js">' in html
    assert '<script src="/static/js/dashboard.js">' in html
    assert "cdn" not in html.lower()
    response = client.get("/static/vendor/echarts/echarts.min.js")
    assert response.status_code == 200
    assert b"echarts" in response.data[:5000].lower()
    response.close()
    for path in ("/static/js/dashboard.js", "/static/css/dashboard.css"):
        response = client.get(path)
        assert response.status_code == 200, path
        response.close()


def test_queries_do_not_grow_with_the_projects_listed(
    app, db, client, login, world, make_unit, make_enterprise
):
    login(world["admin"])
    url = f"/dashboard?year={world['year']}&month=12"

    def queries() -> int:
        seen = []

        def listener(*_args):
            seen.append(1)

        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    few = queries()
    for n in range(5):
        county = make_unit(f"新县{n}")
        enterprise = make_enterprise(f"新企业{n}有限公司", [county])
        with app.test_request_context():
            create_project(
                enterprise,
                actor=None,
                name=f"重点停滞项目{n}",
                county=county,
                contract_amount_wan=Decimal("200000"),
                stage=ProjectStage.NEGOTIATION,
                stage_on=world["today"] - timedelta(days=90),
            )
            db.session.commit()
    html = page(client, url)
    assert len(listed(html, "key")) == 6 and len(listed(html, "stalled")) == 9
    assert queries() == few
    assert few <= 30
