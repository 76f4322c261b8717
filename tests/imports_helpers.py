"""Writing real spreadsheet files for the import tests, and driving the import pages."""

from __future__ import annotations

import io
import re
from datetime import date

import openpyxl

from crm.enterprises.credit_code import complete


def code(n: int) -> str:
    return complete(f"91510100{n:09d}")


def xlsx_bytes(
    rows: list[list],
    *,
    title: str | None = None,
    merge_title: bool = True,
    blank_tail: int = 0,
    text_cells: set[tuple[int, int]] = frozenset(),
    date_format_cells=(),
) -> bytes:
    """A workbook as Excel users make them: an optional merged title row above the header,
    cells formatted as text ("numbers stored as text") and empty formatted rows at the end."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    offset = 0
    if title:
        sheet.append([title])
        if merge_title:
            sheet.merge_cells(
                start_row=1, start_column=1, end_row=1, end_column=max(len(rows[0]), 2)
            )
        offset = 1
    for row in rows:
        sheet.append(row)
    for r, c in text_cells:
        sheet.cell(row=r + offset, column=c).number_format = "@"
    for r, c in date_format_cells:
        sheet.cell(row=r + offset, column=c).number_format = "yyyy-mm-dd"
    last = sheet.max_row
    for i in range(blank_tail):
        sheet.cell(row=last + 1 + i, column=1).number_format = "@"
        sheet.cell(row=last + 1 + i, column=2).value = None
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(client, data: bytes, filename: str, kind: str = "enterprises"):
    return client.post(
        "/imports/new",
        data={"kind": kind, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def job_id_of(response) -> int:
    match = re.search(r"/imports/(\d+)", response.headers["Location"])
    assert match, response.headers.get("Location")
    return int(match.group(1))


def map_columns(
    client, job_id: int, mapping: list[str | None] | None = None, on_existing: str = "skip"
):
    """Post the mapping step: the guessed mapping (as the page shows it) unless one is given."""
    from crm.extensions import db
    from crm.models import ImportJob

    job = db.session.get(ImportJob, job_id)
    chosen = mapping if mapping is not None else job.mapping
    data = {f"col_{i}": key or "" for i, key in enumerate(chosen)}
    data["on_existing_choice"] = on_existing
    return client.post(f"/imports/{job_id}/mapping", data=data)


def today_minus(days: int) -> date:
    from datetime import timedelta

    from crm.clock import local_today

    return local_today() - timedelta(days=days)
