"""The monthly ranking as an Excel workbook (.xlsx): one sheet per ranked kind.

Headers are in the reader's language (gettext at build time). Amounts are numbers
in 万元 with the format ``#,##0.00##``; rates are fractions with ``0.0%``; a rate
with nothing to divide by (or a metric without a target) is the text "—".

Exactness: openpyxl keeps a Decimal in the cell, but writes every number with
``"%.16g" % value``, i.e. through a float printed to 16 digits, which turns
Decimal("809353.7819") into 809353.7818999999 (about one amount in fifteen).
``_number`` therefore hands the writer the Decimal's exact text; the cell stays a
numeric cell (t="n"). Excel and LibreOffice read it as the nearest double, which
shows the exact value for any amount up to 15 significant digits (1,000 亿元 with
four decimals is 13). tests/test_report_xlsx.py checks the written XML.
"""

from __future__ import annotations

import io
from decimal import Decimal
from urllib.parse import quote

from flask_babel import gettext
from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from crm.reports.services import METRICS, RANK, MonthReport, Table, month_title

MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

FORMATS = {
    "count": "0",
    "rank": "0",
    "amount": "#,##0.00##",
    "rate": "0.0%",
    "points": "+0.0%;-0.0%;0.0%",
}
WIDTHS = {"count": 10, "rank": 7, "amount": 16, "rate": 11, "points": 12}
AMOUNT_PLACES = Decimal("0.0001")
RATE_PLACES = Decimal("1E-10")
NONE_TEXT = "—"

TITLE_ROW, NOTE_ROW, HEADER_ROW = 1, 2, 3
FIRST_DATA_ROW = HEADER_ROW + 1

_thin = Side(style="thin", color="999999")
BORDER = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
CHANGED_FILL = PatternFill("solid", fgColor="FFF2CC")


def _number(cell: Cell, value: Decimal, kind: str) -> None:
    """Write ``value`` as a number whose text in the file is exact (see the module docstring)."""
    places = AMOUNT_PLACES if kind == "amount" else RATE_PLACES
    value = value.quantize(places)
    cell.value = value  # sets the numeric type and validates
    cell._value = format(value, "f")  # what the writer prints, verbatim


def _write_value(cell: Cell, kind: str, value) -> None:
    if value is None:
        cell.value = NONE_TEXT
        cell.alignment = Alignment(horizontal="center")
        return
    if isinstance(value, Decimal):
        _number(cell, value, kind)
    else:
        cell.value = int(value)
    cell.number_format = FORMATS[kind]


def sheet_title(month: MonthReport, table: Table) -> str:
    return gettext(
        "%(month)s investment promotion monthly ranking · %(kind)s",
        month=month_title(month.period),
        kind=table.unit_label,
    )


def _headers(table: Table) -> list[str]:
    return [str(RANK.label), table.unit_label] + [str(metric.label) for metric in METRICS]


def _sheet_name(table: Table) -> str:
    name = str(table.title)
    for char in "[]:*?/\\":
        name = name.replace(char, "-")
    return name[:31]


def _fill_sheet(ws, month: MonthReport, table: Table, note: str) -> None:
    headers = _headers(table)
    last_column = get_column_letter(len(headers))
    ws.merge_cells(f"A{TITLE_ROW}:{last_column}{TITLE_ROW}")
    ws.merge_cells(f"A{NOTE_ROW}:{last_column}{NOTE_ROW}")
    title = ws.cell(TITLE_ROW, 1, sheet_title(month, table))
    title.font = Font(bold=True, size=14)
    title.alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[TITLE_ROW].height = 24
    note_cell = ws.cell(NOTE_ROW, 1, note)
    note_cell.font = Font(italic=True, size=9, color="555555")

    for column, text in enumerate(headers, start=1):
        cell = ws.cell(HEADER_ROW, column, text)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.border = BORDER
        cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
    ws.row_dimensions[HEADER_ROW].height = 45

    for offset, line in enumerate(table.lines):
        row = FIRST_DATA_ROW + offset
        _write_value(ws.cell(row, 1), "rank", line.rank)
        ws.cell(row, 2, line.unit_name)
        for column, metric in enumerate(METRICS, start=3):
            cell = ws.cell(row, column)
            _write_value(cell, metric.kind, line.value(metric.name))
            if metric.name in line.changes:
                cell.fill = CHANGED_FILL
        for column in range(1, len(headers) + 1):
            ws.cell(row, column).border = BORDER

    ws.column_dimensions["A"].width = WIDTHS["rank"]
    ws.column_dimensions["B"].width = max(
        [14] + [min(len(line.unit_name) * 2 + 2, 40) for line in table.lines]
    )
    for column, metric in enumerate(METRICS, start=3):
        ws.column_dimensions[get_column_letter(column)].width = WIDTHS[metric.kind]
    # The header row (and the rank and unit columns) stay in view while scrolling.
    ws.freeze_panes = ws.cell(FIRST_DATA_ROW, 3).coordinate
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _fill_corrections(ws, month: MonthReport) -> None:
    """The published figures that differ now: unit, figure, published value, value now."""
    headers = [
        gettext("Type"),
        gettext("Unit"),
        gettext("Figure"),
        gettext("Published"),
        gettext("Now"),
    ]
    ws.cell(TITLE_ROW, 1, gettext("Corrections since publication")).font = Font(bold=True, size=14)
    for column, text in enumerate(headers, start=1):
        cell = ws.cell(HEADER_ROW, column, text)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.border = BORDER
    row = FIRST_DATA_ROW
    for table in month.tables:
        for line in table.lines:
            for change in line.changes.values():
                kind = change.metric.kind
                ws.cell(row, 1, str(table.title))
                ws.cell(row, 2, line.unit_name)
                ws.cell(row, 3, str(change.metric.label))
                _write_value(ws.cell(row, 4), kind, change.old)
                _write_value(ws.cell(row, 5), kind, change.new)
                row += 1
    for column, width in zip("ABCDE", (16, 24, 34, 16, 16), strict=True):
        ws.column_dimensions[column].width = width
    ws.freeze_panes = f"A{FIRST_DATA_ROW}"


def build_workbook(month: MonthReport, note: str) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for table in month.tables:
        _fill_sheet(workbook.create_sheet(_sheet_name(table)), month, table, note)
    if month.change_count:
        _fill_corrections(workbook.create_sheet(gettext("Corrections")[:31]), month)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def file_name(month: MonthReport) -> tuple[str, str]:
    """The download's name in the reader's language, and an ASCII fallback."""
    period = month.period
    name = gettext(
        "Monthly ranking %(month)s.xlsx",
        month=month_title(period),
    )
    return name, f"monthly-ranking-{period.year}-{period.month:02d}.xlsx"


def content_disposition(name: str, fallback: str) -> str:
    """``attachment`` with an ASCII ``filename`` and the real name per RFC 5987/6266."""
    fallback = "".join(c for c in fallback if c.isascii() and c not in '"\\') or "download.xlsx"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
