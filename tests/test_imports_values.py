"""Cells, headers and files as bureaus make them; the batch path against the service."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.enterprises.services import create_enterprise
from crm.imports import mapping, reading, values
from crm.imports.enterprise_batch import create_enterprises
from crm.models import Enterprise, EnterpriseGram, ImportKind, Role, TimelineEvent
from tests.imports_helpers import code, xlsx_bytes


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1,234.5", Decimal("1234.5")),
        ("１２３４.５", Decimal("1234.5")),  # full-width digits
        (" 500 万元", Decimal("500")),
        (1234.5, Decimal("1234.5")),
        (300, Decimal("300")),
        ("", None),
        (None, None),
    ],
)
def test_amounts(cell, expected):
    assert values.amount(cell) == expected


@pytest.mark.parametrize("cell", ["abc", "1.2.3", "NaN", True])
def test_not_amounts(cell):
    with pytest.raises(values.BadValue):
        values.amount(cell)


@pytest.mark.parametrize(
    "cell",
    [
        "2026-03-01",
        "2026/3/1",
        "2026年3月1日",
        "2026.3.1",
        "20260301",
        46082,  # Excel serial number
        "46082",  # the serial saved as text
        datetime(2026, 3, 1, 0, 0),
        date(2026, 3, 1),
        "2026-03-01 00:00:00",
    ],
)
def test_dates(cell):
    assert values.day(cell) == date(2026, 3, 1)


@pytest.mark.parametrize("cell", ["2026-02-30", "next week", 12, "3/1"])
def test_not_dates(cell):
    with pytest.raises(values.BadValue):
        values.day(cell)


@pytest.mark.parametrize("cell", ["2026-03", "2026年3月", "202603", "2026-03-17", 46082])
def test_months(cell):
    assert values.month(cell) == date(2026, 3, 1)


def test_yes_no():
    assert [values.yes_no(v) for v in ("是", "否", "Y", "no", "√", None, "")] == [
        True, False, True, False, True, None, None,
    ]  # fmt: skip
    with pytest.raises(values.BadValue):
        values.yes_no("也许")


def test_phone_numbers_from_number_cells_keep_their_digits():
    assert values.text(13800138000.0) == "13800138000"


def test_headers_in_chinese_and_english_are_guessed():
    zh = ["*统一社会信用代码", "企业名称", "英文名称", "所属单位", "备注（选填）", "无关列"]
    assert mapping.guess(ImportKind.ENTERPRISES, zh) == [
        "credit_code", "name", "name_en", "units", "description", None,
    ]  # fmt: skip
    en = ["Unified social credit code", "Name", "English name", "Units", "Listed"]
    assert mapping.guess(ImportKind.ENTERPRISES, en) == [
        "credit_code", "name", "name_en", "units", "is_listed",
    ]  # fmt: skip
    funds = ["项目编号", "月份", "资金来源", "到位资金（万元）"]
    assert mapping.guess(ImportKind.FUNDS, funds) == [
        "platform_number",
        "month",
        "source",
        "amount_wan",
    ]
    projects = [
        "市平台项目编号",
        "统一社会信用代码",
        "项目名称",
        "项目阶段",
        "协议投资额(万元)",
        "县(区)",
    ]
    assert mapping.guess(ImportKind.PROJECTS, projects) == [
        "platform_number", "credit_code", "name", "stage", "contract_amount_wan", "county",
    ]  # fmt: skip


def _score(kind=ImportKind.ENTERPRISES):
    return mapping.header_score(kind)


def test_csv_in_utf8_with_bom_and_in_gb18030(tmp_path):
    text = "统一社会信用代码,企业名称\r\n91510100000000001X,宜宾长盈精密技术有限公司\r\n"
    for encoding in ("utf-8-sig", "utf-8", "gb18030"):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(text.encode(encoding))
        sheet = reading.read_sheet(path, path.name, _score())
        assert sheet.headers == ["统一社会信用代码", "企业名称"], encoding
        rows = list(reading.data_rows(path, path.name, sheet.header_row, 2))
        assert rows == [(2, ("91510100000000001X", "宜宾长盈精密技术有限公司"))], encoding


def test_gb18030_bytes_that_are_not_utf8_are_read_as_gb18030(tmp_path):
    data = "企业名称\n四川\n".encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert reading.decode_csv(data) == "企业名称\n四川\n"


def test_xlsx_with_a_two_row_header_and_blank_rows_at_the_end(tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["企业信息", None, "标记"])
    sheet.merge_cells("A1:B1")
    sheet.append(["统一社会信用代码", "企业名称", "是否上市"])
    sheet.append([code(1), "宜宾长盈精密技术有限公司", "是"])
    sheet.append([None, None, None])
    sheet.append([code(2), "四川时代新能源科技有限公司", "否"])
    for row in range(6, 30):
        sheet.cell(row=row, column=1).number_format = "@"  # formatted, empty
    path = tmp_path / "two.xlsx"
    workbook.save(path)
    found = reading.read_sheet(path, "two.xlsx", _score())
    assert (found.header_row, found.headers) == (2, ["统一社会信用代码", "企业名称", "是否上市"])
    rows = list(reading.data_rows(path, "two.xlsx", found.header_row, 3))
    assert [number for number, _cells in rows] == [3, 5]


def test_unreadable_files(tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"not a zip")
    with pytest.raises(reading.UnreadableFile):
        reading.read_sheet(path, "x.xlsx", _score())


NAMES = [
    "宜宾长盈精密技术有限公司",
    "内蒙古蒙牛乳业（集团）股份有限公司",
    "重庆长安汽车股份有限公司",
    "中国银行股份有限公司宜宾分行",
    "ABC科技(中国)有限公司",
    "乐山乐乐食品厂",
    "四川省宜宾五粮液集团有限公司",
    "Tesla (Shanghai) Co., Ltd.",
    "长虹长江长城",
    "重重重庆",
]


def test_remembered_pinyin_equals_pypinyin():
    import pypinyin

    from crm.enterprises import pinyin

    for name in NAMES * 2:  # the second time from the remembered words
        for style in (pypinyin.Style.NORMAL, pypinyin.Style.FIRST_LETTER):
            assert pinyin.lazy_pinyin(name, style=style) == pypinyin.lazy_pinyin(name, style=style)
            assert pinyin.pinyin(name, style=style, heteronym=True) == pypinyin.pinyin(
                name, style=style, heteronym=True
            ), name


def test_batch_leaves_what_the_service_leaves(app, db, make_unit, make_user):
    """An enterprise made by the import's batch and one made by create_enterprise look alike."""
    unit = make_unit("翠屏区")
    manager = make_user(Role.MANAGER, [unit])
    fields = {
        "name": "宜宾长盈精密技术有限公司",
        "name_en": "Changying",
        "units": [unit],
        "is_listed": True,
    }
    by_service = create_enterprise(actor=manager, credit_code=code(1), **fields)
    (by_batch,) = create_enterprises([{**fields, "credit_code": code(2)}], actor=manager)
    db.session.commit()
    columns = [
        "name", "name_en", "is_listed", "is_settled", "responsible_id", "created_by_id",
        "name_pinyin", "name_initials", "unit_paths", "version", "deleted_at",
    ]  # fmt: skip
    service_row, batch_row = (db.session.get(Enterprise, i) for i in (by_service.id, by_batch.id))
    assert {c: getattr(batch_row, c) for c in columns} == {
        c: getattr(service_row, c) for c in columns
    }
    assert batch_row.units == service_row.units
    assert batch_row.search_text == service_row.search_text.replace(
        code(1).lower(), code(2).lower()
    )

    def grams(enterprise_id):
        return sorted(
            db.session.execute(
                select(EnterpriseGram.gram).where(EnterpriseGram.enterprise_id == enterprise_id)
            ).scalars()
        )

    assert grams(by_batch.id) == grams(by_service.id)

    def event(enterprise_id):
        e = db.session.execute(
            select(TimelineEvent).where(TimelineEvent.enterprise_id == enterprise_id)
        ).scalar_one()
        return e.kind, e.actor_id, e.subject_type, e.subject_id == enterprise_id, e.data

    kind, actor, subject, same, data = event(by_batch.id)
    assert (kind, actor, subject, same) == event(by_service.id)[:4]
    assert data == {"title": fields["name"], "text": code(2)}
    assert event(by_service.id)[4] == {"title": fields["name"], "text": code(1)}


def test_workbook_helper_writes_numbers_as_text(tmp_path):
    data = xlsx_bytes([["企业名称", "金额"], ["甲", "1,234.5"]], text_cells={(2, 2)})
    path = tmp_path / "t.xlsx"
    path.write_bytes(data)
    rows = list(reading.data_rows(path, "t.xlsx", 1, 2))
    assert rows == [(2, ("甲", "1,234.5"))]


def test_descriptions_keep_their_line_breaks_and_names_do_not():
    cell = "  主营：锂电池\r\n\r\n  年产值　５亿元 \n"
    assert values.paragraph(cell) == "主营:锂电池\n\n年产值 5亿元"  # NFKC, as names
    assert values.text(cell) == "主营:锂电池 年产值 5亿元"
    assert values.paragraph("  \n ") is None
    descriptions = [
        f.parse
        for kind in (ImportKind.ENTERPRISES, ImportKind.PROJECTS)
        for f in mapping.FIELDS[kind]
        if f.key == "description"
    ]
    assert descriptions == ["paragraph", "paragraph"]
