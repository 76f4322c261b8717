"""Two ``celery beat`` processes against a real Redis: one schedules, the other waits.

Beat takes a lock in Redis (celery-redbeat, configured in config.py when the broker is
Redis). The test starts two beats as production starts them, shows that only one holds
the lock and sends scheduled tasks, kills that one with SIGKILL (no chance to release
the lock) and sees the other take over once the lock has expired.

Redis: CRM_TEST_REDIS_URL when set, else a private redis-server; skipped when neither
exists, except on CI (CI=true), where a missing Redis fails the test.
"""

from __future__ import annotations

import time
import uuid

import pytest

from config import Config
from tests.ops_services import redis_for_tests
from tests.worker import CeleryProcess, start_all

LOCK_TIMEOUT = 4  # seconds (30 in production)
LOOP = 1  # beat's longest sleep between ticks, hence how often a waiting beat tries the lock
SENT = "Scheduler: Sending due task reminders-sweep"


@pytest.fixture
def redis_url(tmp_path):
    with redis_for_tests(tmp_path / "redis") as url:
        yield url


@pytest.fixture
def redis_client(redis_url):
    import redis

    return redis.Redis.from_url(redis_url)


@pytest.fixture
def prefix(redis_client):
    """A key prefix of this test alone; its keys and the messages beat sent go afterwards."""
    prefix = f"crm-test-{uuid.uuid4().hex[:8]}:"
    yield prefix
    keys = list(redis_client.scan_iter(f"{prefix}*"))
    if keys:
        redis_client.delete(*keys)
    # No worker consumed what the beats sent (the tests' Redis database is theirs alone).
    redis_client.delete("celery")


def _beat(tmp_path, redis_url, prefix, name) -> CeleryProcess:
    return CeleryProcess(
        "beat",
        {
            "CRM_INSTANCE_PATH": str(tmp_path / "instance"),
            "CELERY_BROKER_URL": redis_url,
            "REDBEAT_KEY_PREFIX": prefix,
            "BEAT_LOCK_TIMEOUT": str(LOCK_TIMEOUT),
            "BEAT_MAX_LOOP_INTERVAL": str(LOOP),
            "REMINDER_SWEEP_SECONDS": "1",
            "BEAT_LOCK": None,
        },
        ["-s", str(tmp_path / f"{name}-schedule")],
    )


def _wait(condition, timeout: float, what: str, *beats: CeleryProcess) -> float:
    """Seconds until ``condition()`` held; fails with the beats' logs after ``timeout``."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            logs = "\n".join(f"--- {b.kind} {i}\n{b.output()}" for i, b in enumerate(beats))
            pytest.fail(f"{what}: not within {timeout}s\n{logs}")
        time.sleep(0.1)
    return time.monotonic() - start


def test_only_the_lock_holder_schedules_and_the_other_takes_over(
    tmp_path, redis_url, redis_client, prefix
):
    first = _beat(tmp_path, redis_url, prefix, "one")
    second = _beat(tmp_path, redis_url, prefix, "two")
    beats = (first, second)
    lock_key = f"{prefix}:lock"
    try:
        start_all(first, second)

        def acquired(beat):
            return "beat: Acquired lock" in beat.output()

        _wait(lambda: any(acquired(b) for b in beats), 20, "a beat takes the lock", *beats)
        holder, waiting = beats if acquired(first) else beats[::-1]
        # Both have run for a while: only the holder sends, every second.
        _wait(lambda: holder.output().count(SENT) >= 4, 15, "the holder schedules", *beats)
        assert not acquired(waiting), waiting.output()
        assert SENT not in waiting.output(), waiting.output()
        assert redis_client.exists(lock_key)
        assert 0 < redis_client.pttl(lock_key) <= LOCK_TIMEOUT * 1000

        # Killed, the holder cannot release the lock: the other waits for it to expire.
        holder.kill()
        killed_at_ttl = redis_client.pttl(lock_key) / 1000
        took = _wait(lambda: acquired(waiting), LOCK_TIMEOUT + 10, "takeover", *beats)
        assert took >= killed_at_ttl - 0.5, (took, killed_at_ttl)
        assert took <= LOCK_TIMEOUT + 2 * LOOP + 2, took
        _wait(lambda: SENT in waiting.output(), 5, "the new holder schedules", *beats)
        print(f"lock expired {killed_at_ttl:.1f}s after the kill; takeover after {took:.1f}s")
    finally:
        for beat in beats:
            beat.stop()
    # A stopped beat gives its lock back at once.
    assert not redis_client.exists(lock_key)


def test_redbeat_only_with_redis(monkeypatch, tmp_path):
    for name in ("CELERY_BROKER_URL", "REDIS_URL", "REDBEAT_REDIS_URL", "BEAT_LOCK"):
        monkeypatch.delenv(name, raising=False)
    embedded = Config.from_environment(tmp_path)["CELERY"]
    assert embedded["broker_url"] == "filesystem://"
    assert "beat_scheduler" not in embedded  # Celery's own file scheduler

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/5")
    with_redis = Config.from_environment(tmp_path)["CELERY"]
    assert with_redis["beat_scheduler"] == "crm.beat_lock:LockedBeatScheduler"
    assert with_redis["redbeat_redis_url"] == "redis://127.0.0.1:6379/5"
    assert with_redis["redbeat_lock_timeout"] == 30

    monkeypatch.setenv("BEAT_LOCK", "off")
    assert "beat_scheduler" not in Config.from_environment(tmp_path)["CELERY"]
