"""Beat's scheduler when the broker is Redis (config.py names it as ``beat_scheduler``).

Its own module: importing redbeat connects its lock handler to every beat's start,
which the embedded default's file scheduler (no Redis) must not meet.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

from redbeat import RedBeatScheduler
from redbeat.schedulers import acquire_distributed_beat_lock, logger
from redis.exceptions import RedisError


class LockedBeatScheduler(RedBeatScheduler):
    """celery-redbeat's scheduler, which waits for its lock again instead of exiting.

    redbeat lets a beat die when extending its lock fails: Redis restarted (the lock
    and the schedule went with it), or this beat stalled past the lock timeout and
    another took over. Here the beat stops scheduling, stores the schedule again if
    Redis lost it, and waits for the lock like a beat that has just started: at most
    one beat schedules at any time, and none is left dead after a Redis restart.
    """

    def tick(self, *args, **kwargs):
        if self.lock_key and self.lock is None:
            # Redis was down when beat started: Celery swallowed the failed start-up lock.
            self._wait_for_lock()
        try:
            return super().tick(*args, **kwargs)
        except RedisError as exc:  # LockNotOwnedError included
            logger.warning("beat: lost Redis or the lock (%s); waiting for the lock again", exc)
            self.lock = None
            self._wait_for_lock()
            return 0.0

    def _wait_for_lock(self) -> None:
        """Store the schedule again (Redis may have lost it) and take the lock as a
        starting beat does, trying again while Redis is unreachable."""
        while True:
            try:
                self.setup_schedule()
                acquire_distributed_beat_lock(SimpleNamespace(scheduler=self))
                return
            except RedisError as exc:
                logger.warning("beat: Redis unavailable (%s); trying again", exc)
                time.sleep(min(self.max_interval, 5))

    def close(self):
        try:
            super().close()
        except RedisError as exc:  # Redis gone: the lock expires on its own
            logger.warning("beat: could not release the lock (%s)", exc)
