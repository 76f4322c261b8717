"""Beat's scheduler when the broker is Redis (config.py names it as ``beat_scheduler``).

Its own module: importing redbeat connects its lock handler to every beat's start,
which the embedded default's file scheduler (no Redis) must not meet.
"""

from __future__ import annotations

import time

from redbeat import RedBeatScheduler
from redbeat.schedulers import LUA_EXTEND_TO_SCRIPT, get_redis, logger
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
        try:
            return super().tick(*args, **kwargs)
        except RedisError as exc:  # LockNotOwnedError included
            logger.warning("beat: lost Redis or the lock (%s); waiting for the lock again", exc)
            self.lock = None
            self._wait_for_lock()
            return 0.0

    def _wait_for_lock(self) -> None:
        while True:
            try:
                self.setup_schedule()
                client = get_redis(self.app)
                lock = client.lock(
                    self.lock_key, timeout=self.lock_timeout, sleep=self.max_interval
                )
                lock.lua_extend = client.register_script(LUA_EXTEND_TO_SCRIPT)
                lock.acquire()
            except RedisError as exc:
                logger.warning("beat: Redis unavailable (%s); trying again", exc)
                time.sleep(min(self.max_interval, 5))
                continue
            self.lock = lock
            logger.info("beat: Acquired lock")
            return

    def close(self):
        try:
            super().close()
        except RedisError as exc:  # Redis gone: the lock expires on its own
            logger.warning("beat: could not release the lock (%s)", exc)
