"""A real Celery worker process, started the way production starts it (from wsgi.py).

With CRM_TEST_REDIS_URL set (CI), the broker is a real Redis; otherwise the
embedded filesystem broker that the default configuration uses.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _reader(stream, lines: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        lines.put(line)
    stream.close()


def _wait_for(lines: queue.Queue, needle: str, seen: list[str], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if needle in line:
            return True
    return False


@pytest.fixture
def worker(app):
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "wsgi.celery_app",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--without-mingle",
            "--without-gossip",
            "-n",
            f"test-{os.getpid()}@localhost",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(process.stdout, lines), daemon=True).start()
    seen: list[str] = []
    try:
        assert _wait_for(lines, "ready.", seen, 60), "worker did not start:\n" + "".join(seen)
        yield lines, seen
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_worker_runs_a_task_against_the_database(app, worker, make_enterprise):
    from tasks.maintenance import heartbeat

    make_enterprise("宜宾长盈精密技术有限公司")
    lines, seen = worker
    heartbeat.delay()
    # The task counts enterprises in the same database the web app uses.
    assert _wait_for(lines, "succeeded", seen, 60), "task did not run:\n" + "".join(seen)
    assert any("tasks.maintenance.heartbeat" in line and ": 1" in line for line in seen), "".join(
        seen
    )


def test_beat_schedule_is_configured(app):
    celery_app = app.extensions["celery"]
    schedule = celery_app.conf.beat_schedule
    assert schedule["heartbeat"]["task"] == "tasks.maintenance.heartbeat"
    assert celery_app.conf.task_acks_late is True
