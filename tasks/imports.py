"""Spreadsheet imports too large for a request: checking the rows, then importing them.

The job row is the promise (crm.imports.jobs): each task moves it on with a
conditional UPDATE, so a message delivered twice finds nothing left to do and
a file is never imported twice. Only the job's id travels in the message.
"""

from __future__ import annotations

from celery import shared_task

from crm.imports import jobs


@shared_task(name="tasks.imports.preview", ignore_result=True)
def preview_import(job_id: int) -> None:
    jobs.build_preview(job_id)


@shared_task(name="tasks.imports.run", ignore_result=True, acks_late=True)
def run_import(job_id: int) -> None:
    jobs.run(job_id)


@shared_task(name="tasks.imports.recover", ignore_result=True)
def recover_imports() -> None:
    """Every few minutes (beat): send again what a lost message or a dead worker left."""
    for job_id, step in jobs.stranded():
        (preview_import if step == "preview" else run_import).delay(job_id)
