"""The monthly ranking as .xlsx: opens cleanly, reader's language, exact amounts, formats."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import time
import zipfile
from datetime import date
from decimal import Decimal
from urllib.parse import unquote

import openpyxl
import pytest
from flask_babel import force_locale

from crm.models import FundsSource, Role
from crm.projects.services import record_funds
from crm.reports import services, xlsx
from tests.test_reports import MONTH_URL, PUBLISH_URL, build_world

D = Decimal
XLSX_URL = MONTH_URL + ".xlsx"
# 12345.6789 is exact through a float printed to 16 digits; 809353.7819 is not
# ("%.16g" gives 809353.7818999999), which is what openpyxl would write by itself.
AMOUNTS = {"a1": "12345.6789", "a2": "809353.7819"}


@pytest.fixture
def world(app, db, make_unit, make_enterprise):
    return build_world(app, db, make_unit, make_enterprise, amounts=AMOUNTS)


@pytest.fixture
def reader(make_user):
    def _make(locale: str, role: Role = Role.LEADER):
        return make_user(role, name="赵局长", locale=locale)

    return _make


def download(client):
    response = client.get(XLSX_URL)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response


def load(response):
    return openpyxl.load_workbook(io.BytesIO(response.data))


def sheet_xml(data: bytes, index: int = 1) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read(f"xl/worksheets/sheet{index}.xml").decode()


def expected_headers(locale: str, unit_label: str) -> list[str]:
    with force_locale(locale):
        return [str(services.RANK.label), unit_label] + [
            str(metric.label) for metric in services.METRICS
        ]


def test_the_workbook_loads_with_one_sheet_per_kind_in_chinese(app, client, login, reader, world):
    login(reader("zh_CN"))
    response = download(client)
    assert response.mimetype == xlsx.MIMETYPE
    workbook = load(response)
    assert len(workbook.sheetnames) == 2  # no corrections sheet: nothing published
    counties, task_forces = workbook.worksheets
    # Title, note, then the header row in the reader's language.
    title = counties["A1"].value
    assert title.startswith("2025年6月") and "县(区)" in title
    assert "产业专班" in task_forces["A1"].value
    assert counties["B3"].value == "县(区)"
    assert task_forces["B3"].value == "产业专班"
    with app.test_request_context():
        assert [c.value for c in counties[3]] == expected_headers("zh_CN", "县(区)")
    assert counties.freeze_panes == "C4"
    assert counties.column_dimensions["F"].width >= 14
    # Rows in ranking order: 翠屏区 has by far the largest amount now.
    assert [counties.cell(row, 2).value for row in range(4, 8)] == [
        "翠屏区",
        "南溪区",
        "叙州区",
        "江安县",
    ]


def test_headers_follow_the_reader_language(app, client, login, reader, world):
    login(reader("en"))
    counties = load(download(client)).worksheets[0]
    assert counties["B3"].value == "County / district"
    assert counties["A3"].value == "Rank"
    assert counties["F3"].value == "Contract amount (万元)"
    assert counties["O3"].value == "Landing rate"
    assert counties["A1"].value.startswith("June 2025")
    assert "Not yet published — live figures" in counties["A2"].value


def test_amounts_are_exact_numbers_in_wan_and_rates_percentages(client, login, reader, world):
    login(reader("en"))
    response = download(client)
    counties = load(response).worksheets[0]
    task_forces = load(response).worksheets[1]
    # 数字经济专班 signed only a1: 12345.6789 万元, exact in the file.
    amount = task_forces["F4"]
    assert amount.value == 12345.6789 and amount.number_format == "#,##0.00##"
    # 翠屏区: a1 + a2 = 821699.4608; the written text is the exact decimal.
    total = counties["F4"]
    assert D(str(total.value)) == D("821699.4608")
    xml = sheet_xml(response.data, 1)
    assert "<v>821699.4608</v>" in xml
    assert "<v>12345.6789</v>" in sheet_xml(response.data, 2)
    assert re.search(r"<v>\d+\.\d{5,}9999\d*</v>", xml) is None
    # Rates are fractions shown as percentages; counts are whole numbers.
    landing = counties["O4"]
    assert landing.value == 0 and landing.number_format == "0.0%"
    assert counties["E4"].number_format == "0.0%" and counties["E4"].value == 0.5
    assert counties["C4"].value == 2 and counties["C4"].number_format == "0"
    # No target, nothing to divide by: the text "—", never 0.
    assert counties["K5"].value == "—"  # 南溪区 has no out-of-province funds target
    assert task_forces["O5"].value == "—"  # 智能终端专班 signed nothing
    assert task_forces["A5"].value == "—"  # unranked


def test_number_writer_keeps_decimal_text_exact():
    workbook = openpyxl.Workbook()
    cell = workbook.active["A1"]
    xlsx._number(cell, D("809353.7819"), "amount")
    assert cell.data_type == "n"
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert '<c r="A1" t="n"><v>809353.7819</v></c>' in sheet_xml(buffer.getvalue())
    assert openpyxl.load_workbook(buffer).active["A1"].value == 809353.7819


def test_the_download_has_a_chinese_file_name_with_an_ascii_fallback(client, login, reader, world):
    login(reader("zh_CN"))
    header = download(client).headers["Content-Disposition"]
    assert header.startswith('attachment; filename="monthly-ranking-2025-06.xlsx"; ')
    encoded = re.search(r"filename\*=UTF-8''(\S+)$", header).group(1)
    assert "2025年6月" in unquote(encoded) and unquote(encoded).endswith(".xlsx")
    assert header.isascii()


def test_content_disposition_encodes_per_rfc_5987():
    header = xlsx.content_disposition("2026年10月招商引资月通报.xlsx", 'x"y.xlsx')
    assert header == (
        "attachment; filename=\"xy.xlsx\"; filename*=UTF-8''"
        "2026%E5%B9%B410%E6%9C%88%E6%8B%9B%E5%95%86%E5%BC%95%E8%B5%84%E6%9C%88%E9%80%9A%E6%8A%A5.xlsx"
    )


def test_a_published_month_says_so_and_lists_corrections(app, client, db, login, make_user, world):
    manager = make_user(Role.MANAGER, [world["a"]], name="孙科长", locale="en")
    login(manager)
    assert client.post(PUBLISH_URL).status_code == 302
    response = download(client)
    counties = load(response).worksheets[0]
    assert "Published" in counties["A2"].value and "孙科长" in counties["A2"].value
    assert len(load(response).sheetnames) == 2
    with app.test_request_context():
        project = db.session.get(type(world["a1"]), world["a1"].id)
        record_funds(
            project,
            actor=None,
            month=date(2025, 6, 1),
            source=FundsSource.OUTSIDE_PROVINCE,
            amount_wan=D("300"),
        )
        db.session.commit()
    workbook = load(download(client))
    counties, _task_forces, corrections = workbook.worksheets
    # The published figure stays in the ranking sheet, marked; the live one is listed.
    assert counties["I4"].value == 700
    assert counties["I4"].fill.fgColor.rgb.endswith("FFF2CC")
    assert "corrected since publication" in counties["A2"].value
    rows = list(corrections.iter_rows(min_row=4, values_only=True))
    assert (
        "Counties / districts",
        "翠屏区",
        "Out-of-province funds in place (万元)",
        700,
        1000,
    ) in rows


def test_the_export_is_fast(app, client, db, login, reader, make_unit, make_enterprise, world):
    """A ranking of 30 units exports well under the 2 s the issue allows."""
    from crm.models import UnitKind

    with app.test_request_context():
        for n in range(24):
            make_unit(f"测试县{n}", UnitKind.COUNTY if n % 2 else UnitKind.TASK_FORCE)
    login(reader("zh_CN"))
    started = time.perf_counter()
    response = download(client)
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0
    assert sum(ws.max_row - 3 for ws in load(response).worksheets) == 30


@pytest.mark.skipif(
    shutil.which("libreoffice") is None and shutil.which("soffice") is None,
    reason="LibreOffice is not installed",
)
def test_libreoffice_converts_the_workbook(client, login, reader, world, tmp_path):
    login(reader("zh_CN"))
    path = tmp_path / "ranking.xlsx"
    path.write_bytes(download(client).data)
    binary = shutil.which("libreoffice") or shutil.which("soffice")
    # Filter options: comma-separated, double quotes, character set 76 (UTF-8); by
    # default LibreOffice writes the system's character set, ASCII on a bare machine.
    subprocess.run(
        [
            binary,
            "--headless",
            f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76",
            "--outdir",
            str(tmp_path),
            str(path),
        ],
        check=True,
        timeout=120,
        capture_output=True,
    )
    text = (tmp_path / "ranking.csv").read_text(encoding="utf-8", errors="replace")
    assert "翠屏区" in text
