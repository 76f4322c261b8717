"""The month-cumulative funds totals stay equal to the entries they summarise."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from crm.models import FundsEntry, FundsSource, ProjectStage, UnitKind, project_funds_year
from crm.projects import funds_rollup
from crm.projects.services import create_project, record_funds


def _rows(db):
    return sorted(tuple(row) for row in db.session.execute(select(project_funds_year)).all())


def test_incremental_totals_equal_a_rebuild_and_the_entries(app, db, make_unit, make_enterprise):
    county = make_unit("翠屏区", UnitKind.COUNTY)
    firm = make_enterprise("宜宾测试企业有限公司", units=[county])
    chance = random.Random(20261126)
    with app.test_request_context():
        projects = [
            create_project(
                firm,
                actor=None,
                name=f"项目{i}",
                stage=ProjectStage.SIGNED,
                stage_on=date(2025, 1, 2),
            )
            for i in range(3)
        ]
        entries = []
        for _ in range(60):
            project = chance.choice(projects)
            if entries and chance.random() < 0.2:
                wrong = chance.choice([e for e in entries if e.project_id == project.id] or entries)
                project = next(p for p in projects if p.id == wrong.project_id)
                entry = record_funds(
                    project,
                    actor=None,
                    month=None,
                    source=wrong.source,
                    amount_wan=(-wrong.amount_wan / 2).quantize(Decimal("0.0001")),
                    corrects=wrong,
                    note="更正",
                )
            else:
                entry = record_funds(
                    project,
                    actor=None,
                    month=date(chance.choice([2025, 2026]), chance.randint(1, 10), 1),
                    source=chance.choice(list(FundsSource)),
                    amount_wan=Decimal(chance.randint(1, 10**8)).scaleb(-4),
                )
            entries.append(entry)
        db.session.commit()
        incremental = _rows(db)
        funds_rollup.rebuild()
        db.session.commit()
        assert _rows(db) == incremental

        # Spot-check against the entries: project 0, 2026, to June.
        project = projects[0]
        expected = db.session.execute(
            select(func.coalesce(func.sum(FundsEntry.amount_wan), 0)).where(
                FundsEntry.project_id == project.id,
                FundsEntry.month.between(date(2026, 1, 1), date(2026, 6, 1)),
            )
        ).scalar()
        expected_oop = db.session.execute(
            select(func.coalesce(func.sum(FundsEntry.amount_wan), 0)).where(
                FundsEntry.project_id == project.id,
                FundsEntry.month.between(date(2026, 1, 1), date(2026, 6, 1)),
                FundsEntry.source == FundsSource.OUTSIDE_PROVINCE,
            )
        ).scalar()
        row = db.session.execute(
            select(funds_rollup.total_column(6), funds_rollup.oop_column(6)).where(
                project_funds_year.c.project_id == project.id, project_funds_year.c.year == 2026
            )
        ).one_or_none()
        assert (row or (Decimal(0), Decimal(0))) == (expected, expected_oop)
