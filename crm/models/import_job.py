"""Spreadsheet imports: one row per uploaded file, from upload to done.

The job is the promise that a file is imported once: its status only moves
forwards, each move a conditional UPDATE (``WHERE status = <expected>``), so two
submits of one preview cannot both queue it and a re-delivered task finds it
already running. The rows it creates are in the enterprises' files; the job
keeps the file (by storage key and SHA-256), the column mapping, the preview
and the outcome.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db
from crm.models.base import UTCDateTime, utcnow
from crm.models.org import User
from crm.models.types import str_enum


class ImportKind(enum.StrEnum):
    ENTERPRISES = "enterprises"
    CONTACTS = "contacts"
    PROJECTS = "projects"
    FUNDS = "funds"


class ImportStatus(enum.StrEnum):
    UPLOADED = "uploaded"  # the file is kept; columns not mapped yet
    MAPPED = "mapped"  # columns mapped; the rows are being checked
    PREVIEWED = "previewed"  # every row checked: the preview waits for the user
    QUEUED = "queued"  # submitted: a task (or the request) is about to run it
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class OnExisting(enum.StrEnum):
    """What a row does when its record (by credit code / platform number) already exists."""

    SKIP = "skip"
    UPDATE = "update"
    REFUSE = "refuse"


class ImportJob(db.Model):
    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ImportKind] = mapped_column(str_enum(ImportKind))
    status: Mapped[ImportStatus] = mapped_column(
        str_enum(ImportStatus), default=ImportStatus.UPLOADED
    )
    on_existing: Mapped[OnExisting] = mapped_column(str_enum(OnExisting), default=OnExisting.SKIP)
    filename: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # The sheet as read at upload: the header texts, the header's row number in the
    # sheet, and an estimate of the data rows (decides request or background task).
    headers: Mapped[list] = mapped_column(db.JSON, default=list)
    header_row: Mapped[int] = mapped_column(Integer, default=1)
    estimated_rows: Mapped[int] = mapped_column(Integer, default=0)
    # One field key (or None: ignored) per column.
    mapping: Mapped[list | None] = mapped_column(db.JSON)
    # {"counts": {...}, "rows": [...], "omitted": n, "repeat_of": job id or None}
    preview: Mapped[dict | None] = mapped_column(db.JSON)
    # {"created": n, "updated": n, "skipped": n, "refused": n}
    result: Mapped[dict | None] = mapped_column(db.JSON)
    error: Mapped[str | None] = mapped_column(Text)
    repeat_confirmed: Mapped[bool] = mapped_column(default=False, server_default="0")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[User | None] = relationship(lazy="joined")

    __table_args__ = (
        # "Was this very file already imported as this kind?"
        Index("ix_import_job_sha256", "sha256", "kind"),
    )

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)

    def __repr__(self) -> str:
        return f"<ImportJob {self.id} {self.kind} {self.status}>"


__all__ = ["ImportJob", "ImportKind", "ImportStatus", "OnExisting"]
