"""Streaming .xlsx: rows go to disk as they are written, so memory does not grow with them.

An openpyxl write-only workbook writes every appended row straight to a
temporary file of its sheet; saving zips those into one more anonymous
temporary file (``tempfile.TemporaryFile``: already unlinked, so it vanishes
when the response closes it), which ``send_file`` then streams in chunks.
Nothing holds a whole sheet in memory: openpyxl 3.1 writes strings inline (no
shared-strings table that would grow with the rows), and the callers feed rows
from a ``yield_per`` cursor.

Formats follow the monthly ranking (crm/reports/xlsx.py) and crm/formatting.py:
a bold shaded header in the reader's language, amounts as numbers in 万元 with
``#,##0.00##`` written from the Decimal's exact text, dates as real Excel dates
shown as 2026年11月26日 in Chinese and 26 Nov 2026 in English, times in the
bureau's zone (Excel has none).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import send_file
from flask_babel import get_locale
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from crm.clock import local_today, local_zone
from crm.reports.xlsx import AMOUNT_PLACES, FORMATS, MIMETYPE, content_disposition

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_thin = Side(style="thin", color="999999")
HEADER_BORDER = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
HEADER_ALIGNMENT = Alignment(wrap_text=True, horizontal="center", vertical="center")
WRAP = Alignment(wrap_text=True, vertical="top")

# Excel's own date codes, written the way crm.formatting writes dates.
DATE_FORMATS = {"zh": 'yyyy"年"m"月"d"日"', "en": "d mmm yyyy"}
DATETIME_FORMATS = {"zh": 'yyyy"年"m"月"d"日" hh:mm', "en": "d mmm yyyy hh:mm"}

KINDS = ("text", "long_text", "int", "amount", "date", "datetime")


@dataclass(frozen=True)
class Column:
    """One column of a sheet: its header (a lazy gettext string), how to read a row, its kind."""

    header: Any
    value: Callable[[Any], Any]
    kind: str = "text"
    width: float = 16

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")


@dataclass(frozen=True)
class Sheet:
    title: Any
    columns: list[Column]
    rows: Iterable[Any]


# The reader's language while a workbook is written: the columns' helpers read it
# per row (joining names, tag labels) without asking Flask-Babel each time.
_LANGUAGE: ContextVar[str | None] = ContextVar("export_language", default=None)


def language() -> str:
    """The workbook's language, "zh" or "en" (outside a workbook: the request's)."""
    current = _LANGUAGE.get()
    if current is not None:
        return current
    locale = get_locale()
    return "zh" if locale is None or locale.language == "zh" else "en"


# Excel holds at most this many characters in a cell.
CELL_LIMIT = 32_767


def clean_text(value) -> str:
    """Text as a cell can hold it: without the control characters XML refuses (a pasted
    vertical tab would otherwise fail the whole export), cut at Excel's cell limit."""
    value = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    return value[:CELL_LIMIT]


def sheet_name(title: str) -> str:
    """What Excel accepts as a sheet name: 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", "-", str(title))[:31] or "Sheet"


class _Writer:
    """Turns one row's values into cells, with one converter per column chosen up front.

    The write-only sheet serialises every cell of a row before ``append`` returns,
    so one styled cell object per column serves every row (creating and styling a
    cell per value cost a third of the export's time).
    """

    def __init__(self, ws, columns: list[Column], language: str):
        zone = local_zone()  # once: the app's config is a context lookup per call

        def styled(**style) -> WriteOnlyCell:
            cell = WriteOnlyCell(ws)
            for name, value in style.items():
                setattr(cell, name, value)
            return cell

        def text(value, cell):
            value = clean_text(value)
            if value.startswith("="):
                # A name like "=HYPERLINK(...)" stays text: never a formula in the reader's Excel.
                cell.value = value
                cell.data_type = "s"
                return cell
            return value

        def integer(value, _cell):
            return int(value)

        def amount(value, cell):
            value = Decimal(value).quantize(AMOUNT_PLACES)
            cell.value = value  # a numeric cell ...
            # ... whose text is the Decimal's, not a float's (see crm/reports/xlsx.py).
            cell._value = format(value, "f")
            return cell

        def day(value, cell):
            if isinstance(value, datetime):
                if value.tzinfo is not None:
                    value = value.astimezone(zone)
                value = value.date()
            cell.value = value
            return cell

        def moment(value, cell):
            if not isinstance(value, datetime):
                value = datetime.combine(value, datetime.min.time())
            elif value.tzinfo is not None:
                value = value.astimezone(zone).replace(tzinfo=None)
            cell.value = value
            return cell

        def long_text(value, cell):
            cell.value = clean_text(value)
            cell.data_type = "s"
            return cell

        made = {
            "text": (text, {}),
            "int": (integer, None),
            "amount": (amount, {"number_format": FORMATS["amount"]}),
            "date": (day, {"number_format": DATE_FORMATS[language]}),
            "datetime": (moment, {"number_format": DATETIME_FORMATS[language]}),
            "long_text": (long_text, {"alignment": WRAP}),
        }
        self.plan = []
        for column in columns:
            convert, style = made[column.kind]
            cell = styled(**style) if style is not None else None
            self.plan.append((column.value, convert, cell))

    def row(self, record) -> list:
        out = []
        for read, convert, cell in self.plan:
            value = read(record)
            out.append(None if value is None or value == "" else convert(value, cell))
        return out


def write_sheet(workbook: Workbook, sheet: Sheet) -> int:
    """Append one sheet: header, frozen under it, widths, then every row. Returns the row count."""
    ws = workbook.create_sheet(sheet_name(sheet.title))
    # Widths and panes must be set before the first row: the sheet's head is written then.
    for index, column in enumerate(sheet.columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = column.width
    ws.freeze_panes = "A2"
    ws.print_title_rows = "1:1"
    header = []
    for column in sheet.columns:
        cell = WriteOnlyCell(ws, str(column.header))
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.border = HEADER_BORDER
        cell.alignment = HEADER_ALIGNMENT
        header.append(cell)
    ws.append(header)
    writer = _Writer(ws, sheet.columns, language())
    count = 0
    for record in sheet.rows:
        ws.append(writer.row(record))
        count += 1
    return count


def write_workbook(target, sheets: Iterable[Sheet]) -> None:
    """Write the sheets, in order, as one .xlsx into ``target`` (a path or a binary file)."""
    token = _LANGUAGE.set(language())
    workbook = Workbook(write_only=True)
    try:
        for sheet in sheets:
            write_sheet(workbook, sheet)
        if not workbook.worksheets:
            workbook.create_sheet("Sheet")
        workbook.save(target)
    except BaseException:
        _discard_sheet_files(workbook)
        raise
    finally:
        _LANGUAGE.reset(token)


def _discard_sheet_files(workbook: Workbook) -> None:
    """A failed export (a database error mid-way) leaves no sheet file behind.

    Saving removes each sheet's temporary file; openpyxl would otherwise delete
    the files of an unsaved workbook only when the process exits.
    """
    for ws in workbook.worksheets:
        writer = getattr(ws, "_writer", None)
        if writer is None:
            continue
        # Closing ends the sheet's row generator and its XML; if it refuses, the file
        # goes anyway.
        with contextlib.suppress(Exception):
            ws.close()
        if os.path.exists(writer.out):
            writer.cleanup()


def file_names(title: str, slug: str, day: date | None = None) -> tuple[str, str]:
    """``<list title> 2026-11-26.xlsx`` in the reader's language, and an ASCII fallback."""
    day = day or local_today()
    return f"{title} {day.isoformat()}.xlsx", f"{slug}-{day.isoformat()}.xlsx"


def xlsx_response(sheets: Iterable[Sheet], *, title: str, slug: str):
    """The workbook as a download, streamed from an anonymous temporary file."""
    # Not a context manager: the response closes it once the last chunk is sent.
    spool = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115
    try:
        write_workbook(spool, sheets)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    name, fallback = file_names(title, slug)
    response = send_file(spool, mimetype=MIMETYPE, max_age=0)
    response.content_length = os.fstat(spool.fileno()).st_size
    response.headers["Content-Disposition"] = content_disposition(name, fallback)
    # Lists of people and enterprises: never kept by a proxy or the browser cache.
    response.headers["Cache-Control"] = "private, no-store"
    return response
