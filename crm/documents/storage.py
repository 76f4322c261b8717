"""Where uploaded bytes live: outside the database, behind a small interface.

``FileStorage`` is what the rest of the code relies on (save a stream, open a
key, delete a key), so an object store can replace ``LocalFileStorage`` later
without touching the services. Keys are random and opaque (``2026/05/<hex>``):
they reveal nothing of the enterprise or the file name and cannot be guessed.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

CHUNK = 64 * 1024
KEY_RE = re.compile(r"^\d{4}/\d{2}/[0-9a-f]{32}$")


class FileTooLarge(Exception):
    """The stream went past ``max_bytes``; nothing was kept."""


@dataclass(frozen=True)
class StoredFile:
    key: str
    size: int
    sha256: str


class FileStorage(Protocol):
    def save(self, stream: BinaryIO, *, max_bytes: int | None = None) -> StoredFile: ...

    def open(self, key: str) -> BinaryIO: ...

    def delete(self, key: str) -> None: ...


class LocalFileStorage:
    """Files in a folder; each is written to a temporary name and renamed into place.

    The rename is atomic on one filesystem, so a reader never sees half a
    file and a crash leaves at most a ``.tmp-`` file, never a truncated one
    under a real key.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not KEY_RE.match(key or ""):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key

    @staticmethod
    def new_key(now: datetime | None = None) -> str:
        now = now or datetime.now(UTC)
        return f"{now:%Y}/{now:%m}/{uuid.uuid4().hex}"

    def save(self, stream: BinaryIO, *, max_bytes: int | None = None) -> StoredFile:
        key = self.new_key()
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise FileTooLarge(max_bytes)
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp_name, 0o640)
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return StoredFile(key=key, size=size, sha256=digest.hexdigest())

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


def get_storage() -> FileStorage:
    """The storage configured for this app (UPLOAD_FOLDER)."""
    return LocalFileStorage(current_app.config["UPLOAD_FOLDER"])


# -- no orphan files -----------------------------------------------------------
# A file is written before its row is committed. If the transaction then fails
# (a constraint, a lost connection, a rollback anywhere in the request), the
# file would be left with no row pointing at it; these hooks remove it.

_PENDING = "pending_uploads"


def delete_unless_committed(session: Session, storage: FileStorage, key: str) -> None:
    """Delete ``key`` when the session's current transaction ends without a commit."""
    session.info.setdefault(_PENDING, []).append((storage, key))


@event.listens_for(Session, "after_commit")
def _keep_committed_files(session: Session) -> None:
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_transaction_end")
def _remove_uncommitted_files(session: Session, transaction) -> None:
    if transaction.parent is not None:  # a savepoint; the outer transaction decides
        return
    for storage, key in session.info.pop(_PENDING, []):
        storage.delete(key)
