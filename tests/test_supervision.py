"""Supervision items (督办事项) and on-site checks (实地核查): the record, the list, access."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from crm.documents.storage import get_storage
from crm.models import (
    CheckOutcome,
    Document,
    DocumentKind,
    EnterpriseIssue,
    Escalation,
    IssueCategory,
    ProjectStage,
    Reminder,
    ReminderStatus,
    SupervisionCheck,
    SupervisionItem,
    SupervisionStatus,
)
from crm.models.base import utcnow
from crm.projects.services import create_project
from crm.supervision.services import start_of_next_week
from tests.helpers import count, events, today, two_counties

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64)
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(64)

ERROR = re.compile(r'<div class="invalid-feedback[^"]*"[^>]*>(.*?)</div>', re.S)


def field_errors(html: str) -> dict[str, list[str]]:
    """Errors shown under each field, by the field's id (the control before the error)."""
    found: dict[str, list[str]] = {}
    for match in ERROR.finditer(html):
        before = html[: match.start()]
        ids = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', before)
        found.setdefault(ids[-1] if ids else "?", []).append(match.group(1).strip())
    return found


@pytest.fixture
def world(app, db, make_unit, make_user, make_enterprise):
    people = two_counties(make_unit, make_user, manager=True)
    ent_a = make_enterprise(
        "宜宾新能源有限公司", units=[people["county_a"]], responsible=people["staff"]
    )
    ent_b = make_enterprise(
        "南溪食品有限公司", units=[people["county_b"]], responsible=people["other"]
    )
    with app.test_request_context():
        project = create_project(
            ent_a,
            actor=people["staff"],
            name="锂电池二期",
            county=people["county_a"],
            contract_amount_wan=Decimal("50000"),
            stage=ProjectStage.SIGNED,
            stage_on=today() - timedelta(days=10),
        )
        db.session.commit()
    issue = EnterpriseIssue(enterprise_id=ent_a.id, category=IssueCategory.LAND, title="用地指标")
    db.session.add(issue)
    db.session.commit()
    return {**people, "ent_a": ent_a, "ent_b": ent_b, "project": project, "issue": issue}


def item_form(world, **overrides) -> dict:
    data = {
        "project": world["project"].id,
        "issue": "",
        "title": "二期开工",
        "target_stage": ProjectStage.STARTED.value,
        "due_date": (today() + timedelta(days=30)).isoformat(),
        "unit": world["county_a"].id,
        "owner": world["colleague"].id,
        "note": "市政府专题会议督办",
    }
    data.update(overrides)
    return data


def add_item(db, world, title="督办事项", *, days=10, status=SupervisionStatus.OPEN, **fields):
    """Insert directly, so that past due dates and other statuses can be set up."""
    item = SupervisionItem(
        enterprise_id=fields.pop("enterprise", world["ent_a"]).id,
        project_id=fields.pop("project_id", world["project"].id),
        title=title,
        due_date=today() + timedelta(days=days),
        unit_id=fields.pop("unit", world["county_a"]).id,
        status=status,
        **fields,
    )
    db.session.add(item)
    db.session.commit()
    return item


def create(client, world, **overrides) -> SupervisionItem:
    url = f"/enterprises/{world['ent_a'].id}/supervision/new"
    response = client.post(url, data=item_form(world, **overrides))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    from crm.extensions import db

    return db.session.execute(
        select(SupervisionItem).order_by(SupervisionItem.id.desc()).limit(1)
    ).scalar_one()


# -- creating ---------------------------------------------------------------------------
def test_create_on_a_project(client, login, db, world):
    login(world["staff"])
    url = f"/enterprises/{world['ent_a'].id}/supervision/new?project_id={world['project'].id}"
    page = client.get(url).get_data(as_text=True)
    assert f'<option selected value="{world["project"].id}">' in page
    # Only units the creator can see are offered.
    assert "翠屏区" in page and "南溪区" not in page

    response = client.post(url, data=item_form(world))
    item = db.session.execute(select(SupervisionItem)).scalar_one()
    assert response.headers["Location"].endswith(f"/supervision/{item.id}")
    assert item.enterprise_id == world["ent_a"].id
    assert item.project_id == world["project"].id and item.issue_id is None
    assert item.target_stage == ProjectStage.STARTED
    assert item.due_date == today() + timedelta(days=30)
    assert item.unit_id == world["county_a"].id
    assert item.owner_id == world["colleague"].id
    assert item.status == SupervisionStatus.OPEN
    assert item.created_by_id == world["staff"].id

    (created,) = events(db, "supervision.created")
    assert created.enterprise_id == world["ent_a"].id
    assert created.subject_type == "supervision" and created.subject_id == item.id
    assert created.data["title"] == "二期开工"
    assert created.data["target_stage"] == "started"
    assert created.data["unit"] == "翠屏区"
    assert created.data["owner"] == "李强"
    assert created.data["project_id"] == world["project"].id

    # Planned in the same transaction: the owner is reminded, the unit's manager escalated to.
    reminders = db.session.execute(
        select(Reminder).where(Reminder.subject_type == "supervision")
    ).scalars()
    planned = {(r.kind, r.recipient_id) for r in reminders}
    assert ("supervision.due", world["colleague"].id) in planned
    assert ("supervision.escalation", world["manager"].id) in planned

    page = client.get(f"/supervision/{item.id}").get_data(as_text=True)
    assert "二期开工" in page and "Construction started" in page and "锂电池二期" in page


def test_create_on_an_issue(client, login, db, world):
    login(world["staff"])
    url = f"/enterprises/{world['ent_a'].id}/supervision/new?issue_id={world['issue'].id}"
    assert client.get(url).status_code == 200
    item = create(
        client,
        world,
        project="",
        issue=world["issue"].id,
        target_stage="",
        owner="",
        title="落实用地",
    )
    assert item.issue_id == world["issue"].id and item.project_id is None
    assert item.owner_id is None
    issue_page = client.get(f"/issues/{world['issue'].id}").get_data(as_text=True)
    assert "落实用地" in issue_page
    assert f"/enterprises/{world['ent_a'].id}/supervision/new?issue_id={world['issue'].id}" in (
        issue_page.replace("&amp;", "&")
    )


def test_an_issue_of_another_enterprise_is_404(client, login, db, world):
    other_issue = EnterpriseIssue(
        enterprise_id=world["ent_b"].id, category=IssueCategory.POWER, title="用电"
    )
    db.session.add(other_issue)
    db.session.commit()
    login(world["staff"])
    url = f"/enterprises/{world['ent_a'].id}/supervision/new?issue_id={other_issue.id}"
    assert client.get(url).status_code == 404
    # Posted as a choice it is not one.
    response = client.post(
        f"/enterprises/{world['ent_a'].id}/supervision/new",
        data=item_form(world, project="", issue=other_issue.id, target_stage=""),
    )
    assert response.status_code == 400
    assert count(db, SupervisionItem) == 0


BAD = {
    "no title": ({"title": "  "}, "title"),
    "no due date": ({"due_date": ""}, "due_date"),
    "past due date": ({"due_date": "2020-01-01"}, "due_date"),
    "malformed due date": ({"due_date": "2026-13-45"}, "due_date"),
    "no unit": ({"unit": ""}, "unit"),
    "nothing supervised": ({"project": "", "issue": "", "target_stage": ""}, "project"),
    "stage already reached": ({"target_stage": "signed"}, "target_stage"),
    "stage without a project": (
        {"project": "", "issue": "ISSUE", "target_stage": "started"},
        "target_stage",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_names_the_field_and_saves_nothing(client, login, db, world, case):
    changes, field = BAD[case]
    if changes.get("issue") == "ISSUE":
        changes = {**changes, "issue": world["issue"].id}
    login(world["staff"])
    response = client.post(
        f"/enterprises/{world['ent_a'].id}/supervision/new", data=item_form(world, **changes)
    )
    assert response.status_code == 400
    errors = field_errors(response.get_data(as_text=True))
    assert list(errors) == [field], errors
    assert count(db, SupervisionItem) == 0
    assert events(db, "supervision.created") == []
    assert count(db, Reminder) == 0


def test_errors_are_in_the_users_language(client, login, db, world, make_user):
    from crm.models import Role

    chinese = make_user(Role.STAFF, [world["county_a"]], locale="zh_CN")
    login(chinese)
    # The form's own checks (a required unit) and the service's (a past date) both speak Chinese.
    for changes, field in (({"unit": ""}, "unit"), ({"due_date": "2020-01-01"}, "due_date")):
        response = client.post(
            f"/enterprises/{world['ent_a'].id}/supervision/new", data=item_form(world, **changes)
        )
        errors = field_errors(response.get_data(as_text=True))
        assert list(errors) == [field], errors
        assert all(re.search(r"[\u4e00-\u9fff]", m) for m in errors[field]), errors


def test_a_unit_out_of_reach_is_refused(client, login, db, world):
    login(world["staff"])
    response = client.post(
        f"/enterprises/{world['ent_a'].id}/supervision/new",
        data=item_form(world, unit=world["county_b"].id),
    )
    assert response.status_code == 400
    assert "unit" in field_errors(response.get_data(as_text=True))
    assert count(db, SupervisionItem) == 0


# -- editing, done, cancel, delete ---------------------------------------------------------
def test_edit_records_old_and_new(client, login, db, world):
    login(world["staff"])
    item = create(client, world)
    page = client.get(f"/supervision/{item.id}/edit").get_data(as_text=True)
    assert 'name="version"' in page and 'value="1"' in page
    new_due = today() + timedelta(days=60)
    response = client.post(
        f"/supervision/{item.id}/edit",
        data={
            "title": "二期开工（调整）",
            "target_stage": "producing",
            "due_date": new_due.isoformat(),
            "unit": world["county_a"].id,
            "owner": world["staff"].id,
            "note": "市政府专题会议督办",
            "version": item.version,
        },
    )
    assert response.status_code == 302
    db.session.refresh(item)
    assert item.title == "二期开工（调整）"
    assert item.due_date == new_due and item.owner_id == world["staff"].id
    assert item.version == 2
    (updated,) = events(db, "supervision.updated", item.id)
    changes = {c["field"]: (c["old"], c["new"]) for c in updated.data["changes"]}
    assert changes == {
        "title": ("二期开工", "二期开工（调整）"),
        "target_stage": ("started", "producing"),
        "due_date": ((today() + timedelta(days=30)).isoformat(), new_due.isoformat()),
        "owner": ("李强", "张敏"),
    }
    # The reminders moved with the item: the old owner's are cancelled.
    rows = db.session.execute(select(Reminder).where(Reminder.subject_type == "supervision"))
    by_owner = {}
    for reminder in rows.scalars():
        by_owner.setdefault(reminder.recipient_id, set()).add(reminder.status)
    assert by_owner[world["colleague"].id] == {ReminderStatus.CANCELLED}
    assert ReminderStatus.PENDING in by_owner[world["staff"].id]


def test_a_stale_edit_is_409_and_changes_nothing(client, login, db, world, client_for):
    login(world["staff"])
    item = create(client, world)
    other = client_for(world["colleague"])
    data = {**item_form(world), "version": 1}
    assert (
        other.post(f"/supervision/{item.id}/edit", data={**data, "title": "先改"}).status_code
        == 302
    )
    response = client.post(f"/supervision/{item.id}/edit", data={**data, "title": "后改"})
    assert response.status_code == 409
    db.session.refresh(item)
    assert item.title == "先改" and item.version == 2
    assert len(events(db, "supervision.updated", item.id)) == 1
    # Marking done on the old version is refused the same way.
    assert client.post(f"/supervision/{item.id}/done", data={"version": 1}).status_code == 409
    db.session.refresh(item)
    assert item.status == SupervisionStatus.OPEN


def test_mark_done(client, login, db, world):
    login(world["staff"])
    item = create(client, world)
    detail = client.get(f"/supervision/{item.id}").get_data(as_text=True)
    assert f'action="/supervision/{item.id}/done"' in detail
    response = client.post(f"/supervision/{item.id}/done", data={"version": item.version})
    assert response.status_code == 302
    db.session.refresh(item)
    assert item.status == SupervisionStatus.DONE
    assert item.done_by_id == world["staff"].id and item.done_at is not None
    (done,) = events(db, "supervision.done", item.id)
    assert done.data["late"] is False
    # Nothing is left to remind anyone of.
    statuses = db.session.execute(
        select(Reminder.status).where(Reminder.subject_type == "supervision")
    ).scalars()
    assert set(statuses) == {ReminderStatus.CANCELLED}
    # A closed item is not edited any more.
    response = client.post(
        f"/supervision/{item.id}/edit", data={**item_form(world), "version": item.version}
    )
    assert response.status_code == 400
    assert (
        client.post(f"/supervision/{item.id}/done", data={"version": item.version}).status_code
        == 400
    )
    assert len(events(db, "supervision.done", item.id)) == 1


def test_cancel_needs_a_reason(client, login, db, world):
    login(world["staff"])
    item = create(client, world)
    assert client.get(f"/supervision/{item.id}/cancel").status_code == 200
    response = client.post(
        f"/supervision/{item.id}/cancel", data={"reason": "", "version": item.version}
    )
    assert response.status_code == 400
    assert "reason" in field_errors(response.get_data(as_text=True))
    db.session.refresh(item)
    assert item.status == SupervisionStatus.OPEN

    response = client.post(
        f"/supervision/{item.id}/cancel", data={"reason": "项目调整为三期", "version": item.version}
    )
    assert response.status_code == 302
    db.session.refresh(item)
    assert item.status == SupervisionStatus.CANCELLED
    (cancelled,) = events(db, "supervision.cancelled", item.id)
    assert cancelled.data["text"] == "项目调整为三期"
    page = client.get(f"/supervision/{item.id}").get_data(as_text=True)
    assert "项目调整为三期" in page
    pending = db.session.execute(
        select(Reminder).where(
            Reminder.subject_type == "supervision", Reminder.status == ReminderStatus.PENDING
        )
    ).all()
    assert pending == []


def test_delete_is_soft(client, login, db, world):
    login(world["staff"])
    item = create(client, world)
    response = client.post(f"/supervision/{item.id}/delete")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/enterprises/{world['ent_a'].id}")
    db.session.refresh(item)
    assert item.deleted_at is not None and item.deleted_by_id == world["staff"].id
    assert len(events(db, "supervision.deleted", item.id)) == 1
    assert client.get(f"/supervision/{item.id}").status_code == 404
    assert "二期开工" not in client.get("/supervision").get_data(as_text=True)
    pending = db.session.execute(
        select(Reminder).where(
            Reminder.subject_type == "supervision", Reminder.status == ReminderStatus.PENDING
        )
    ).all()
    assert pending == []


# -- on-site checks --------------------------------------------------------------------------
def post_check(client, item, photos=(), **overrides):
    data = {
        "checked_on": today().isoformat(),
        "outcome": CheckOutcome.BEHIND.value,
        "findings": "基础施工完成约六成，塔吊已进场。",
        **overrides,
    }
    data["photos"] = [(io.BytesIO(content), name) for name, content in photos]
    return client.post(
        f"/supervision/{item.id}/check", data=data, content_type="multipart/form-data"
    )


def test_check_with_photos(app, client, login, db, world):
    login(world["staff"])
    item = create(client, world)
    page = client.get(f"/supervision/{item.id}/check").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'name="photos"' in page

    response = post_check(client, item, photos=[("工地.png", PNG), ("大门.jpg", JPEG)])
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    check = db.session.execute(select(SupervisionCheck)).scalar_one()
    assert check.item_id == item.id and check.enterprise_id == world["ent_a"].id
    assert check.outcome == CheckOutcome.BEHIND and check.checked_on == today()
    assert check.checked_by_id == world["staff"].id
    photos = db.session.execute(select(Document).order_by(Document.id)).scalars().all()
    assert [p.filename for p in photos] == ["工地.png", "大门.jpg"]
    assert all(p.kind == DocumentKind.PHOTO for p in photos)
    assert all(p.check_id == check.id and p.enterprise_id == world["ent_a"].id for p in photos)
    assert [p.content_type for p in photos] == ["image/png", "image/jpeg"]
    with app.app_context(), get_storage().open(photos[0].storage_key) as fh:
        assert fh.read() == PNG

    (checked,) = events(db, "supervision.checked", item.id)
    assert checked.data["outcome"] == "behind" and checked.data["photos"] == 2

    detail = client.get(f"/supervision/{item.id}").get_data(as_text=True)
    for photo in photos:
        assert f'<img src="/documents/{photo.id}/download"' in detail
    assert "基础施工完成约六成" in detail
    download = client.get(f"/documents/{photos[1].id}/download")
    assert download.status_code == 200 and download.data == JPEG
    # The file page's card shows the latest check.
    file_page = client.get(f"/enterprises/{world['ent_a'].id}").get_data(as_text=True)
    assert "Latest check" in file_page and "Behind schedule" in file_page


def test_check_without_photos(client, login, db, world):
    login(world["staff"])
    item = create(client, world)
    assert post_check(client, item, outcome="on_track").status_code == 302
    assert count(db, SupervisionCheck) == 1 and count(db, Document) == 0


BAD_CHECKS = {
    "future day": ({"checked_on": "FUTURE"}, [], "checked_on"),
    "no findings": ({"findings": " "}, [], "findings"),
    "no outcome": ({"outcome": ""}, [], "outcome"),
    "a pdf": ({}, [("报告.pdf", PDF)], "photos"),
    "a program named png": ({}, [("site.png", EXE)], "photos"),
    "one good one bad": ({}, [("ok.png", PNG), ("bad.jpg", EXE)], "photos"),
}


@pytest.mark.parametrize("case", list(BAD_CHECKS))
def test_a_bad_check_keeps_nothing(app, client, login, db, world, case):
    changes, photos, field = BAD_CHECKS[case]
    if changes.get("checked_on") == "FUTURE":
        changes = {"checked_on": (today() + timedelta(days=1)).isoformat()}
    login(world["staff"])
    item = create(client, world)
    uploads = Path(app.config["UPLOAD_FOLDER"])
    before = {p for p in uploads.rglob("*") if p.is_file()} if uploads.exists() else set()
    response = post_check(client, item, photos=photos, **changes)
    assert response.status_code == 400
    assert field in field_errors(response.get_data(as_text=True))
    assert count(db, SupervisionCheck) == 0 and count(db, Document) == 0
    assert events(db, "supervision.checked") == [] and events(db, "document.attached") == []
    after = {p for p in uploads.rglob("*") if p.is_file()} if uploads.exists() else set()
    assert after == before  # no orphan file left by the rolled-back upload


# -- the list --------------------------------------------------------------------------------
def listed(client, query="") -> list[str]:
    html = client.get(f"/supervision{query}").get_data(as_text=True)
    return re.findall(r'<a href="/supervision/\d+">([^<]+)</a>', html)


def test_list_filters(client, login, db, world, make_unit):
    park = make_unit("临港园区", parent=world["county_a"])
    add_item(db, world, "逾期", days=-2)
    add_item(db, world, "今天到期", days=0)
    add_item(db, world, "下月到期", days=40, unit=park)
    add_item(db, world, "已办结逾期", days=-5, status=SupervisionStatus.DONE)
    escalated = add_item(db, world, "已升级", days=-1)
    db.session.add(
        Escalation(
            subject_type="supervision",
            subject_id=escalated.id,
            enterprise_id=world["ent_a"].id,
            level=1,
            unit_id=world["county_a"].id,
            reason="overdue",
            at=utcnow(),
        )
    )
    # An escalation of an issue with the same id must not count.
    db.session.add(
        Escalation(subject_type="issue", subject_id=escalated.id + 1, level=1, reason="overdue")
    )
    db.session.commit()
    login(world["staff"])

    assert listed(client) == ["已办结逾期", "逾期", "已升级", "今天到期", "下月到期"]
    assert listed(client, "?due=overdue") == ["逾期", "已升级"]
    assert listed(client, "?due=week") == ["今天到期"]
    assert listed(client, "?escalated=y") == ["已升级"]
    assert listed(client, "?status=done") == ["已办结逾期"]
    assert listed(client, f"?unit={park.id}") == ["下月到期"]
    assert len(listed(client, f"?unit={world['county_a'].id}")) == 5
    page = client.get("/supervision?due=overdue").get_data(as_text=True)
    assert "data-escalated" in page
    # A filter value that is not a choice shows everything rather than failing.
    assert client.get("/supervision?status=bogus").status_code == 200


def test_week_ends_on_sunday(world):
    monday = start_of_next_week()
    assert monday.weekday() == 0 and 0 < (monday - today()).days <= 7


def test_list_is_scoped_and_paginated(app, client, login, db, world, switch):
    other_item = SupervisionItem(
        enterprise_id=world["ent_b"].id,
        issue_id=None,
        project_id=None,
        title="南溪事项",
        due_date=today(),
        unit_id=world["county_b"].id,
    )
    # Items must supervise something: give the other county's item an issue of its own.
    other_issue = EnterpriseIssue(
        enterprise_id=world["ent_b"].id, category=IssueCategory.POWER, title="用电"
    )
    db.session.add(other_issue)
    db.session.flush()
    other_item.issue_id = other_issue.id
    db.session.add(other_item)
    db.session.commit()
    for n in range(3):
        add_item(db, world, f"事项{n}", days=n)
    login(world["staff"])
    assert "南溪事项" not in listed(client)
    assert client.get(f"/supervision/{other_item.id}").status_code == 404
    app.config["PAGE_SIZE"] = 2
    try:
        assert len(listed(client)) == 2
        assert len(listed(client, "?page=2")) == 1
    finally:
        app.config["PAGE_SIZE"] = 50
    switch(world["leader"])
    assert "南溪事项" in listed(client)


# -- access ------------------------------------------------------------------------------------
def test_access(client, login, db, world, switch):
    item = add_item(db, world, "开工督办")
    anonymous = client.get(f"/supervision/{item.id}")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert client.get("/supervision").status_code == 302

    login(world["other"])
    for method, url in [
        ("GET", f"/supervision/{item.id}"),
        ("GET", f"/supervision/{item.id}/edit"),
        ("POST", f"/supervision/{item.id}/done"),
        ("POST", f"/supervision/{item.id}/cancel"),
        ("POST", f"/supervision/{item.id}/delete"),
        ("POST", f"/supervision/{item.id}/check"),
        ("GET", f"/enterprises/{world['ent_a'].id}/supervision/new"),
    ]:
        assert client.open(url, method=method, data={}).status_code == 404, url

    switch(world["leader"])
    assert client.get(f"/supervision/{item.id}").status_code == 200
    page = client.get(f"/supervision/{item.id}").get_data(as_text=True)
    assert f"/supervision/{item.id}/edit" not in page
    for url in [
        f"/supervision/{item.id}/edit",
        f"/supervision/{item.id}/done",
        f"/supervision/{item.id}/cancel",
        f"/supervision/{item.id}/delete",
        f"/supervision/{item.id}/check",
        f"/enterprises/{world['ent_a'].id}/supervision/new",
    ]:
        assert client.post(url, data={"version": item.version, "reason": "x"}).status_code == 403
    project_page = client.get(f"/projects/{world['project'].id}").get_data(as_text=True)
    assert "开工督办" in project_page and "/supervision/new" not in project_page
    db.session.refresh(item)
    assert item.status == SupervisionStatus.OPEN and item.deleted_at is None

    switch(world["manager"])
    response = client.post(f"/supervision/{item.id}/done", data={"version": item.version})
    assert response.status_code == 302


# -- the enterprise's file -------------------------------------------------------------------
def test_every_change_is_in_the_file(client, login, db, world):
    login(world["staff"])
    item = create(client, world)
    client.post(
        f"/supervision/{item.id}/edit",
        data={**item_form(world, title="二期开工（调整）"), "version": item.version},
    )
    post_check(client, item, photos=[("工地.png", PNG)])
    db.session.refresh(item)
    client.post(f"/supervision/{item.id}/done", data={"version": item.version})
    second = create(client, world, title="第二项")
    client.post(f"/supervision/{second.id}/cancel", data={"reason": "重复", "version": 1})
    third = create(client, world, title="第三项")
    client.post(f"/supervision/{third.id}/delete")

    page = client.get(f"/enterprises/{world['ent_a'].id}").get_data(as_text=True)
    timeline = page[page.index('id="timeline"') :]
    for label in (
        "Supervision item set",
        "Supervision item changed",
        "On-site check recorded",
        "Supervision item done",
        "Supervision item cancelled",
        "Supervision item deleted",
    ):
        assert label in timeline, label
    assert 'data-kind="supervision.checked"' in timeline
    assert "Behind schedule" in timeline and "Findings" in timeline
    assert "Target stage" in timeline  # a field of the change, by its label
    assert f'href="/supervision/{item.id}"' in timeline
    # The card lists live items with their status; the deleted one is gone.
    card = page[page.index('id="supervision-items"') :]
    card = card[: card.index("</ul>")]
    assert "二期开工（调整）" in card and "第二项" in card and "第三项" not in card
    assert 'data-supervision-status="done"' in card
    # The item's own page shows its history.
    detail = client.get(f"/supervision/{item.id}").get_data(as_text=True)
    history = detail[detail.index('id="timeline"') :]
    assert history.count('data-kind="supervision.') == 4
    dossier = client.get(f"/enterprises/{world['ent_a'].id}/dossier").get_data(as_text=True)
    assert "二期开工（调整）" in dossier


def test_file_reads_in_chinese(client, login, db, world, make_user, switch):
    from crm.models import Role

    login(world["staff"])
    create(client, world)
    reader = make_user(Role.STAFF, [world["county_a"]], locale="zh_CN")
    switch(reader)
    page = client.get(f"/enterprises/{world['ent_a'].id}")
    assert page.status_code == 200
    assert "二期开工" in page.get_data(as_text=True)
