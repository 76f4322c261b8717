"""An import's life: upload → mapped → previewed → queued → running → done / failed.

Each move is a conditional UPDATE on the job's status, committed on its own:
only one of two identical submits moves a preview to "queued", and a task
delivered twice finds its job already "running". The rows themselves are
written in one transaction that also marks the job done: either both are
kept, or neither (a failure rolls back, then marks the job failed with the
error).

Small files are checked and imported in the request; files of more than
``LARGE_ROWS`` rows by a Celery task (tasks/imports.py), the page polling
``progress``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from crm.access import Access
from crm.documents.storage import KEY_RE, FileTooLarge, LocalFileStorage, delete_unless_committed
from crm.errors import ServiceError
from crm.extensions import db
from crm.imports import mapping as columns
from crm.imports import progress, reading
from crm.imports.cells import CellReader
from crm.imports.lookups import References
from crm.imports.rows import CREATE, HANDLERS, REFUSE, SKIP, UPDATE, Outcome
from crm.models import ImportJob, ImportKind, ImportStatus, OnExisting, User
from crm.models.base import utcnow

log = logging.getLogger(__name__)

LARGE_ROWS = 500  # more rows than this: checked and imported by a task, not in the request
MAX_BYTES = 20 * 1024 * 1024
CHUNK = 1000  # rows looked up and decided together
PREVIEW_LIMIT = 1000  # rows listed in a preview; above it, only those not simply created
# A job whose task message was lost (a broker restart before it was delivered)
# is sent again after this long.
RESEND_AFTER = timedelta(minutes=10)
# A run that has not finished after this long is taken to have died with its
# worker (nothing it wrote was committed) and may be taken over. 50,000 rows
# take about a minute; the lease leaves room for far larger files.
RUN_LEASE = timedelta(minutes=30)


def storage() -> LocalFileStorage:
    return LocalFileStorage(Path(current_app.instance_path) / "imports" / "files")


def file_path(job: ImportJob) -> Path:
    if not KEY_RE.match(job.storage_key or ""):
        raise ValueError(f"not a storage key: {job.storage_key!r}")
    return storage().root / job.storage_key


# -- upload and mapping -----------------------------------------------------------------


def create_job(
    *, actor: User, kind: ImportKind | str, stream: BinaryIO, filename: str
) -> ImportJob:
    kind = ImportKind(kind)
    if reading.extension(filename) not in reading.EXTENSIONS:
        raise ServiceError(_l("Choose an .xlsx or .csv file."), "file")
    files = storage()
    try:
        stored = files.save(stream, max_bytes=current_app.config.get("IMPORT_MAX_BYTES", MAX_BYTES))
    except FileTooLarge:
        raise ServiceError(_l("The upload is larger than the allowed size."), "file") from None
    delete_unless_committed(db.session, files, stored.key)
    try:
        sheet = reading.read_sheet(files.root / stored.key, filename, columns.header_score(kind))
    except reading.UnreadableFile:
        raise ServiceError(_l("This file cannot be read as a spreadsheet."), "file") from None
    job = ImportJob(
        kind=kind,
        status=ImportStatus.UPLOADED,
        on_existing=OnExisting.SKIP,
        filename=Path(filename).name[-255:],
        storage_key=stored.key,
        size_bytes=stored.size,
        sha256=stored.sha256,
        headers=sheet.headers,
        header_row=sheet.header_row,
        estimated_rows=sheet.estimated_rows,
        mapping=columns.guess(kind, sheet.headers),
        created_by_id=actor.id,
    )
    db.session.add(job)
    db.session.flush()
    return job


def set_mapping(
    job: ImportJob, *, mapping: list[str | None], on_existing: OnExisting | str
) -> None:
    """The user's mapping; the rows are to be checked again (from any state before "queued")."""
    cleaned = columns.clean_mapping(job.kind, list(mapping)[: len(job.headers)])
    missing = columns.missing_required(job.kind, cleaned)
    if missing:
        raise ServiceError(
            _l("Choose a column for: %(fields)s", fields="、".join(str(f.label) for f in missing)),
            "mapping",
        )
    moved = db.session.execute(
        update(ImportJob)
        .where(
            ImportJob.id == job.id,
            ImportJob.status.in_(
                [ImportStatus.UPLOADED, ImportStatus.MAPPED, ImportStatus.PREVIEWED]
            ),
        )
        .values(
            mapping=cleaned,
            on_existing=OnExisting(on_existing),
            status=ImportStatus.MAPPED,
            preview=None,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not moved:
        raise ServiceError(_l("This import was already submitted."), "mapping")
    db.session.expire(job)


def is_large(job: ImportJob) -> bool:
    return job.estimated_rows > LARGE_ROWS


def start_preview(job: ImportJob) -> None:
    """Check the rows now (small file) or in a task (large file; the page shows progress)."""
    if is_large(job):
        from tasks.imports import preview_import

        preview_import.delay(job.id)
    else:
        build_preview(job.id)


def start_run(job: ImportJob) -> None:
    """Import the rows now (small file) or in a task (large file; the page shows progress)."""
    if is_large(job):
        from tasks.imports import run_import

        run_import.delay(job.id)
    else:
        run(job.id)


# -- checking and importing the rows ------------------------------------------------------


class Report:
    """Counts per action and the rows a person reads (all, or the ones not simply created)."""

    def __init__(self):
        self.counts = {CREATE: 0, UPDATE: 0, SKIP: 0, REFUSE: 0}
        self.all: list[Outcome] = []
        self.notable: list[Outcome] = []

    def extend(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            self.counts[outcome.action] += 1
            if len(self.all) < PREVIEW_LIMIT + 1:
                self.all.append(outcome)
            if outcome.action != CREATE and len(self.notable) < PREVIEW_LIMIT:
                self.notable.append(outcome)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_json(self) -> dict[str, Any]:
        rows = self.all if self.total <= PREVIEW_LIMIT else self.notable
        rows = sorted(rows, key=lambda o: o.row)
        return {
            "counts": dict(self.counts),
            "rows": [o.as_json() for o in rows],
            "omitted": self.total - len(rows),
        }


def _open_transaction(job_id: int) -> None:
    """Start the transaction with a write.

    The services run in SAVEPOINTs; Python's sqlite3 does not BEGIN before a
    SAVEPOINT, and releasing a SAVEPOINT that opened the transaction commits
    it. A first UPDATE makes sqlite3 BEGIN, so the savepoints nest inside one
    transaction that the preview can roll back (harmless on PostgreSQL).
    """
    db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def process(job: ImportJob, *, write: bool) -> Report:
    actor = job.created_by
    reader = CellReader(
        columns.fields(job.kind), job.mapping or [], job.headers, References(Access(actor))
    )
    rows = HANDLERS[ImportKind(job.kind)](
        actor=actor, on_existing=job.on_existing, reader=reader, write=write
    )
    reporter = progress.Reporter(job.id, "saving" if write else "checking", job.estimated_rows)
    report = Report()
    _open_transaction(job.id)
    chunk = []
    done = 0
    # The preview reads the sheet and keeps its cells for the import, which reads those.
    read = reading.data_rows if write else reading.remember_rows
    for number, cells in read(file_path(job), job.filename, job.header_row, len(job.headers)):
        chunk.append(reader.read(number, cells))
        if len(chunk) >= CHUNK:
            report.extend(rows.handle(chunk))
            done += len(chunk)
            chunk = []
            reporter.update(done)
    if chunk:
        report.extend(rows.handle(chunk))
        done += len(chunk)
    report.extend(rows.finish())
    reporter.update(done, force=True)
    return report


def _locale(job: ImportJob) -> str:
    creator = job.created_by
    return (creator.locale if creator else None) or current_app.config["BABEL_DEFAULT_LOCALE"]


def _move(job_id: int, from_status: ImportStatus, *conditions, **values) -> bool:
    moved = db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.status == from_status, *conditions)
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    return moved == 1


def _fail(job_id: int, from_status: ImportStatus, error: BaseException) -> None:
    db.session.rollback()
    log.exception("import job %s failed", job_id, exc_info=error)
    _move(
        job_id,
        from_status,
        status=ImportStatus.FAILED,
        error=f"{type(error).__name__}: {error}"[:2000],
        finished_at=utcnow(),
    )
    db.session.commit()


def _take_over(job_id: int, started: datetime) -> bool:
    """A run older than the lease died with its worker (its transaction never
    committed): the redelivered task, or the recovery sweep, starts it afresh."""
    return _move(
        job_id,
        ImportStatus.RUNNING,
        ImportJob.started_at < started - RUN_LEASE,
        started_at=started,
    )


def stranded(now: datetime | None = None) -> list[tuple[int, str]]:
    """Jobs a lost message or a dead worker left behind: (id, "preview" or "run").

    Queued (or, for task-checked files, mapped) jobs untouched for RESEND_AFTER
    and runs past their lease; sending them again is safe because every step
    moves the job on with a conditional UPDATE.
    """
    now = now or utcnow()
    rows = db.session.execute(
        select(ImportJob).where(
            (
                ImportJob.status.in_([ImportStatus.QUEUED, ImportStatus.MAPPED])
                & (ImportJob.updated_at < now - RESEND_AFTER)
            )
            | (
                (ImportJob.status == ImportStatus.RUNNING)
                & (ImportJob.started_at < now - RUN_LEASE)
            )
        )
    ).scalars()
    found = []
    for job in rows:
        if job.status == ImportStatus.MAPPED:
            if is_large(job):
                found.append((job.id, "preview"))
        else:
            found.append((job.id, "run"))
    return found


def repeat_of(job: ImportJob) -> int | None:
    """Another job that imported (or is importing) the very same file as the same kind."""
    return db.session.execute(
        select(ImportJob.id)
        .where(
            ImportJob.sha256 == job.sha256,
            ImportJob.kind == job.kind,
            ImportJob.id != job.id,
            ImportJob.status.in_([ImportStatus.QUEUED, ImportStatus.RUNNING, ImportStatus.DONE]),
        )
        .order_by(ImportJob.id.desc())
        .limit(1)
    ).scalar()


def build_preview(job_id: int) -> None:
    """Check every row (mapped → previewed); nothing the check wrote is kept."""
    job = db.session.get(ImportJob, job_id)
    if job is None or job.status != ImportStatus.MAPPED:
        return
    try:
        with force_locale(_locale(job)):
            report = process(job, write=False)
        db.session.rollback()
        preview = report.as_json()
        preview["repeat_of"] = repeat_of(job)
        _move(job_id, ImportStatus.MAPPED, status=ImportStatus.PREVIEWED, preview=preview)
        db.session.commit()
    except Exception as error:  # noqa: BLE001 - whatever broke, the job says so
        _fail(job_id, ImportStatus.MAPPED, error)
    finally:
        progress.clear(job_id)


def has_accepted_rows(preview: dict | None) -> bool:
    """The preview found a row to create or update: there is something to import."""
    counts = (preview or {}).get("counts") or {}
    return bool(counts.get(CREATE) or counts.get(UPDATE))


def recent_jobs(access: Access, limit: int = 50) -> list[ImportJob]:
    """The newest jobs this user may see (``Access.import_jobs``)."""
    stmt = access.import_jobs().order_by(ImportJob.id.desc()).limit(limit)
    return list(db.session.execute(stmt).scalars())


def submit(job: ImportJob, *, confirm_repeat: bool) -> bool:
    """previewed → queued, once. False when the job was already submitted (a second POST)."""
    if job.status == ImportStatus.PREVIEWED and not has_accepted_rows(job.preview):
        raise ServiceError(_l("Nothing to import: every row is refused or unchanged."), "")
    if (
        job.status == ImportStatus.PREVIEWED
        and (job.preview or {}).get("repeat_of")
        and not confirm_repeat
    ):
        raise ServiceError(
            _l("This file was already imported. Confirm to import it again."), "confirm_repeat"
        )
    moved = _move(
        job.id, ImportStatus.PREVIEWED, status=ImportStatus.QUEUED, repeat_confirmed=confirm_repeat
    )
    db.session.commit()
    return moved


def run(job_id: int) -> None:
    """queued → running → done (the rows and "done" in one transaction) or failed (nothing kept)."""
    started = utcnow()
    if not (
        _move(job_id, ImportStatus.QUEUED, status=ImportStatus.RUNNING, started_at=started)
        or _take_over(job_id, started)
    ):
        db.session.rollback()
        return  # someone else runs it (a message delivered twice), or it is finished
    db.session.commit()
    job = db.session.get(ImportJob, job_id)
    db.session.refresh(job)
    try:
        with force_locale(_locale(job)):
            report = process(job, write=True)
        if not _move(
            job_id,
            ImportStatus.RUNNING,
            ImportJob.started_at == started,  # still ours: not taken over meanwhile
            status=ImportStatus.DONE,
            result=report.as_json(),
            finished_at=utcnow(),
        ):
            raise RuntimeError("the job left the running state while it ran")
        db.session.commit()
    except Exception as error:  # noqa: BLE001 - the transaction is undone and the job says why
        _fail(job_id, ImportStatus.RUNNING, error)
    finally:
        progress.clear(job_id)
        reading.forget_rows(file_path(job))
