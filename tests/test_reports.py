"""The monthly ranking (月通报): the page, publishing and freezing, corrections since, print.

The world (all in 2025, so every date is in the past), period January–June 2025:

counties with targets 2025 (projects / amount 万元 / out-of-province funds 万元):
  翠屏区 A  4 / 10,000 / 1,000   signs a1 3,000 (02-10, task force 数字经济专班) and a2 3,000 (03-05);
                                 a1 gets 700 out-of-province funds for March
                                 → 2/4 = 0.5, 6,000/10,000 = 0.6, 700/1,000 = 0.7 → score 0.6
  叙州区 B  5 / 20,000 / —        signs b1 2,000 (05-01) → 0.2, 0.1 → score 0.15
  南溪区 C  2 / 5,000 / —         signs c1 3,500 (04-01) → 0.5, 0.7 → score 0.6 (ties with A)
  江安县 D  no target            signs d1 1,000 (01-20) → unranked "—"
Ranking: A 1, C 1 (tie; A first on the larger signed amount), B 3, D —.
Task forces: 数字经济专班 target 2 projects → a1: 0.5, rank 1; 智能终端专班 no target, nothing signed.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm.models import (
    FundsSource,
    MonthlyReport,
    MonthlyReportRow,
    ProjectStage,
    Role,
    Target,
    UnitKind,
)
from crm.projects.figures import Period
from crm.projects.services import change_stage, create_project, record_funds
from crm.reports import services

D = Decimal
JUNE = Period(2025, 6)
MONTH_URL = "/reports/2025/6"
PUBLISH_URL = "/reports/2025/6/publish"


def build_world(app, db, make_unit, make_enterprise, amounts=None) -> dict:
    """The module docstring's world; ``amounts`` overrides contract amounts by project name."""
    amounts = {
        "a1": "3000",
        "a2": "3000",
        "b1": "2000",
        "c1": "3500",
        "d1": "1000",
        **(amounts or {}),
    }
    with app.test_request_context():
        a = make_unit("翠屏区", UnitKind.COUNTY)
        b = make_unit("叙州区", UnitKind.COUNTY)
        c = make_unit("南溪区", UnitKind.COUNTY)
        d = make_unit("江安县", UnitKind.COUNTY)
        tf = make_unit("数字经济专班", UnitKind.TASK_FORCE)
        tf2 = make_unit("智能终端专班", UnitKind.TASK_FORCE)
        firm = make_enterprise("宜宾测试企业有限公司", units=[a])

        def signed(name, county, on, **extra):
            return create_project(
                firm,
                actor=None,
                name=name,
                county=county,
                stage=ProjectStage.SIGNED,
                stage_on=on,
                contract_amount_wan=D(amounts[name]),
                **extra,
            )

        projects = {
            "a1": signed("a1", a, date(2025, 2, 10), task_force=tf),
            "a2": signed("a2", a, date(2025, 3, 5)),
            "b1": signed("b1", b, date(2025, 5, 1)),
            "c1": signed("c1", c, date(2025, 4, 1)),
            "d1": signed("d1", d, date(2025, 1, 20)),
        }
        record_funds(
            projects["a1"],
            actor=None,
            month=date(2025, 3, 1),
            source=FundsSource.OUTSIDE_PROVINCE,
            amount_wan=D("700"),
        )
        db.session.add_all(
            [
                Target(
                    year=2025,
                    unit_id=a.id,
                    new_projects=4,
                    contract_amount_wan=D("10000"),
                    out_of_province_funds_wan=D("1000"),
                ),
                Target(year=2025, unit_id=b.id, new_projects=5, contract_amount_wan=D("20000")),
                Target(year=2025, unit_id=c.id, new_projects=2, contract_amount_wan=D("5000")),
                Target(year=2025, unit_id=tf.id, new_projects=2),
            ]
        )
        db.session.commit()
    return {"a": a, "b": b, "c": c, "d": d, "tf": tf, "tf2": tf2, "firm": firm, **projects}


@pytest.fixture
def world(app, db, make_unit, make_enterprise):
    return build_world(app, db, make_unit, make_enterprise)


@pytest.fixture
def people(make_user, world):
    """English readers, so the assertions on texts hold whatever the catalogue says."""
    return {
        "admin": make_user(Role.ADMIN, name="管理员", locale="en"),
        "manager": make_user(Role.MANAGER, [world["a"]], name="孙科长", locale="en"),
        "leader": make_user(Role.LEADER, name="赵局长", locale="en"),
        "staff": make_user(Role.STAFF, [world["a"]], name="张敏", locale="en"),
    }


def table_rows(html: str, kind: str) -> list[tuple[str, str, str]]:
    """(unit name, data-rank, rank cell text) of one table, in page order."""
    section = re.search(
        rf'<section class="mb-4 ranking" data-kind="{kind}">(.*?)</section>', html, re.S
    )
    assert section, kind
    rows = re.findall(
        r'<tr data-unit="\d*" data-rank="(\d*)"[^>]*>\s*<td[^>]*data-metric="rank">([^<]*)'
        r".*?<th scope=\"row\"[^>]*>([^<]*)",
        section.group(1),
        re.S,
    )
    return [(name.strip(), rank, text.strip()) for rank, text, name in rows]


def cell(html: str, unit_name: str, metric: str) -> str:
    """The text of one cell (corrections included), tags stripped."""
    row = re.search(
        rf"<tr data-unit[^>]*>((?:(?!</tr>).)*?{unit_name}(?:(?!</tr>).)*)</tr>", html, re.S
    )
    assert row, unit_name
    found = re.search(rf'data-metric="{metric}">(.*?)</td>', row.group(1), re.S)
    assert found, (unit_name, metric)
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def count(db, model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def frozen_rows(db) -> list[tuple]:
    rows = db.session.execute(select(MonthlyReportRow).order_by(MonthlyReportRow.id)).scalars()
    return [(r.unit_kind, r.unit_id, r.unit_name, r.rank, dict(r.figures)) for r in rows]


# -- the ranking --------------------------------------------------------------------------
def test_the_ranking_is_the_hand_computed_one(app, world):
    with app.test_request_context():
        month = services.month_report(JUNE)
    counties, task_forces = month.tables
    assert [(line.unit_name, line.rank) for line in counties.lines] == [
        ("翠屏区", 1),
        ("南溪区", 1),
        ("叙州区", 3),
        ("江安县", None),
    ]
    a = counties.lines[0].figures
    assert (a.projects_completion, a.amount_completion, a.funds_completion) == (
        D("0.5"),
        D("0.6"),
        D("0.7"),
    )
    assert a.score == D("0.6") and counties.lines[1].figures.score == D("0.6")
    assert counties.lines[2].figures.score == D("0.15")
    assert [(line.unit_name, line.rank) for line in task_forces.lines] == [
        ("数字经济专班", 1),
        ("智能终端专班", None),
    ]
    assert not month.published and month.change_count == 0


def test_the_month_page_shows_every_metric(client, login, people, world):
    login(people["staff"])
    response = client.get(MONTH_URL)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert table_rows(html, "county") == [
        ("翠屏区", "1", "1"),
        ("南溪区", "1", "1"),
        ("叙州区", "3", "3"),
        ("江安县", "", "—"),
    ]
    assert [name for name, _, _ in table_rows(html, "task_force")] == [
        "数字经济专班",
        "智能终端专班",
    ]
    assert cell(html, "翠屏区", "signed") == "2"
    assert cell(html, "翠屏区", "target_projects") == "4"
    assert cell(html, "翠屏区", "projects_completion") == "50.0%"
    assert cell(html, "翠屏区", "signed_amount_wan") == "6,000.00"
    assert cell(html, "翠屏区", "target_amount_wan") == "10,000.00"
    assert cell(html, "翠屏区", "amount_completion") == "60.0%"
    assert cell(html, "翠屏区", "out_of_province_funds_wan") == "700.00"
    assert cell(html, "翠屏区", "funds_completion") == "70.0%"
    assert cell(html, "翠屏区", "score") == "60.0%"
    assert cell(html, "翠屏区", "schedule") == "50.0%"
    assert "+10.0%" in cell(html, "翠屏区", "ahead")
    assert cell(html, "翠屏区", "landing_rate") == "0.0%"  # signed, none landed: 0%, not "—"
    assert cell(html, "翠屏区", "funds_rate") == "11.7%"  # 700 / 6,000
    assert cell(html, "翠屏区", "performance_rate") == "100.0%"
    # No target / nothing to divide by: "—", never 0%.
    assert cell(html, "叙州区", "funds_completion") == "—"
    assert cell(html, "江安县", "score") == "—"
    assert cell(html, "智能终端专班", "landing_rate") == "—"
    assert "-5.0%" not in cell(html, "叙州区", "ahead") and "-35.0%" in cell(
        html, "叙州区", "ahead"
    )
    assert "Not yet published" in html


@pytest.mark.parametrize(
    "url",
    [
        "/reports/2099/1",
        "/reports/1999/5",
        "/reports/2101/1",
        "/reports/2025/13",
        "/reports/2025/0",
    ],
)
def test_months_that_do_not_exist_or_have_not_begun_are_404(client, login, people, url):
    login(people["leader"])
    assert client.get(url).status_code == 404
    assert client.get(url + ".xlsx").status_code == 404
    assert client.get(url + "/print").status_code == 404


def test_the_current_month_is_open(client, login, people):
    from crm.clock import local_today

    today = local_today()
    login(people["leader"])
    assert client.get(f"/reports/{today.year}/{today.month}").status_code == 200
    if today.month < 12:
        assert client.get(f"/reports/{today.year}/{today.month + 1}").status_code == 404


# -- publishing ---------------------------------------------------------------------------
def test_publishing_freezes_the_figures(client, login, db, people, world):
    login(people["manager"])
    response = client.post(PUBLISH_URL, data={"note": "上半年通报"})
    assert response.status_code == 302
    report = db.session.execute(select(MonthlyReport)).scalar_one()
    assert (report.year, report.month, report.published_by_id) == (2025, 6, people["manager"].id)
    assert report.published_at is not None and report.note == "上半年通报"
    rows = {(row.unit_kind, row.unit_name): row for row in report.rows}
    assert len(rows) == 6
    a = rows[("county", "翠屏区")]
    assert a.rank == 1 and a.unit_id == world["a"].id
    assert a.figures["signed"] == 2
    assert a.figures["signed_amount_wan"] == "6000.0000"
    assert D(a.figures["score"]) == D("0.6")
    assert rows[("county", "叙州区")].rank == 3
    assert rows[("county", "江安县")].rank == services.UNRANKED  # stored 0, shown "—"

    html = client.get(MONTH_URL).get_data(as_text=True)
    assert "孙科长" in html
    assert 'id="corrections-summary"' in html and "corrected since publication" not in html
    assert table_rows(html, "county")[-1] == ("江安县", "", "—")
    index = client.get("/reports?year=2025").get_data(as_text=True)
    june = re.search(r'<tr data-month="6".*?</tr>', index, re.S).group(0)
    assert "孙科长" in june and "/reports/2025/6" in june
    may = re.search(r'<tr data-month="5".*?</tr>', index, re.S).group(0)
    assert "孙科长" not in may


def test_corrections_after_publication_show_beside_the_frozen_figures(
    app, client, login, db, people, world
):
    login(people["manager"])
    client.post(PUBLISH_URL)
    before = frozen_rows(db)
    with app.test_request_context():
        # A back-dated stage change and a late funds report, both inside the published period.
        a2 = world["a2"]
        change_stage(
            db.session.get(type(a2), a2.id),
            actor=None,
            expected_version=db.session.get(type(a2), a2.id).version,
            to_stage=ProjectStage.LANDED,
            effective_on=date(2025, 6, 15),
        )
        record_funds(
            db.session.get(type(a2), world["a1"].id),
            actor=None,
            month=date(2025, 6, 1),
            source=FundsSource.OUTSIDE_PROVINCE,
            amount_wan=D("300"),
        )
        db.session.commit()

    html = client.get(MONTH_URL).get_data(as_text=True)
    # The frozen value is shown, the live one beside it.
    assert cell(html, "翠屏区", "landing_rate") == (
        "0.0% corrected since publication: was 0.0%, now 50.0%"
    )
    assert cell(html, "翠屏区", "out_of_province_funds_wan") == (
        "700.00 corrected since publication: was 700.00, now 1,000.00"
    )
    assert cell(html, "翠屏区", "score").startswith("60.0% ")
    assert "now 70.0%" in cell(html, "翠屏区", "score")
    # 南溪区 keeps its published rank 1, and shows that it is 2 now.
    assert cell(html, "南溪区", "rank") == "1 corrected since publication: was 1, now 2"
    assert table_rows(html, "county")[1] == ("南溪区", "1", "1")
    # 翠屏区: landing rate, funds, funds completion, score, ahead, funds-in-place rate;
    # 南溪区: rank; 数字经济专班 (a1's task force): funds and funds-in-place rate.
    assert "9 figures in 3 units have been corrected since publication" in html
    with app.test_request_context():
        month = services.month_report(JUNE)
    assert month.change_count == 9 and month.changed_units == 3
    a = month.tables[0].lines[0]
    assert sorted(a.changes) == sorted(
        [
            "landing_rate",
            "out_of_province_funds_wan",
            "funds_completion",
            "score",
            "ahead",
            "funds_rate",
        ]
    )
    # Nothing frozen changed.
    db.session.expire_all()
    assert frozen_rows(db) == before


def test_a_rate_that_changes_below_the_shown_precision_shows_more_decimals():
    assert services.change_texts("rate", D("0.50001"), D("0.50002")) == ("50.001%", "50.002%")
    assert services.change_texts("rate", None, D("0.5")) == ("—", "50.0%")
    assert services.change_texts("amount", D("1"), D("1.0001")) == ("1.00", "1.0001")


def test_publishing_twice_is_refused_and_changes_nothing(client, login, db, people, world):
    login(people["manager"])
    client.post(PUBLISH_URL)
    before = frozen_rows(db)
    client.post("/logout")
    login(people["admin"])
    response = client.post(PUBLISH_URL, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "already been published" in html
    assert count(db, MonthlyReport) == 1
    assert db.session.execute(select(MonthlyReport)).scalar_one().published_by_id == (
        people["manager"].id
    )
    assert frozen_rows(db) == before


def test_losing_the_publishing_race_gives_the_same_message(
    client, login, db, people, world, monkeypatch
):
    login(people["manager"])
    client.post(PUBLISH_URL)
    before = frozen_rows(db)
    # The second publisher checked before the first had inserted: the unique
    # (year, month) constraint refuses the insert.
    monkeypatch.setattr(services, "published_report", lambda period: None)
    response = client.post(PUBLISH_URL, follow_redirects=True)
    assert response.status_code == 200
    assert "already been published" in response.get_data(as_text=True)
    assert count(db, MonthlyReport) == 1
    assert frozen_rows(db) == before


@pytest.mark.parametrize("who", ["staff", "leader"])
def test_staff_and_leaders_may_not_publish(client, login, db, people, who):
    login(people[who])
    assert client.post(PUBLISH_URL).status_code == 403
    assert count(db, MonthlyReport) == 0
    html = client.get(MONTH_URL).get_data(as_text=True)
    assert PUBLISH_URL not in html


@pytest.mark.parametrize("who", ["manager", "admin"])
def test_managers_and_admins_may_publish(client, login, db, people, who):
    login(people[who])
    assert PUBLISH_URL in client.get(MONTH_URL).get_data(as_text=True)
    assert client.post(PUBLISH_URL).status_code == 302
    assert count(db, MonthlyReport) == 1
    assert PUBLISH_URL not in client.get(MONTH_URL).get_data(as_text=True)


def test_a_future_month_cannot_be_published(client, login, db, people):
    login(people["admin"])
    assert client.post("/reports/2099/1/publish").status_code == 404
    assert count(db, MonthlyReport) == 0


def test_publish_report_returns_the_report_for_the_mail_of_issue_4(app, db, people, world):
    with app.test_request_context():
        report = services.publish_report(JUNE, actor=people["admin"])
        db.session.commit()
        assert isinstance(report, MonthlyReport) and report.id
        with pytest.raises(services.AlreadyPublishedError):
            services.publish_report(JUNE, actor=people["admin"])
        db.session.rollback()


# -- print ------------------------------------------------------------------------------------
def test_the_print_view_is_a4_landscape_without_navigation(client, login, people, world):
    login(people["leader"])
    response = client.get(MONTH_URL + "/print")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "size: A4 landscape" in html
    assert "navbar" not in html and "<script>" not in html
    assert [name for name, _, _ in table_rows(html, "county")] == [
        "翠屏区",
        "南溪区",
        "叙州区",
        "江安县",
    ]
    assert "赵局长" in html  # printed by
