"""Files saved by LibreOffice (tests/fixtures/imports, see its README), imported as a manager would."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from crm.models import Enterprise, ImportJob, ImportStatus, Project, Role
from tests.imports_helpers import job_id_of, map_columns, upload

FIXTURES = Path(__file__).parent / "fixtures" / "imports"


def _preview(client, db, name, kind):
    response = upload(client, (FIXTURES / name).read_bytes(), name, kind)
    assert response.status_code == 302
    job_id = job_id_of(response)
    assert map_columns(client, job_id).status_code == 302
    db.session.expire_all()
    job = db.session.get(ImportJob, job_id)
    assert job.status == ImportStatus.PREVIEWED, job.error
    return job


def test_enterprises_and_projects_saved_by_libreoffice(db, client_for, make_unit, make_user):
    manager = make_user(Role.MANAGER, [make_unit("翠屏区")], locale="en")
    client = client_for(manager)

    job = _preview(client, db, "enterprises.xlsx", "enterprises")
    assert job.header_row == 3  # below the merged title and the merged group header
    assert job.mapping == [
        "credit_code",
        "name",
        "units",
        "is_listed",
        "fortune_global_500_year",
        "region",
    ]
    rows = {row[0]: row for row in job.preview["rows"]}
    assert sorted(rows) == [4, 5, 6, 7]  # the formatted blank rows at the end are not rows
    assert [rows[n][1] for n in (4, 5, 6, 7)] == ["create", "create", "refuse", "refuse"]
    assert rows[6][3][0][0] == "统一社会信用代码"
    assert rows[7][3] == [["所属单位", "Unknown unit: 高新区"]]
    client.post(f"/imports/{job.id}/import")
    first = db.session.execute(select(Enterprise).order_by(Enterprise.id)).scalars().first()
    assert (first.name, first.is_listed, first.fortune_global_500_year) == (
        "宜宾长盈精密技术有限公司",
        True,
        2023,
    )

    job = _preview(client, db, "projects.xlsx", "projects")
    rows = {row[0]: row for row in job.preview["rows"]}
    assert [rows[n][1] for n in (2, 3, 4)] == ["create", "create", "refuse"]
    assert rows[4][3] == [["阶段日期", "Not a date: 下个月"]]
    client.post(f"/imports/{job.id}/import")
    projects = {p.platform_number: p for p in db.session.execute(select(Project)).scalars()}
    assert projects["YB-LO-001"].signed_on == date(2025, 3, 1)  # the serial number 45717
    assert projects["YB-LO-001"].contract_amount_wan == Decimal("1234.5")  # a number stored as text
    assert projects["YB-LO-002"].stage_since == date(2025, 3, 1)  # a date cell
    assert projects["YB-LO-002"].contract_amount_wan == Decimal("800")  # full-width digits


def test_a_csv_saved_by_libreoffice(db, client_for, make_unit, make_user):
    unit = make_unit("翠屏区")
    client = client_for(make_user(Role.MANAGER, [unit], locale="en"))
    job = _preview(client, db, "enterprises-libreoffice-utf8.csv", "enterprises")
    assert job.header_row == 3
    assert job.preview["counts"] == {"create": 2, "update": 0, "skip": 0, "refuse": 2}
