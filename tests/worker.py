"""Real Celery worker and beat processes for tests, started as production starts them.

``python -m celery -A wsgi.celery_app worker|beat``: each inherits the test
environment (DATABASE_URL, CRM_INSTANCE_PATH, REDIS_URL set by the ``app``
fixture) plus ``extra_env`` (e.g. the SMTP server of a test, a private broker);
a value of None removes a variable (e.g. REDIS_URL, for the filesystem broker).
"""

from __future__ import annotations

import itertools
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_names = itertools.count(1)


def _reader(stream, lines: queue.Queue, log: list[str]) -> None:
    for line in iter(stream.readline, ""):
        log.append(line)
        lines.put(line)
    stream.close()


def wait_for(lines: queue.Queue, needle: str, seen: list[str], timeout: float) -> bool:
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


def _environment(extra_env: dict[str, str | None] | None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    for name, value in (extra_env or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


class CeleryProcess:
    """One ``celery worker`` or ``celery beat`` process; ``log`` is all it printed so far."""

    READY = {"worker": "ready.", "beat": "beat: Starting..."}

    def __init__(self, kind: str, extra_env=None, args: list[str] | None = None):
        self.kind = kind
        self.env = _environment(extra_env)
        self.args = list(args or [])
        self.name = None
        if kind == "worker":
            self.name = f"test-{os.getpid()}-{next(_names)}@localhost"
            self.args = [
                "--pool",
                "solo",
                "--without-mingle",
                "--without-gossip",
                "-n",
                self.name,
                *self.args,
            ]
        self.process: subprocess.Popen | None = None
        self.lines: queue.Queue = queue.Queue()
        self.log: list[str] = []
        self.seen: list[str] = []

    def start(self) -> CeleryProcess:
        """Start without waiting (see ``wait_ready``): several processes start at once."""
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "wsgi.celery_app",
                self.kind,
                "--loglevel",
                "INFO",
                *self.args,
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(
            target=_reader, args=(self.process.stdout, self.lines, self.log), daemon=True
        ).start()
        return self

    def wait_ready(self, timeout: float = 60) -> CeleryProcess:
        ready = wait_for(self.lines, self.READY[self.kind], self.seen, timeout)
        assert ready, f"{self.kind} did not start:\n" + self.output()
        return self

    def output(self) -> str:
        return "".join(self.log)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no ack, no commit; what it was doing is cut short."""
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(20)

    def stop(self, timeout: float = 20) -> None:
        if not self.alive():
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()


def start_all(*processes: CeleryProcess, timeout: float = 60) -> None:
    for process in processes:
        if not process.alive():
            process.start()
    for process in processes:
        process.wait_ready(timeout)


@contextmanager
def running(*processes: CeleryProcess, timeout: float = 60):
    """Start the processes together; stop every one of them on the way out."""
    with ExitStack() as stack:
        for process in processes:
            stack.callback(process.stop)
        start_all(*processes, timeout=timeout)
        yield processes


def beat(schedule: Path, extra_env=None) -> CeleryProcess:
    """A beat with its own schedule file (two beats must not share one)."""
    return CeleryProcess("beat", extra_env, ["-s", str(schedule)])


@contextmanager
def celery_worker(extra_env: dict[str, str | None] | None = None):
    """Yield (lines, seen): the worker's output as it comes, and what was read so far."""
    worker = CeleryProcess("worker", extra_env)
    try:
        worker.start().wait_ready()
        yield worker.lines, worker.seen
    finally:
        worker.stop()
