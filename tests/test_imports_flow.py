"""The import job's promises: choices for existing records, once only, all or nothing, access, tasks."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select, update

from crm.imports import jobs
from crm.models import Enterprise, ImportJob, ImportStatus, Role, TimelineEvent
from tests.helpers import count, events
from tests.imports_helpers import code, job_id_of, map_columns, upload, xlsx_bytes
from tests.worker import celery_worker, wait_for

HEADER = ["统一社会信用代码", "企业名称", "总部所在地"]


@pytest.fixture
def world(make_unit, make_user):
    county_a, county_b = make_unit("翠屏区"), make_unit("南溪区")
    return {
        "a": county_a,
        "b": county_b,
        "manager": make_user(Role.MANAGER, [county_a], name="孙科长", locale="en"),
        "admin": make_user(Role.ADMIN, name="管理员", locale="en"),
    }


def _job(db, job_id) -> ImportJob:
    db.session.expire_all()
    return db.session.get(ImportJob, job_id)


def _previewed(
    client, db, data: bytes, filename="企业.xlsx", on_existing="skip", kind="enterprises"
) -> int:
    response = upload(client, data, filename, kind)
    assert response.status_code == 302, response.status_code
    job_id = job_id_of(response)
    assert map_columns(client, job_id, on_existing=on_existing).status_code == 302
    job = _job(db, job_id)
    assert job.status == ImportStatus.PREVIEWED, (job.status, job.error)
    return job_id


@pytest.mark.parametrize(
    ("choice", "action", "region_after"),
    [("skip", "skip", "宜宾"), ("update", "update", "成都"), ("refuse", "refuse", "宜宾")],
)
def test_existing_records_follow_the_users_choice(
    db, client_for, world, make_enterprise, choice, action, region_after
):
    existing = make_enterprise("宜宾长盈精密技术有限公司", units=[world["a"]], region="宜宾")
    client = client_for(world["manager"])
    data = xlsx_bytes(
        [
            HEADER,
            [existing.credit_code, "宜宾长盈精密技术有限公司", "成都"],
            [code(2), "新企业有限公司", None],
        ]
    )
    job_id = _previewed(client, db, data, on_existing=choice)
    preview = _job(db, job_id).preview
    assert [row[1] for row in preview["rows"]] == [action, "create"]
    client.post(f"/imports/{job_id}/import")
    job = _job(db, job_id)
    assert job.status == ImportStatus.DONE, job.error
    assert db.session.get(Enterprise, existing.id).region == region_after
    if choice == "update":
        (event,) = events(db, "enterprise.updated", existing.id)
        assert event.actor_id == world["manager"].id
        assert event.data["changes"] == [{"field": "region", "old": "宜宾", "new": "成都"}]
    assert count(db, Enterprise) == 2


def test_update_of_an_enterprise_outside_the_managers_units_is_refused(
    db, client_for, world, make_enterprise
):
    theirs = make_enterprise("南溪企业有限公司", units=[world["b"]], region="南溪")
    client = client_for(world["manager"])
    job_id = _previewed(
        client,
        db,
        xlsx_bytes([HEADER, [theirs.credit_code, "南溪企业有限公司", "成都"]]),
        on_existing="update",
    )
    (row,) = _job(db, job_id).preview["rows"]
    assert row[1] == "refuse" and "outside your units" in row[3][0][1]


def test_a_second_submit_imports_nothing_twice(db, client_for, world):
    client = client_for(world["manager"])
    job_id = _previewed(
        client, db, xlsx_bytes([HEADER, [code(1), "宜宾长盈精密技术有限公司", None]])
    )
    first = client.post(f"/imports/{job_id}/import")
    second = client.post(f"/imports/{job_id}/import")
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"] == f"/imports/{job_id}"
    assert count(db, Enterprise) == 1
    assert len(events(db, "enterprise.created")) == 1
    # The conditional UPDATE itself: only one caller moves previewed → queued.
    job = _job(db, job_id)
    assert jobs.submit(job, confirm_repeat=False) is False


def test_the_same_file_again_needs_a_confirmation(db, client_for, world):
    client = client_for(world["manager"])
    data = xlsx_bytes([HEADER, [code(1), "宜宾长盈精密技术有限公司", None]])
    first = _previewed(client, db, data)
    client.post(f"/imports/{first}/import")
    assert _job(db, first).status == ImportStatus.DONE

    # Renamed in the register since: the same file again would change it back.
    db.session.execute(update(Enterprise).values(name="宜宾长盈精密技术股份有限公司"))
    db.session.commit()
    again = _previewed(client, db, data, on_existing="update")
    assert _job(db, again).preview["repeat_of"] == first
    page = client.get(f"/imports/{again}").get_data(as_text=True)
    assert "This file was already imported." in page
    refused = client.post(f"/imports/{again}/import", data={})
    assert refused.status_code == 409
    assert _job(db, again).status == ImportStatus.PREVIEWED
    confirmed = client.post(f"/imports/{again}/import", data={"confirm_repeat": "y"})
    assert confirmed.status_code == 302
    job = _job(db, again)
    assert job.status == ImportStatus.DONE and job.repeat_confirmed
    assert count(db, Enterprise) == 1


def test_a_failure_leaves_nothing_half_saved(db, client_for, world, make_user, monkeypatch):
    """The second batch fails after the first was written: nothing is kept, the page says why."""
    from crm.imports import enterprise_batch, rows

    real = enterprise_batch.create_enterprises
    calls = []

    def second_batch_breaks(batch, *, actor):
        calls.append(len(batch))
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(batch, actor=actor)

    monkeypatch.setattr(rows, "BATCH", 2)
    client = client_for(world["manager"])
    data = xlsx_bytes([HEADER] + [[code(n), f"企业{n}有限公司", None] for n in range(1, 6)])
    job_id = _previewed(client, db, data)
    monkeypatch.setattr(enterprise_batch, "create_enterprises", second_batch_breaks)
    client.post(f"/imports/{job_id}/import")
    job = _job(db, job_id)
    assert calls[0] == 2 and len(calls) == 2  # the first batch was written before the failure
    assert job.status == ImportStatus.FAILED and "disk full" in job.error
    assert count(db, Enterprise) == 0 and count(db, TimelineEvent) == 0
    page = client.get(f"/imports/{job_id}").get_data(as_text=True)
    assert f"nothing was saved. Please tell an administrator (import {job_id})" in page
    assert "disk full" not in page  # what broke is for administrators
    admin_page = client_for(make_user(Role.ADMIN)).get(f"/imports/{job_id}").get_data(as_text=True)
    assert "RuntimeError: disk full" in admin_page


def test_staff_and_leaders_may_not_import(db, client_for, world, make_user):
    for role in (Role.STAFF, Role.LEADER):
        client = client_for(make_user(role, [world["a"]]))
        assert client.get("/imports/").status_code == 403
        assert upload(client, xlsx_bytes([HEADER]), "x.xlsx").status_code == 403
    assert count(db, ImportJob) == 0


def test_admin_imports_into_any_unit_with_a_csv_in_gb18030(db, client_for, world):
    text = (
        "统一社会信用代码,企业名称,所属单位\r\n" + f"{code(1)},宜宾长盈精密技术有限公司,南溪区\r\n"
    )
    client = client_for(world["admin"])
    job_id = _previewed(client, db, text.encode("gb18030"), filename="企业.csv")
    client.post(f"/imports/{job_id}/import")
    assert _job(db, job_id).status == ImportStatus.DONE
    enterprise = db.session.execute(select(Enterprise)).scalar_one()
    assert enterprise.units == [world["b"]] and enterprise.name == "宜宾长盈精密技术有限公司"


def test_mapping_can_be_changed_and_a_required_field_cannot_be_ignored(db, client_for, world):
    client = client_for(world["manager"])
    job_id = job_id_of(
        upload(client, xlsx_bytes([["代码", "名字"], [code(1), "甲有限公司"]]), "x.xlsx")
    )
    # Neither header is recognised: the user maps them.
    assert _job(db, job_id).mapping == [None, None]
    response = map_columns(client, job_id, [None, "name"])
    assert response.status_code == 422
    assert "Choose a column for" in response.get_data(as_text=True)
    assert map_columns(client, job_id, ["credit_code", "name"]).status_code == 302
    assert _job(db, job_id).preview["counts"]["create"] == 1


def _large_file(rows: int) -> bytes:
    return xlsx_bytes(
        [HEADER] + [[code(n), f"宜宾第{n}号企业有限公司", "宜宾"] for n in range(1, rows + 1)]
    )


def test_the_task_functions_check_and_import_a_large_file(app, db, client_for, world):
    """Above the threshold the page hands the work to tasks; here their functions run directly."""
    from tasks.imports import preview_import, run_import

    client = client_for(world["manager"])
    job_id = job_id_of(upload(client, _large_file(jobs.LARGE_ROWS + 1), "large.xlsx"))
    assert jobs.is_large(_job(db, job_id))
    job = _job(db, job_id)
    jobs.set_mapping(job, mapping=job.mapping, on_existing="skip")
    db.session.commit()
    preview_import(job_id)  # the task's function, in this process
    job = _job(db, job_id)
    assert (
        job.status == ImportStatus.PREVIEWED
        and job.preview["counts"]["create"] == jobs.LARGE_ROWS + 1
    )
    assert job.preview["omitted"] == 0
    assert jobs.submit(job, confirm_repeat=False)
    run_import(job_id)
    run_import(job_id)  # a message delivered twice
    assert _job(db, job_id).status == ImportStatus.DONE
    assert count(db, Enterprise) == jobs.LARGE_ROWS + 1
    assert len(events(db, "enterprise.created")) == jobs.LARGE_ROWS + 1


def test_a_real_worker_imports_a_large_file_and_the_page_shows_progress(app, db, client_for, world):
    client = client_for(world["manager"])
    with celery_worker() as (lines, seen):
        job_id = job_id_of(upload(client, _large_file(jobs.LARGE_ROWS + 20), "large.xlsx"))
        assert map_columns(client, job_id).status_code == 302
        page = client.get(f"/imports/{job_id}").get_data(as_text=True)
        assert "data-import-progress" in page or _job(db, job_id).status == ImportStatus.PREVIEWED
        assert wait_for(lines, "succeeded", seen, 120), "".join(seen)
        assert _job(db, job_id).status == ImportStatus.PREVIEWED, _job(db, job_id).error
        assert client.post(f"/imports/{job_id}/import").status_code == 302
        progress = client.get(f"/imports/{job_id}/progress").get_json()
        assert progress["status"] in ("queued", "running", "done")
        assert wait_for(lines, "succeeded", seen, 120), "".join(seen)
    job = _job(db, job_id)
    assert job.status == ImportStatus.DONE, (job.error, "".join(seen))
    assert count(db, Enterprise) == jobs.LARGE_ROWS + 20
    assert client.get(f"/imports/{job_id}/progress").get_json()["finished"] is True
    assert "import-progress.js" in client.get(f"/imports/{job_id}").get_data(as_text=True)


def test_upload_refuses_other_files(db, client_for, world):
    client = client_for(world["manager"])
    response = client.post(
        "/imports/new",
        data={"kind": "enterprises", "file": (io.BytesIO(b"%PDF-1.4"), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Choose an .xlsx or .csv file." in response.get_data(as_text=True)
    response = upload(client, b"garbage", "x.xlsx")
    assert response.status_code == 422
    assert count(db, ImportJob) == 0


def test_a_run_that_died_with_its_worker_is_taken_over_once(app, db, client_for, world):
    """A run past its lease (its worker killed: nothing committed) is found by the recovery
    sweep and run again; a fresh run is left alone; the import still happens once."""
    from datetime import timedelta

    from sqlalchemy import update

    from crm.models import ImportJob
    from crm.models.base import utcnow
    from tasks.imports import run_import

    client = client_for(world["manager"])
    job_id = job_id_of(upload(client, _large_file(jobs.LARGE_ROWS + 1), "large.xlsx"))
    job = _job(db, job_id)
    jobs.set_mapping(job, mapping=job.mapping, on_existing="skip")
    db.session.commit()
    jobs.build_preview(job_id)
    assert jobs.submit(_job(db, job_id), confirm_repeat=False)

    # As a killed worker leaves it: running, nothing written.
    db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id)
        .values(status=ImportStatus.RUNNING, started_at=utcnow() - timedelta(minutes=5))
    )
    db.session.commit()
    assert jobs.stranded() == []
    run_import(job_id)  # a redelivery inside the lease does nothing
    assert count(db, Enterprise) == 0

    db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id)
        .values(started_at=utcnow() - jobs.RUN_LEASE - timedelta(minutes=1))
    )
    db.session.commit()
    assert jobs.stranded() == [(job_id, "run")]
    run_import(job_id)
    run_import(job_id)
    assert _job(db, job_id).status == ImportStatus.DONE
    assert count(db, Enterprise) == jobs.LARGE_ROWS + 1
    assert jobs.stranded() == []


def test_a_queued_job_whose_message_was_lost_is_sent_again(app, db, client_for, world):
    from datetime import timedelta

    from sqlalchemy import update

    from crm.models import ImportJob
    from crm.models.base import utcnow

    client = client_for(world["manager"])
    job_id = job_id_of(upload(client, _large_file(jobs.LARGE_ROWS + 1), "large.xlsx"))
    job = _job(db, job_id)
    jobs.set_mapping(job, mapping=job.mapping, on_existing="skip")
    db.session.commit()
    assert jobs.stranded() == []  # just mapped: its preview task may still be on its way
    db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id)
        .values(updated_at=utcnow() - jobs.RESEND_AFTER - timedelta(minutes=1))
    )
    db.session.commit()
    assert jobs.stranded() == [(job_id, "preview")]


def test_jobs_are_seen_by_their_units_and_by_global_roles(db, client_for, world, make_user):
    """A manager sees the jobs of people of their units; another county's manager neither
    finds them in the list nor opens them (404); the admin sees all."""
    data = xlsx_bytes([HEADER, [code(1), "企业1有限公司", None]])
    job_id = _previewed(client_for(world["manager"]), db, data, filename="翠屏导入.xlsx")
    colleague = make_user(Role.MANAGER, [world["a"]], locale="en")
    stranger = make_user(Role.MANAGER, [world["b"]], locale="en")

    for user, sees in ((colleague, True), (stranger, False), (world["admin"], True)):
        client = client_for(user)
        assert ("翠屏导入.xlsx" in client.get("/imports/").get_data(as_text=True)) is sees
        assert client.get(f"/imports/{job_id}").status_code == (200 if sees else 404)
        assert client.get(f"/imports/{job_id}/progress").status_code == (200 if sees else 404)
