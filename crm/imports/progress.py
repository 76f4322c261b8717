"""How far a job is, written where the web process can read it while the worker writes.

Not in the database: the import's rows are one transaction, and on SQLite a
second writer would wait for it to end. A small JSON file per job in the
instance folder, replaced atomically, is readable by every process of the
installation at any time.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from flask import current_app

# Writing on every row would cost more than the rows: at most this often.
INTERVAL_SECONDS = 0.5


def _folder() -> Path:
    folder = Path(current_app.instance_path) / "imports" / "progress"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _path(job_id: int) -> Path:
    return _folder() / f"{int(job_id)}.json"


def read(job_id: int) -> dict:
    try:
        return json.loads(_path(job_id).read_text())
    except (FileNotFoundError, ValueError):
        return {}


def clear(job_id: int) -> None:
    _path(job_id).unlink(missing_ok=True)


class Reporter:
    def __init__(self, job_id: int, phase: str, total: int):
        self.job_id = job_id
        self.phase = phase
        self.total = max(total, 0)
        self._last = 0.0

    def update(self, done: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < INTERVAL_SECONDS:
            return
        self._last = now
        data = {"phase": self.phase, "done": done, "total": max(self.total, done)}
        folder = _folder()
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
        with os.fdopen(fd, "w") as out:
            json.dump(data, out)
        os.replace(tmp, _path(self.job_id))
