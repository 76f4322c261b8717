"""List exports as .xlsx: the list's filters and scope, headers in the reader's language,
amounts and dates as typed cells, frozen header, file name; the streaming writer."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from urllib.parse import unquote

import openpyxl
import pytest
from flask_babel import force_locale

from crm.clock import local_today
from crm.exports import sheets
from crm.exports.xlsx_stream import Column, Sheet, write_workbook
from crm.models import (
    EnterpriseIssue,
    FollowUp,
    IssueCategory,
    IssueStatus,
    ProjectStage,
    Role,
    SupervisionItem,
    UnitKind,
)
from crm.projects.services import create_project

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == XLSX
    return openpyxl.load_workbook(io.BytesIO(response.data))


def rows_of(ws) -> list[tuple]:
    return list(ws.iter_rows(values_only=True))


def column(ws, header: str) -> list:
    rows = rows_of(ws)
    index = list(rows[0]).index(header)
    return [row[index] for row in rows[1:]]


def headers_in(locale: str, columns: list[Column]) -> list[str]:
    with force_locale(locale):
        return [str(c.header) for c in columns]


@pytest.fixture
def two_counties(make_unit, make_user, make_enterprise):
    """County A with three enterprises (two tagged listed), county B with one."""
    a = make_unit("甲县", UnitKind.COUNTY)
    b = make_unit("乙县", UnitKind.COUNTY)
    staff_a = make_user(Role.STAFF, [a], name="张三", locale="zh_CN")
    staff_b = make_user(Role.STAFF, [b], name="李四", locale="en")
    ents = {
        "mengniu": make_enterprise("内蒙古蒙牛乳业有限公司", units=[a], is_listed=True),
        "changying": make_enterprise("深圳长盈精密技术股份有限公司", units=[a], is_listed=True),
        "plain": make_enterprise("甲县普通贸易有限公司", units=[a]),
        "other": make_enterprise("乙县蒙牛经销有限公司", units=[b]),
    }
    return {"a": a, "b": b, "staff_a": staff_a, "staff_b": staff_b, **ents}


# -- enterprises -------------------------------------------------------------------------


def test_enterprise_export_is_the_scoped_list_with_chinese_headers(client_for, two_counties):
    response = client_for(two_counties["staff_a"]).get("/enterprises/export.xlsx")
    wb = workbook(response)
    ws = wb.active
    rows = rows_of(ws)
    assert list(rows[0]) == headers_in("zh_CN", sheets.ENTERPRISE_COLUMNS)
    assert rows[0][1] == "名称"
    names = column(ws, rows[0][1])
    # County A's three, never county B's.
    assert sorted(names) == sorted(
        [
            "内蒙古蒙牛乳业有限公司",
            "深圳长盈精密技术股份有限公司",
            "甲县普通贸易有限公司",
        ]
    )
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["B"].width == 30


def test_other_county_gets_only_its_own(client_for, two_counties):
    wb = workbook(client_for(two_counties["staff_b"]).get("/enterprises/export.xlsx"))
    ws = wb.active
    assert rows_of(ws)[0][1] == "Name"  # English reader, English headers
    assert column(ws, "Name") == ["乙县蒙牛经销有限公司"]


def test_filters_and_two_character_chinese_search_apply(client_for, two_counties):
    client = client_for(two_counties["staff_a"])
    ws = workbook(client.get("/enterprises/export.xlsx?q=蒙牛")).active
    assert [r[1] for r in rows_of(ws)[1:]] == ["内蒙古蒙牛乳业有限公司"]
    ws = workbook(client.get("/enterprises/export.xlsx?q=长盈")).active
    assert [r[1] for r in rows_of(ws)[1:]] == ["深圳长盈精密技术股份有限公司"]
    ws = workbook(client.get("/enterprises/export.xlsx?tag=is_listed")).active
    assert len(rows_of(ws)) == 3
    ws = workbook(client.get("/enterprises/export.xlsx?q=不存在的名字")).active
    assert len(rows_of(ws)) == 1  # the header alone


def test_enterprise_cells_are_typed(client_for, two_counties):
    ws = workbook(client_for(two_counties["staff_b"]).get("/enterprises/export.xlsx")).active
    rows = rows_of(ws)
    header = list(rows[0])
    row = ws[2]
    last_activity = row[header.index("Last activity")]
    created = row[header.index("Created")]
    assert isinstance(last_activity.value, datetime)
    assert last_activity.number_format == "d mmm yyyy hh:mm"
    assert isinstance(created.value, datetime)  # Excel keeps dates as serial days
    assert created.value.date() == local_today()
    assert created.number_format == "d mmm yyyy"
    assert row[header.index("ID")].value == two_counties["other"].id
    assert row[header.index("Units")].value == "乙县"


def test_file_name_and_headers(client_for, two_counties):
    response = client_for(two_counties["staff_a"]).get("/enterprises/export.xlsx")
    disposition = response.headers["Content-Disposition"]
    today = local_today().isoformat()
    assert f'filename="enterprises-{today}.xlsx"' in disposition
    encoded = disposition.split("filename*=UTF-8''")[1]
    assert unquote(encoded) == f"企业 {today}.xlsx"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert int(response.headers["Content-Length"]) == len(response.data)


def test_export_needs_sign_in(client):
    response = client.get("/enterprises/export.xlsx")
    assert response.status_code == 302


# -- the writer ------------------------------------------------------------------------


def test_amounts_are_exact_numbers_and_dates_are_dates(app):
    columns = [
        Column("amount", lambda r: r[0], "amount"),
        Column("day", lambda r: r[1], "date"),
        Column("when", lambda r: r[2], "datetime"),
        Column("n", lambda r: r[3], "int"),
        Column("text", lambda r: r[4]),
    ]
    rows = [
        (
            Decimal("809353.7819"),
            date(2026, 3, 1),
            datetime(2026, 3, 1, 1, 30, tzinfo=None),
            7,
            "甲",
        ),
        (None, None, None, None, None),
    ]
    buffer = io.BytesIO()
    with app.test_request_context(), force_locale("zh_CN"):
        write_workbook(buffer, [Sheet("测试", columns, rows)])
    xml = zipfile.ZipFile(io.BytesIO(buffer.getvalue())).read("xl/worksheets/sheet1.xml").decode()
    assert "<v>809353.7819</v>" in xml  # not 809353.7818999999
    ws = openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active
    assert ws["A2"].data_type == "n" and ws["A2"].value == pytest.approx(809353.7819)
    assert ws["A2"].number_format == "#,##0.00##"
    assert ws["B2"].is_date and ws["B2"].number_format == 'yyyy"年"m"月"d"日"'
    assert ws["C2"].is_date and ws["C2"].number_format == 'yyyy"年"m"月"d"日" hh:mm'
    assert ws["D2"].value == 7
    assert [c.value for c in ws[3]] == [None] * 5
    assert ws.title == "测试"


def test_aware_times_are_written_in_the_bureau_zone(app):
    from datetime import UTC

    columns = [Column("when", lambda r: r, "datetime")]
    buffer = io.BytesIO()
    with app.test_request_context():
        write_workbook(buffer, [Sheet("t", columns, [datetime(2026, 3, 1, 20, 0, tzinfo=UTC)])])
    ws = openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active
    assert ws["A2"].value == datetime(2026, 3, 2, 4, 0)  # Asia/Shanghai is UTC+8


# -- projects --------------------------------------------------------------------------------


@pytest.fixture
def projects(db, two_counties, make_unit):
    made = {}
    for key, name, county, amount, enterprise in [
        ("big", "蒙牛十万吨乳品项目", "a", Decimal("120000.5"), "mengniu"),
        ("small", "长盈精密配件项目", "a", Decimal("809353.7819"), "changying"),
        ("other", "乙县项目", "b", Decimal("1"), "other"),
    ]:
        made[key] = create_project(
            two_counties[enterprise],
            actor=None,
            name=name,
            county=two_counties[county],
            contract_amount_wan=amount,
        )
    db.session.commit()
    return made


def test_project_export_filters_scope_and_amounts(client_for, two_counties, projects):
    client = client_for(two_counties["staff_a"])
    ws = workbook(client.get("/projects/export.xlsx")).active
    header = list(rows_of(ws)[0])
    assert header == headers_in("zh_CN", sheets.PROJECT_COLUMNS)
    names = [r[1] for r in rows_of(ws)[1:]]
    assert sorted(names) == sorted(["蒙牛十万吨乳品项目", "长盈精密配件项目"])
    amount_column = 4
    assert header[amount_column] == "协议投资额（万元）"
    cells = {r[1].value: r[amount_column] for r in ws.iter_rows(min_row=2)}
    assert cells["长盈精密配件项目"].data_type == "n"
    assert cells["长盈精密配件项目"].value == pytest.approx(809353.7819)
    assert cells["长盈精密配件项目"].number_format == "#,##0.00##"
    ws = workbook(client.get("/projects/export.xlsx?q=蒙牛")).active
    assert [r[1] for r in rows_of(ws)[1:]] == ["蒙牛十万吨乳品项目"]
    ws = workbook(client.get("/projects/export.xlsx?key=y")).active
    # Key projects (≥ 10 亿元), newest first as on the page.
    assert [r[1] for r in rows_of(ws)[1:]] == ["长盈精密配件项目", "蒙牛十万吨乳品项目"]
    ws = workbook(client.get(f"/projects/export.xlsx?stage={ProjectStage.SIGNED.value}")).active
    assert len(rows_of(ws)) == 1


# -- issues, follow-ups, supervision ---------------------------------------------------------


def _issue(db, enterprise, title, *, status=IssueStatus.NEW, step_due_at=None):
    issue = EnterpriseIssue(
        enterprise=enterprise,
        category=IssueCategory.LAND,
        title=title,
        status=status,
        step_due_at=step_due_at,
        due_date=local_today() + timedelta(days=3),
    )
    db.session.add(issue)
    return issue


def test_issue_export_applies_step_due_and_scope(db, client_for, two_counties):
    from crm.models.base import utcnow

    _issue(db, two_counties["mengniu"], "用地指标", step_due_at=utcnow() - timedelta(hours=2))
    _issue(db, two_counties["plain"], "用电增容", step_due_at=utcnow() + timedelta(days=30))
    _issue(db, two_counties["other"], "乙县诉求", step_due_at=utcnow() - timedelta(hours=2))
    db.session.commit()
    client = client_for(two_counties["staff_a"])
    ws = workbook(client.get("/issues/export.xlsx")).active
    header = list(rows_of(ws)[0])
    assert header == headers_in("zh_CN", sheets.ISSUE_COLUMNS)
    titles = column(ws, header[2])
    assert sorted(titles) == sorted(["用地指标", "用电增容"])
    ws = workbook(client.get("/issues/export.xlsx?step_due=overdue")).active
    assert column(ws, header[2]) == ["用地指标"]
    step_deadline = ws.cell(2, header.index(str(headers_in("zh_CN", sheets.ISSUE_COLUMNS)[6])) + 1)
    assert step_deadline.is_date
    category = column(ws, header[4])
    with force_locale("zh_CN"):
        from crm import labels

        assert category == [labels.label(IssueCategory.LAND)]


def test_follow_up_export_applies_due_filter(db, client_for, two_counties):
    staff = two_counties["staff_a"]
    today = local_today()
    for title, due, enterprise in [
        ("回访蒙牛", today - timedelta(days=2), "mengniu"),
        ("回访长盈", today + timedelta(days=40), "changying"),
        ("乙县回访", today - timedelta(days=2), "other"),
    ]:
        db.session.add(
            FollowUp(enterprise=two_counties[enterprise], title=title, due_date=due, owner=staff)
        )
    db.session.commit()
    client = client_for(staff)
    ws = workbook(client.get("/follow-ups/export.xlsx")).active
    header = list(rows_of(ws)[0])
    assert sorted(column(ws, header[2])) == ["回访蒙牛", "回访长盈"]
    ws = workbook(client.get("/follow-ups/export.xlsx?due=overdue")).active
    assert column(ws, header[2]) == ["回访蒙牛"]
    assert ws.cell(2, 2).is_date


def test_supervision_export(db, client_for, two_counties):
    today = local_today()
    for title, enterprise, unit, due in [
        ("督办蒙牛", "mengniu", "a", today - timedelta(days=1)),
        ("督办长盈", "changying", "a", today + timedelta(days=60)),
        ("督办乙县", "other", "b", today),
    ]:
        db.session.add(
            SupervisionItem(
                enterprise=two_counties[enterprise],
                issue=_issue(db, two_counties[enterprise], f"{title}的诉求"),
                title=title,
                due_date=due,
                unit=two_counties[unit],
            )
        )
    db.session.commit()
    client = client_for(two_counties["staff_a"])
    ws = workbook(client.get("/supervision/export.xlsx")).active
    header = list(rows_of(ws)[0])
    assert header == headers_in("zh_CN", sheets.SUPERVISION_COLUMNS)
    assert sorted(column(ws, header[2])) == ["督办蒙牛", "督办长盈"]
    ws = workbook(client.get("/supervision/export.xlsx?due=overdue")).active
    assert column(ws, header[2]) == ["督办蒙牛"]


# -- admin lists --------------------------------------------------------------------------------


def test_admin_user_list_export(client_for, make_user, two_counties):
    admin = make_user(Role.ADMIN, name="管理员", locale="en")
    client = client_for(admin)
    ws = workbook(client.get("/admin/users/export.xlsx")).active
    assert list(rows_of(ws)[0]) == headers_in("en", sheets.USER_COLUMNS)
    names = column(ws, "Full name")
    assert {"张三", "李四", "管理员"} <= set(names)
    ws = workbook(client.get("/admin/users/export.xlsx?q=张三")).active
    assert column(ws, "Full name") == ["张三"]
    assert column(ws, "Units") == ["甲县"]
    assert client_for(two_counties["staff_a"]).get("/admin/users/export.xlsx").status_code == 403


def test_admin_trash_export(db, client_for, make_user, two_counties):
    from crm.enterprises.services import delete_enterprise

    admin = make_user(Role.ADMIN, locale="en")
    delete_enterprise(two_counties["plain"], actor=admin)
    db.session.commit()
    ws = workbook(client_for(admin).get("/admin/trash/export.xlsx")).active
    assert column(ws, "Record") == ["甲县普通贸易有限公司"]
    assert ws.cell(2, 5).is_date


def test_related_rows_are_loaded_per_batch_not_per_row(
    app, db, client_for, two_counties, monkeypatch
):
    """Units, industry and the responsible person come with each batch: adding rows within
    a batch adds no statement, each further batch adds the same few."""
    from sqlalchemy import event

    from crm.exports import lists

    client = client_for(two_counties["staff_a"])
    monkeypatch.setattr(lists, "BATCH", 2)

    def statements(url: str) -> int:
        seen = []

        def count(*_args):
            seen.append(1)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(seen)

    one_batch = statements("/enterprises/export.xlsx?tag=is_listed")  # 2 rows
    two_batches = statements("/enterprises/export.xlsx")  # 3 rows
    assert two_batches - one_batch == 1  # the second batch's units, nothing per row


def test_admin_delivery_log_export(db, client_for, make_user, two_counties):
    from crm.models import Reminder, ReminderStatus
    from crm.models.base import utcnow

    admin = make_user(Role.ADMIN, locale="en")
    for n, status in enumerate([ReminderStatus.SENT, ReminderStatus.FAILED]):
        db.session.add(
            Reminder(
                kind="follow_up.due",
                recipient=two_counties["staff_a"],
                subject_type="follow_up",
                subject=f"跟进提醒 {n}",
                body="…",
                due_at=utcnow(),
                dedupe_key=f"export-test-{n}",
                status=status,
                last_error="550 mailbox unavailable" if status == ReminderStatus.FAILED else None,
            )
        )
    db.session.commit()
    client = client_for(admin)
    ws = workbook(client.get("/admin/mail/deliveries/export.xlsx")).active
    assert sorted(column(ws, "Subject")) == ["跟进提醒 0", "跟进提醒 1"]
    ws = workbook(client.get("/admin/mail/deliveries/export.xlsx?status=failed")).active
    assert column(ws, "Subject") == ["跟进提醒 1"]
    assert column(ws, "Status") == ["Failed"]
    assert column(ws, "Server's answer") == ["550 mailbox unavailable"]
    assert column(ws, "To") == ["张三"]


def test_no_temporary_file_is_left_behind(app, client_for, two_counties, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    response = client_for(two_counties["staff_a"]).get("/enterprises/export.xlsx")
    assert response.status_code == 200
    response.close()
    assert list(tmp_path.iterdir()) == []


def test_a_failed_export_leaves_no_file(app, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def rows():
        yield 1
        raise RuntimeError("the database went away")

    with app.test_request_context(), pytest.raises(RuntimeError):
        write_workbook(io.BytesIO(), [Sheet("t", [Column("n", lambda r: r, "int")], rows())])
    assert list(tmp_path.iterdir()) == []


def test_text_is_never_a_formula_and_control_characters_go(app):
    columns = [Column("a", lambda r: r[0]), Column("b", lambda r: r[1], "long_text")]
    rows = [('=HYPERLINK("http://evil","x")', "第一行\x0b第二行"), ("x" * 40_000, "=1+1")]
    buffer = io.BytesIO()
    with app.test_request_context():
        write_workbook(buffer, [Sheet("t", columns, rows)])
    ws = openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active
    assert ws["A2"].data_type == "s" and ws["A2"].value == '=HYPERLINK("http://evil","x")'
    assert ws["B2"].value == "第一行第二行"
    assert len(ws["A3"].value) == 32_767
    assert ws["B3"].data_type == "s" and ws["B3"].value == "=1+1"
