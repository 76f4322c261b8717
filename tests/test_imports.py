"""Importing enterprises from real .xlsx and .csv files through the pages, as a manager does."""

from __future__ import annotations

from sqlalchemy import select

from crm.models import Enterprise, EnterpriseGram, ImportJob, ImportStatus, Role, TimelineEvent
from tests.helpers import count
from tests.imports_helpers import code, job_id_of, map_columns, upload, xlsx_bytes

HEADER = ["统一社会信用代码", "企业名称", "所属单位", "所属行业", "是否上市", "世界500强"]


def _world(make_unit, make_user):
    county_a, county_b = make_unit("翠屏区"), make_unit("南溪区")
    manager = make_user(Role.MANAGER, [county_a], name="孙科长", locale="en")
    return county_a, county_b, manager


def _preview(db, job_id) -> dict:
    db.session.expire_all()
    job = db.session.get(ImportJob, job_id)
    assert job.status == ImportStatus.PREVIEWED, (job.status, job.error)
    return {row[0]: row for row in job.preview["rows"]}, job.preview["counts"]


def test_manager_imports_enterprises_from_xlsx(
    app, db, client_for, make_unit, make_user, make_enterprise
):
    county_a, county_b, manager = _world(make_unit, make_user)
    existing = make_enterprise("宜宾已有企业有限公司", units=[county_a])
    rows = [
        HEADER,
        [code(1), "宜宾长盈精密技术有限公司", "翠屏区", None, "是", 2023],
        [code(2), "四川时代新能源科技有限公司", None, None, "否", None],  # the manager's one unit
        [
            "91510100000000003X",
            "错误代码有限公司",
            "翠屏区",
            None,
            None,
            None,
        ],  # bad check character
        [code(4), "未知单位有限公司", "不存在区", None, None, None],
        [code(1), "重复行有限公司", "翠屏区", None, None, None],  # duplicate of row 3
        [code(6), "外县企业有限公司", "南溪区", None, None, None],  # outside the manager's units
        [code(7), None, "翠屏区", None, None, None],  # name missing
        [existing.credit_code, "宜宾已有企业有限公司", "翠屏区", None, None, None],
        [code(9), "上市标记错误有限公司", "翠屏区", None, "也许", None],
    ]
    client = client_for(manager)
    response = upload(client, xlsx_bytes(rows, title="2026年企业名单", blank_tail=5), "企业.xlsx")
    assert response.status_code == 302, response.get_data(as_text=True).split("<main")[1][:1500]
    job_id = job_id_of(response)
    job = db.session.get(ImportJob, job_id)
    assert job.header_row == 2  # the merged title row above is not the header
    assert job.mapping == [
        "credit_code",
        "name",
        "units",
        "industry",
        "is_listed",
        "fortune_global_500_year",
    ]

    response = map_columns(client, job_id)
    assert response.status_code == 302
    by_row, counts = _preview(db, job_id)
    assert counts == {"create": 2, "update": 0, "skip": 1, "refuse": 6}, by_row
    assert by_row[3][1] == "create" and by_row[4][1] == "create"
    assert by_row[5][1] == "refuse" and by_row[5][3][0][0] == "统一社会信用代码"
    assert "check character" in by_row[5][3][0][1]
    assert by_row[6][3] == [["所属单位", "Unknown unit: 不存在区"]]
    assert by_row[7][3] == [["统一社会信用代码", "Duplicate of row 3 in this file."]]
    assert by_row[8][3] == [["所属单位", "南溪区 is outside your units."]]
    assert by_row[9][3] == [["企业名称", "Required value missing."]]
    assert by_row[10][1] == "skip"
    assert by_row[11][3] == [["是否上市", "Not yes or no: 也许"]]
    page = client.get(f"/imports/{job_id}").get_data(as_text=True)
    assert "Unknown unit: 不存在区" in page and "Duplicate of row 3 in this file." in page
    assert count(db, Enterprise) == 1  # the preview wrote nothing

    response = client.post(f"/imports/{job_id}/import", data={})
    assert response.status_code == 302
    db.session.expire_all()
    job = db.session.get(ImportJob, job_id)
    assert job.status == ImportStatus.DONE, job.error
    assert job.result["counts"]["create"] == 2
    created = db.session.execute(
        select(Enterprise).where(Enterprise.credit_code == code(1))
    ).scalar_one()
    assert (
        created.units == [county_a]
        and created.is_listed
        and created.fortune_global_500_year == 2023
    )
    assert created.responsible_id == manager.id and created.created_by_id == manager.id
    second = db.session.execute(
        select(Enterprise).where(Enterprise.credit_code == code(2))
    ).scalar_one()
    assert second.units == [county_a]
    event = db.session.execute(
        select(TimelineEvent).where(TimelineEvent.enterprise_id == created.id)
    ).scalar_one()
    assert (event.kind, event.actor_id, event.data["title"]) == (
        "enterprise.created",
        manager.id,
        created.name,
    )
    assert db.session.execute(
        select(EnterpriseGram.enterprise_id).where(EnterpriseGram.gram == "长盈")
    ).scalars().all() == [created.id]
    listing = client.get("/enterprises/?q=changying").get_data(as_text=True)
    assert "宜宾长盈精密技术有限公司" in listing
