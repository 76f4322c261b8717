"""A real Celery worker process, started the way production starts it (from wsgi.py).

With CRM_TEST_REDIS_URL set (CI), the broker is a real Redis; otherwise the
embedded filesystem broker that the default configuration uses.
"""

from __future__ import annotations

import pytest

from tests.worker import celery_worker, wait_for


@pytest.fixture
def worker(app):
    with celery_worker() as (lines, seen):
        yield lines, seen


def test_worker_runs_a_task_against_the_database(app, worker, make_enterprise):
    from tasks.maintenance import heartbeat

    make_enterprise("宜宾长盈精密技术有限公司")
    lines, seen = worker
    heartbeat.delay()
    # The task counts enterprises in the same database the web app uses.
    assert wait_for(lines, "succeeded", seen, 60), "task did not run:\n" + "".join(seen)
    assert any("tasks.maintenance.heartbeat" in line and ": 1" in line for line in seen), "".join(
        seen
    )


def test_beat_schedule_is_configured(app):
    celery_app = app.extensions["celery"]
    schedule = celery_app.conf.beat_schedule
    assert schedule["heartbeat"]["task"] == "tasks.maintenance.heartbeat"
    assert celery_app.conf.task_acks_late is True
