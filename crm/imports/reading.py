"""Reading a spreadsheet: the header row and the data rows, numbered as in the sheet.

Only the first worksheet is read, in openpyxl's read-only mode (rows are
streamed, not held as cell objects: a 50,000-row sheet reads in seconds and
little memory). CSV is decoded as UTF-8 (with or without BOM) when it strictly
is, otherwise as GB18030, the encoding Chinese Excel saves CSV in.

Sheets often carry a title row (merged across the columns) above the header,
or a two-row header whose upper cells are merged: the header is the row, among
the first few, that names the most known columns.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import openpyxl

EXTENSIONS = ("xlsx", "csv")
HEADER_SEARCH_ROWS = 10


class UnreadableFile(Exception):
    """The file is not a spreadsheet we can read (the message says why, in English for logs)."""


@dataclass
class Sheet:
    headers: list[str]
    header_row: int  # 1-based row number in the sheet
    estimated_rows: int  # data rows below the header (from the sheet's dimension for .xlsx)


def extension(filename: str) -> str:
    return Path(filename or "").suffix.lower().lstrip(".")


def decode_csv(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise UnreadableFile("CSV is neither UTF-8 nor GB18030") from exc


def _csv_rows(path: Path) -> Iterator[tuple]:
    text = decode_csv(path.read_bytes())
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    yield from (tuple(row) for row in csv.reader(io.StringIO(text), dialect))


def _xlsx_rows(path: Path) -> Iterator[tuple]:
    workbook = _open_workbook(path)
    try:
        sheet = workbook.worksheets[0]
        # Some writers leave a wrong <dimension>; read whatever rows are there.
        sheet.reset_dimensions()
        yield from sheet.iter_rows(values_only=True)
    finally:
        workbook.close()


def _open_workbook(path: Path):
    # A file object, not the path: stored files have no extension, which openpyxl checks.
    stream = path.open("rb")
    try:
        return openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # zip, xml or openpyxl errors: all mean "not a readable .xlsx"
        stream.close()
        raise UnreadableFile(f"not a readable .xlsx: {exc}") from exc


def raw_rows(path: Path, filename: str) -> Iterator[tuple]:
    kind = extension(filename)
    if kind == "csv":
        return _csv_rows(path)
    if kind == "xlsx":
        return _xlsx_rows(path)
    raise UnreadableFile(f"unsupported file type: {kind}")


def _is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _header_text(value) -> str:
    if value is None:
        return ""
    return " ".join(str(value).split())


def read_sheet(path: Path, filename: str, score: Callable[[list[str]], int]) -> Sheet:
    """The header (the early row that ``score`` likes best) and an estimate of the data rows."""
    candidates: list[tuple[int, list[str]]] = []
    rows = raw_rows(path, filename)
    for number, row in enumerate(rows, start=1):
        if number > HEADER_SEARCH_ROWS:
            break
        if not all(_is_blank(v) for v in row):
            candidates.append((number, [_header_text(v) for v in row]))
    if not candidates:
        raise UnreadableFile("the sheet is empty")
    # The best score wins; on a tie the lower row (a merged group header sits above).
    header_row, headers = max(candidates, key=lambda c: (score(c[1]), c[0]))
    if score(headers) == 0:
        header_row, headers = candidates[0]
    while headers and not headers[-1]:
        headers.pop()
    return Sheet(
        headers=headers, header_row=header_row, estimated_rows=_estimate(path, filename, header_row)
    )


_DIMENSION = re.compile(rb'<(?:\w+:)?dimension ref="[A-Z]+\d+:[A-Z]+(\d+)"')


def _estimate(path: Path, filename: str, header_row: int) -> int:
    """Data rows, roughly: enough to choose between the request and a task, and for the bar.

    Not by reading the rows (that is most of an import's reading time): a CSV's
    lines, an .xlsx sheet's <dimension> (Excel and LibreOffice write it first),
    else the sheet's uncompressed size at about 100 bytes a row.
    """
    if extension(filename) == "csv":
        return max(decode_csv(path.read_bytes()).count("\n") - header_row, 0)
    try:
        with zipfile.ZipFile(path) as archive:
            names = sorted(
                n for n in archive.namelist() if re.match(r"xl/worksheets/sheet\d+\.xml$", n)
            )
            if not names:
                return 0
            with archive.open(names[0]) as sheet:
                head = sheet.read(4096)
            if match := _DIMENSION.search(head):
                return max(int(match.group(1)) - header_row, 0)
            return archive.getinfo(names[0]).file_size // 100
    except zipfile.BadZipFile:
        return 0


def data_rows(
    path: Path, filename: str, header_row: int, width: int
) -> Iterator[tuple[int, tuple]]:
    cache = _cache_path(path)
    if cache.exists():
        yield from _read_cache(cache)
        return
    yield from _sheet_rows(path, filename, header_row, width)


def _sheet_rows(
    path: Path, filename: str, header_row: int, width: int
) -> Iterator[tuple[int, tuple]]:
    """(row number in the sheet, the first ``width`` values) of every non-blank row below the header.

    Blank rows (Excel and LibreOffice often save formatted empty rows at the end)
    are neither data nor errors.
    """
    for number, row in enumerate(raw_rows(path, filename), start=1):
        if number <= header_row:
            continue
        values = tuple(row[:width]) + (None,) * (width - len(row))
        if all(_is_blank(v) for v in values):
            continue
        yield number, values


# -- the rows read once --------------------------------------------------------------
# The preview reads the sheet; the import reads the same rows again. openpyxl
# needs about 8 s for 50,000 rows, so the preview keeps the cells it read as
# JSON lines beside the file, and the import reads those (a second). Dates are
# kept as ISO text, which values.day reads back to the same date.


def _cache_path(path: Path) -> Path:
    return path.with_name(path.name + ".rows.jsonl")


def _plain(value):
    if isinstance(value, datetime | date | time):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return value


def _read_cache(cache: Path) -> Iterator[tuple[int, tuple]]:
    with cache.open(encoding="utf-8") as lines:
        for line in lines:
            number, cells = json.loads(line)
            yield number, tuple(cells)


def remember_rows(
    path: Path, filename: str, header_row: int, width: int
) -> Iterator[tuple[int, tuple]]:
    """``data_rows`` read from the sheet, written to the cache as they go by (for the import)."""
    cache = _cache_path(path)
    forget_rows(path)
    tmp = cache.with_name(cache.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for number, cells in _sheet_rows(path, filename, header_row, width):
            out.write(json.dumps([number, [_plain(v) for v in cells]], ensure_ascii=False))
            out.write("\n")
            yield number, cells
    tmp.replace(cache)


def forget_rows(path: Path) -> None:
    _cache_path(path).unlink(missing_ok=True)
