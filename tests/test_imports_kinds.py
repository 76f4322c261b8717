"""Contacts, projects and monthly funds from spreadsheets, through the same services as the pages."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from crm.clock import local_today
from crm.models import (
    Contact,
    FundsEntry,
    ImportJob,
    ImportStatus,
    Project,
    ProjectStage,
    Role,
    UnitKind,
)
from crm.projects.services import create_project
from tests.helpers import events
from tests.imports_helpers import job_id_of, map_columns, upload, xlsx_bytes


def _run(client, db, data, kind, filename="x.xlsx", on_existing="skip"):
    job_id = job_id_of(upload(client, data, filename, kind))
    assert map_columns(client, job_id, on_existing=on_existing).status_code == 302
    db.session.expire_all()
    job = db.session.get(ImportJob, job_id)
    assert job.status == ImportStatus.PREVIEWED, (job.status, job.error)
    preview = {row[0]: row for row in job.preview["rows"]}
    client.post(f"/imports/{job_id}/import")
    db.session.expire_all()
    job = db.session.get(ImportJob, job_id)
    assert job.status == ImportStatus.DONE, job.error
    return preview, job


def test_contacts_find_their_enterprise_by_credit_code(
    db, client_for, make_unit, make_user, make_enterprise
):
    county_a, county_b = make_unit("翠屏区"), make_unit("南溪区")
    manager = make_user(Role.MANAGER, [county_a], locale="en")
    ours = make_enterprise("宜宾长盈精密技术有限公司", units=[county_a])
    theirs = make_enterprise("南溪企业有限公司", units=[county_b])
    rows = [
        ["统一社会信用代码", "联系人", "职务", "手机", "邮箱", "主要联系人"],
        [ours.credit_code, "王经理", "总经理", 13800138000, "wang@example.com", "是"],
        [
            ours.credit_code,
            "李会计",
            None,
            "0831-1234567",
            "不是邮箱",
            None,
        ],  # the service refuses it
        [theirs.credit_code, "赵总", None, None, None, None],  # outside the manager's units
        [ours.credit_code, "王经理", None, None, None, None],  # duplicate of row 2
    ]
    client = client_for(manager)
    preview, job = _run(client, db, xlsx_bytes(rows), "contacts")
    assert preview[2][1] == "create"
    assert preview[3][1] == "refuse" and preview[3][3] == [["邮箱", "Enter a valid email address."]]
    assert preview[4][3] == [
        ["统一社会信用代码", "No enterprise with this credit code in your units."]
    ]
    assert preview[5][3] == [["统一社会信用代码", "Duplicate of row 2 in this file."]]
    contact = db.session.execute(select(Contact)).scalar_one()
    assert (contact.name, contact.phone, contact.is_main) == ("王经理", "13800138000", True)
    (event,) = events(db, "contact.created")
    assert event.actor_id == manager.id and event.enterprise_id == ours.id


def test_projects_and_their_funds(db, client_for, make_unit, make_user, make_enterprise):
    county = make_unit("翠屏区", UnitKind.COUNTY)
    other = make_unit("南溪区", UnitKind.COUNTY)
    manager = make_user(Role.MANAGER, [county], locale="en")
    enterprise = make_enterprise("宜宾长盈精密技术有限公司", units=[county])
    signed_on = local_today() - timedelta(days=60)
    project_rows = [
        [
            "市平台项目编号",
            "统一社会信用代码",
            "项目名称",
            "项目阶段",
            "阶段日期",
            "协议投资额（万元）",
            "县(区)",
        ],
        [
            "YB-2026-001",
            enterprise.credit_code,
            "长盈精密二期",
            "签约",
            signed_on.isoformat(),
            "50,000",
            "翠屏区",
        ],
        ["YB-2026-002", enterprise.credit_code, "长盈精密三期", "在谈", None, "很多", "翠屏区"],
        ["YB-2026-003", enterprise.credit_code, "外县项目", "储备", None, None, "南溪区"],
        ["YB-2026-001", enterprise.credit_code, "重复编号", "储备", None, None, "翠屏区"],
    ]
    client = client_for(manager)
    preview, _job = _run(client, db, xlsx_bytes(project_rows), "projects")
    assert preview[2][1] == "create"
    assert preview[3][3] == [["协议投资额（万元）", "Not a number: 很多"]]
    assert preview[4][3] == [["县(区)", "南溪区 is outside your units."]]
    assert preview[5][3] == [["市平台项目编号", "Duplicate of row 2 in this file."]]
    project = db.session.execute(select(Project)).scalar_one()
    assert project.stage == ProjectStage.SIGNED and project.signed_on == signed_on
    assert project.contract_amount_wan == Decimal("50000") and project.county_id == county.id
    assert events(db, "project.created")[0].actor_id == manager.id
    assert other.id != county.id

    month = local_today().replace(day=1)
    funds_rows = [
        ["项目编号", "月份", "资金来源", "到位资金（万元）", "备注"],
        ["YB-2026-001", f"{month.year}年{month.month}月", "省外", "1,200.5", None],
        ["YB-2026-001", month.isoformat(), "市内", "三百", None],
        ["YB-2026-999", month.isoformat(), "市内", 300, None],
        ["YB-2026-001", "上个月", "市内", 300, None],
    ]
    preview, _job = _run(client, db, xlsx_bytes(funds_rows), "funds")
    assert preview[2][1] == "create"
    assert preview[3][3] == [["到位资金（万元）", "Not a number: 三百"]]
    assert preview[4][3] == [
        ["项目编号", "No project with this city platform number in your units."]
    ]
    assert preview[5][3] == [["月份", "Not a month: 上个月"]]
    entry = db.session.execute(select(FundsEntry)).scalar_one()
    assert (entry.month, entry.amount_wan, entry.source.value) == (
        month,
        Decimal("1200.5"),
        "outside_province",
    )

    # The same month and source again, set to update: a correction by the difference.
    again = [funds_rows[0], ["YB-2026-001", month.isoformat(), "省外", 1500, None]]
    preview, _job = _run(client, db, xlsx_bytes(again), "funds", on_existing="update")
    assert preview[2][1] == "update"
    total = db.session.execute(select(func.sum(FundsEntry.amount_wan))).scalar()
    assert Decimal(total) == Decimal("1500")
    correction = db.session.execute(
        select(FundsEntry).order_by(FundsEntry.id.desc()).limit(1)
    ).scalar_one()
    assert correction.corrects_id == entry.id and correction.amount_wan == Decimal("299.5")


def test_project_update_by_platform_number_moves_its_stage(
    db, client_for, make_unit, make_user, make_enterprise, app
):
    county = make_unit("翠屏区", UnitKind.COUNTY)
    manager = make_user(Role.MANAGER, [county], locale="en")
    enterprise = make_enterprise("宜宾长盈精密技术有限公司", units=[county])
    with app.test_request_context():
        create_project(
            enterprise,
            actor=manager,
            name="长盈精密二期",
            platform_number="YB-1",
            county=county,
            stage=ProjectStage.NEGOTIATION,
            stage_on=local_today() - timedelta(days=30),
        )
        db.session.commit()
    rows = [
        ["项目编号", "统一社会信用代码", "项目名称", "阶段", "阶段日期"],
        ["YB-1", enterprise.credit_code, "长盈精密二期", "签约", local_today().isoformat()],
    ]
    preview, _job = _run(
        client_for(manager), db, xlsx_bytes(rows), "projects", on_existing="update"
    )
    assert preview[2][1] == "update"
    project = db.session.execute(select(Project)).scalar_one()
    assert project.stage == ProjectStage.SIGNED
    (event,) = events(db, "project.stage_changed")
    assert event.actor_id == manager.id
