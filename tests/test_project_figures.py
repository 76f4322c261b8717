"""The rates and the ranking, against figures computed by hand.

One world, period January–June 2026 (all dates are before today, 2026-11-26 or later):

county A, counting rule 2026: minimum 1,000 万元, real estate excluded, terminated count.
  P1 key 100,000 万元, signed 02-10, landed 03-01, started 05-20, planned start 06-01 → performing
  P2 20,000, signed 05-15, landed 07-02 (next period), planned start 06-10 not met → not performing
  P3 signed 2025-12-20 (last year), landed 2026-01-10 → not signed in the period
  P4 5,000, signed 03-01, terminated 04-01 → signed, not landed, not performing
  P5 30,000 real estate, signed 01-15 → excluded by the rule
  P6 500, signed 04-10 → below the minimum, excluded
  P8 8,000, negotiation 01-05, straight to started 06-30 (irregular) → signed, landed, started
  P9 10,000, signed 02-01, landed 03-01, back to signed 04-01 → not landed; policy clawed back
county B: P7 in negotiation since 01-05 → nothing signed: every rate "no figure"
county C: no projects, no target → unranked

Counted signed in A: P1 P2 P4 P8 P9 = 5, amount 143,000.
landed 2 (P1, P8) → 0.4; started 2 (P1, P8) → 0.4; producing 0; performing 2 (P1, P8) → 0.4.
Funds of those (≤ 06-30): P1 3,000 + 2,000, P2 500.25 − 0.25 → 5,500 / 143,000.
Funds in the period's months, all counted projects: 5,000 + 500 + P3 700 = 6,200; out of province 3,700.
Targets A: 10 projects, 200,000 万元, 7,400 out-of-province → 0.5, 0.715, 0.5 → score 0.571666…
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from crm.models import (
    CountingRule,
    FundsSource,
    Industry,
    PolicyStatus,
    ProjectStage,
    StallThreshold,
    Target,
    UnitKind,
)
from crm.policies.services import create_policy
from crm.projects import figures
from crm.projects.figures import Period
from crm.projects.services import change_stage, create_project, record_funds

D = Decimal


def _move(project, stage, day, reason=None):
    change_stage(
        project,
        actor=None,
        expected_version=project.version,
        to_stage=stage,
        effective_on=day,
        reason=reason,
    )


@pytest.fixture
def world(app, db, make_unit, make_enterprise):
    with app.test_request_context():
        a = make_unit("翠屏区", UnitKind.COUNTY)
        b = make_unit("叙州区", UnitKind.COUNTY)
        c = make_unit("南溪区", UnitKind.COUNTY)
        tf = make_unit("数字经济专班", UnitKind.TASK_FORCE)
        estate = Industry(name="房地产")
        db.session.add(estate)
        db.session.flush()
        firm = make_enterprise("宜宾测试企业有限公司", units=[a])

        def project(name, county, stage, on, amount=None, **extra):
            return create_project(
                firm,
                actor=None,
                name=name,
                county=county,
                stage=stage,
                stage_on=on,
                contract_amount_wan=D(amount) if amount is not None else None,
                **extra,
            )

        p1 = project(
            "P1",
            a,
            ProjectStage.SIGNED,
            date(2026, 2, 10),
            "100000",
            task_force=tf,
            planned_start_on=date(2026, 6, 1),
        )
        _move(p1, ProjectStage.LANDED, date(2026, 3, 1))
        _move(p1, ProjectStage.STARTED, date(2026, 5, 20))
        p2 = project(
            "P2",
            a,
            ProjectStage.SIGNED,
            date(2026, 5, 15),
            "20000",
            planned_start_on=date(2026, 6, 10),
        )
        _move(p2, ProjectStage.LANDED, date(2026, 7, 2))
        p3 = project("P3", a, ProjectStage.SIGNED, date(2025, 12, 20), "40000")
        _move(p3, ProjectStage.LANDED, date(2026, 1, 10))
        p4 = project("P4", a, ProjectStage.SIGNED, date(2026, 3, 1), "5000")
        _move(p4, ProjectStage.TERMINATED, date(2026, 4, 1), reason="投资方撤资")
        p5 = project("P5", a, ProjectStage.SIGNED, date(2026, 1, 15), "30000", industry=estate)
        project("P6", a, ProjectStage.SIGNED, date(2026, 4, 10), "500")
        p7 = project("P7", b, ProjectStage.NEGOTIATION, date(2026, 1, 5))
        p8 = project("P8", a, ProjectStage.NEGOTIATION, date(2026, 1, 5), "8000")
        _move(p8, ProjectStage.STARTED, date(2026, 6, 30), reason="签约即开工")
        p9 = project("P9", a, ProjectStage.SIGNED, date(2026, 2, 1), "10000")
        _move(p9, ProjectStage.LANDED, date(2026, 3, 1))
        _move(p9, ProjectStage.SIGNED, date(2026, 4, 1), reason="用地未落实")
        create_policy(
            firm, actor=None, name="设备补贴", project=p9, status=PolicyStatus.CLAWED_BACK
        )
        create_policy(firm, actor=None, name="租金减免", project=p1, status=PolicyStatus.HONOURED)

        def funds(p, month, source, amount, corrects=None, note=None):
            return record_funds(
                p,
                actor=None,
                month=month,
                source=source,
                amount_wan=D(amount),
                corrects=corrects,
                note=note,
            )

        funds(p1, date(2026, 3, 1), FundsSource.OUTSIDE_PROVINCE, "3000")
        funds(p1, date(2026, 5, 1), FundsSource.WITHIN_CITY, "2000")
        funds(p1, date(2026, 7, 1), FundsSource.OUTSIDE_PROVINCE, "1000")
        wrong = funds(p2, date(2026, 6, 1), FundsSource.OUTSIDE_CITY, "500.25")
        funds(p2, None or date(2026, 6, 1), FundsSource.OUTSIDE_CITY, "-0.25", wrong, "多报")
        funds(p3, date(2026, 2, 1), FundsSource.OUTSIDE_PROVINCE, "700")
        funds(p5, date(2026, 3, 1), FundsSource.OUTSIDE_PROVINCE, "999")

        rule = CountingRule(year=2026, min_contract_amount_wan=D("1000"), count_terminated=True)
        rule.excluded_industries = [estate]
        db.session.add(rule)
        db.session.add_all(
            [
                Target(
                    year=2026,
                    unit_id=a.id,
                    new_projects=10,
                    contract_amount_wan=D("200000"),
                    out_of_province_funds_wan=D("7400"),
                ),
                Target(year=2026, unit_id=b.id, new_projects=4),
            ]
        )
        db.session.commit()
        return {"a": a, "b": b, "c": c, "tf": tf, "rule": rule, "p7": p7, "p2": p2}


JUNE = Period(2026, 6)


def test_county_figures_match_the_hand_computation(app, world):
    with app.app_context():
        by_county = figures.grouped_figures(JUNE, figures.GROUP_COLUMN[UnitKind.COUNTY])
        a = by_county[world["a"].id]
    assert a.signed == 5
    assert a.signed_amount_wan == D("143000")
    assert (a.landed, a.started, a.producing, a.performing, a.key_signed) == (2, 2, 0, 2, 1)
    assert a.landing_rate == D("0.4")
    assert a.start_rate == D("0.4")
    assert a.completion_rate == D(0)
    assert a.performance_rate == D("0.4")
    assert a.funds_of_signed_wan == D("5500")
    assert a.funded_amount_wan == D("143000")
    assert a.funds_rate == D("5500") / D("143000")
    assert a.funds_wan == D("6200")
    assert a.out_of_province_funds_wan == D("3700")


def test_a_unit_with_nothing_signed_has_no_rates_not_zero(app, world):
    with app.app_context():
        rows = {row.unit_id: row for row in figures.ranking(JUNE, UnitKind.COUNTY)}
    b = rows[world["b"].id].figures
    assert b.signed == 0
    for rate in (b.landing_rate, b.start_rate, b.completion_rate, b.performance_rate, b.funds_rate):
        assert rate is None
    assert b.projects_completion == D(0)


def test_ranking_orders_by_mean_completion_and_leaves_units_without_targets_unranked(app, world):
    with app.app_context():
        rows = figures.ranking(JUNE, UnitKind.COUNTY)
    assert [(row.unit_name, row.rank) for row in rows] == [
        ("翠屏区", 1),
        ("叙州区", 2),
        ("南溪区", None),
    ]
    a = rows[0].figures
    assert a.projects_completion == D("0.5")
    assert a.amount_completion == D("0.715")
    assert a.funds_completion == D("0.5")
    assert a.score == (D("0.5") + D("0.715") + D("0.5")) / 3
    assert a.schedule == D(6) / D(12)
    assert a.behind_schedule is False  # 57.2% against 50% due by June


def test_task_forces_group_by_their_own_column(app, world):
    with app.app_context():
        rows = figures.ranking(JUNE, UnitKind.TASK_FORCE)
    assert [(row.unit_name, row.figures.signed, row.rank) for row in rows] == [
        ("数字经济专班", 1, None)
    ]


def test_a_project_landed_in_the_next_period_counts_there(app, world):
    with app.app_context():
        july = figures.grouped_figures(Period(2026, 7), figures.GROUP_COLUMN[UnitKind.COUNTY])
    a = july[world["a"].id]
    assert a.signed == 5 and a.landed == 3  # P2 landed on 07-02
    assert a.funds_of_signed_wan == D("6500")  # P1's July funds now count


def test_the_counting_rule_is_data(app, db, world):
    with app.app_context():
        rule = db.session.get(CountingRule, world["rule"].id)
        rule.excluded_industries = []
        rule.min_contract_amount_wan = None
        rule.count_terminated = False
        db.session.commit()
        a = figures.grouped_figures(JUNE, figures.GROUP_COLUMN[UnitKind.COUNTY])[world["a"].id]
    # P5 and P6 now count; P4 (terminated 04-01) does not.
    assert a.signed == 6
    assert a.signed_amount_wan == D("143000") - D("5000") + D("30000") + D("500")
    assert a.out_of_province_funds_wan == D("3700") + D("999")


def test_a_period_before_a_termination_still_counts_the_project_as_going(app, world):
    with app.app_context():
        march = figures.grouped_figures(Period(2026, 3), figures.GROUP_COLUMN[UnitKind.COUNTY])
    a = march[world["a"].id]
    # Signed by 03-31: P1 (02-10), P4 (03-01), P9 (02-01). P9 was recorded as landed on
    # 03-01 and moved back on 04-01: a move back withdraws the landing from every period
    # (核减), so March counts only P1. A published March report keeps its figure and
    # shows the difference.
    assert a.signed == 3
    assert a.landed == 1
    assert a.performing == 2  # P4 not yet terminated; P9's clawback counts whenever it happened


def test_city_totals_and_scope(app, world):
    with app.app_context():
        total = figures.total_figures(JUNE)
        assert total.signed == 5
        only_b = figures.total_figures(JUNE, figures.Project.county_id == world["b"].id)
        assert only_b.signed == 0 and only_b.landing_rate is None
        assert figures.city_targets(2026) == (14, D("200000"), D("7400"))


def test_dashboard_counts(app, world):
    with app.app_context():
        counts = figures.overview(None, JUNE, date(2026, 11, 26))
        assert counts.stages[ProjectStage.NEGOTIATION] == 1
        assert counts.stages[ProjectStage.TERMINATED] == 1
        assert sum(counts.stages.values()) == 9
        assert counts.signed["month"] == (1, D("8000"))  # P8 on 06-30
        assert counts.signed["quarter"] == (2, D("28000"))  # P2 05-15, P8
        assert counts.signed["year"] == (5, D("143000"))
        assert counts.monthly[1] == (2, D("110000"))  # February: P1, P9
        assert counts.monthly[6] == (0, D(0))  # nothing signed in July
        assert counts.key_total == 1
        assert [row.name for row in figures.key_projects(None)] == ["P1"]
        assert counts.stalled_total == 3


def test_stalled_projects_follow_city_and_county_thresholds(app, db, world):
    today = date(2026, 11, 26)
    with app.app_context():
        rows = figures.stalled_projects(None, today)
        total = figures.overview(None, JUNE, today).stalled_total
        # Defaults: negotiation 30 days, signed 20, landed 15, counted from the last progress
        # (a stage change, an edit, a funds report). P7 negotiating since 01-05, P9 signed
        # since 04-01, P6 since 04-10. P2, P3, P5 reported funds (today, in these tests'
        # world), P1 and P8 have started (no threshold), P4 is terminated.
        assert {row.name for row in rows} == {"P7", "P9", "P6"}
        assert total == 3
        db.session.add(
            StallThreshold(unit_id=world["b"].id, stage=ProjectStage.NEGOTIATION, days=400)
        )
        db.session.add(StallThreshold(unit_id=None, stage=ProjectStage.SIGNED, days=236))
        db.session.commit()
        rows = figures.stalled_projects(None, today)
        # P7's county allows 400 days; P9 (239 days) still over 236, P6 (230) not.
        assert {row.name for row in rows} == {"P9"}


def test_projects_of_a_deleted_enterprise_do_not_count_in_any_scope(
    app, db, world, make_enterprise, make_user
):
    from crm.access import Access
    from crm.enterprises.services import delete_enterprise
    from crm.models import Role

    with app.test_request_context():
        other = make_enterprise("宜宾另一家企业有限公司", units=[world["a"]])
        create_project(
            other,
            actor=None,
            name="P10",
            county=world["a"],
            stage=ProjectStage.SIGNED,
            stage_on=date(2026, 3, 3),
            contract_amount_wan=D("7000"),
        )
        db.session.commit()
        staff = make_user(Role.STAFF, [world["a"]])
        scoped = Access(staff).project_scope()
        assert figures.total_figures(JUNE).signed == 6
        assert figures.total_figures(JUNE, scoped).signed == 6
        delete_enterprise(other, actor=None)
        db.session.commit()
        # Everyone's figures (no enterprise join) and a county's (joined) agree.
        assert figures.total_figures(JUNE).signed == 5
        assert figures.total_figures(JUNE, scoped).signed == 5
        today = date(2026, 11, 26)
        assert sum(figures.overview(None, JUNE, today).stages.values()) == 9
        assert sum(figures.overview(scoped, JUNE, today).stages.values()) == 9


def test_the_one_pass_and_the_narrow_queries_agree(app, world):
    from crm.models import Enterprise

    today = date(2026, 11, 26)
    with app.app_context():
        for period in (JUNE, Period(2026, 3), Period(2026, 11)):
            narrow = figures.overview(None, period, today)
            # A scope that tests the enterprise (so: one pass) yet admits every project.
            one_pass = figures.overview(Enterprise.id > 0, period, today)
            assert one_pass == narrow
            assert narrow.stalled_total == 3 and narrow.key_total == 1
