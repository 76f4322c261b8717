"""The enterprise's dossier (一企一档) as .xlsx and as a print page: every kind of record is in it."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from urllib.parse import unquote

import openpyxl
import pytest
from flask_babel import force_locale

from crm.clock import local_today
from crm.contacts.services import create_contact
from crm.documents.services import attach_document
from crm.documents.storage import get_storage
from crm.issues import workflow
from crm.issues.services import create_issue
from crm.models import (
    DocumentKind,
    FundsSource,
    IssueCategory,
    PolicyStatus,
    ProjectStage,
    Role,
    SupervisionItem,
    UnitKind,
    VisitKind,
)
from crm.policies.services import create_policy
from crm.projects.services import change_stage, create_project, record_funds
from crm.visits.services import log_visit

SHEETS_EN = [
    "Profile",
    "Contacts",
    "Projects",
    "Stage history",
    "Funds in place",
    "Enterprise issues",
    "Issue steps",
    "Visits",
    "Follow-ups",
    "Policy package (一企一策)",
    "Supervision items",
    "Documents",
    "Timeline",
]


@pytest.fixture
def file(app, db, make_unit, make_user, make_enterprise):
    county = make_unit("甲县", UnitKind.COUNTY)
    other = make_unit("乙县", UnitKind.COUNTY)
    staff = make_user(Role.STAFF, [county], name="张三", locale="en")
    outsider = make_user(Role.STAFF, [other], name="李四", locale="en")
    enterprise = make_enterprise("宜宾长盈精密技术有限公司", units=[county], actor=staff)
    contact = create_contact(
        enterprise, actor=staff, name="王经理", title="总经理", phone="13800000000"
    )
    today = local_today()
    visit = log_visit(
        enterprise,
        actor=staff,
        kind=VisitKind.DOOR_KNOCKING,
        visit_date=today - timedelta(days=3),
        summary="了解扩产计划",
        concerns="用电负荷不足",
        participants=[staff],
        contacts_met=[contact],
        next_step_title="协调供电公司",
        next_step_due=today + timedelta(days=7),
        next_step_owner=staff,
    )
    project = create_project(
        enterprise,
        actor=staff,
        name="精密结构件扩产项目",
        county=county,
        contract_amount_wan=Decimal("809353.7819"),
        stage_on=today - timedelta(days=90),
    )
    change_stage(
        project,
        actor=staff,
        expected_version=project.version,
        to_stage=ProjectStage.NEGOTIATION,
        effective_on=today - timedelta(days=60),
    )
    change_stage(
        project,
        actor=staff,
        expected_version=project.version,
        to_stage=ProjectStage.SIGNED,
        effective_on=today - timedelta(days=40),
    )
    record_funds(
        project,
        actor=staff,
        month=today.replace(day=1),
        source=FundsSource.OUTSIDE_PROVINCE,
        amount_wan=Decimal("1234.5678"),
    )
    issue = create_issue(
        enterprise, actor=staff, category=IssueCategory.POWER, title="用电增容", visit=visit
    )
    workflow.accept(issue, actor=staff, expected_version=issue.version, note="已受理")
    create_policy(
        enterprise,
        actor=staff,
        name="设备补贴",
        value_wan=Decimal("500"),
        status=PolicyStatus.APPROVED,
        project=project,
    )
    db.session.add(
        SupervisionItem(
            enterprise=enterprise,
            project=project,
            title="年内开工督办",
            due_date=today + timedelta(days=90),
            unit=county,
            target_stage=ProjectStage.STARTED,
        )
    )
    with app.test_request_context():
        attach_document(
            enterprise,
            actor=staff,
            stream=io.BytesIO(b"%PDF-1.4\n%%EOF\n"),
            filename="投资协议.pdf",
            kind=DocumentKind.CONTRACT,
            storage=get_storage(),
            allowed_extensions=["pdf"],
            max_bytes=10_000,
        )
        db.session.commit()
    return {"enterprise": enterprise, "staff": staff, "outsider": outsider}


def download(client, enterprise):
    response = client.get(f"/enterprises/{enterprise.id}/dossier.xlsx")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response


def values(ws) -> list[tuple]:
    return list(ws.iter_rows(values_only=True))


def test_every_sheet_holds_the_records(client_for, file):
    enterprise = file["enterprise"]
    wb = openpyxl.load_workbook(io.BytesIO(download(client_for(file["staff"]), enterprise).data))
    assert wb.sheetnames == SHEETS_EN
    profile = dict(values(wb["Profile"])[1:])
    assert profile["Name"] == "宜宾长盈精密技术有限公司"
    assert profile["Units"] == "甲县"
    contacts = values(wb["Contacts"])
    assert contacts[1][:2] == ("王经理", "总经理")
    projects = values(wb["Projects"])
    assert "Enterprise" not in projects[0]  # the whole workbook is about one enterprise
    amount = wb["Projects"].cell(2, projects[0].index("Contract amount (万元)") + 1)
    assert amount.data_type == "n" and amount.value == pytest.approx(809353.7819)
    stages = values(wb["Stage history"])
    assert [row[1] for row in stages[1:]] == ["Reserve", "In negotiation", "Signed"]
    assert all(row[0] == "精密结构件扩产项目" for row in stages[1:])
    assert wb["Stage history"].cell(2, 4).is_date
    funds = values(wb["Funds in place"])
    assert funds[1][3] == "Outside the province"
    assert funds[1][4] == pytest.approx(1234.5678)
    issues = values(wb["Enterprise issues"])
    assert [row[2] for row in issues[1:]] == ["用电增容"]
    steps = values(wb["Issue steps"])
    assert steps[-1][1:4] == ("用电增容", "New", "Accepted")
    assert steps[-1][7] == "已受理"
    visits = values(wb["Visits"])
    assert visits[1][3] == "了解扩产计划" and visits[1][6] == "张三" and visits[1][7] == "王经理"
    follow_ups = values(wb["Follow-ups"])
    assert [row[2] for row in follow_ups[1:]] == ["协调供电公司"]
    policies = values(wb["Policy package (一企一策)"])
    assert policies[1][:2] == ("设备补贴", "Approved") and policies[1][3] == "精密结构件扩产项目"
    supervision = values(wb["Supervision items"])
    assert supervision[1][2] == "年内开工督办"
    documents = values(wb["Documents"])
    assert documents[1][1] == "投资协议.pdf" and documents[1][2] == "Contract"
    timeline = values(wb["Timeline"])
    kinds = [row[2] for row in timeline[1:]]
    assert "Enterprise registered" in kinds and "Visit logged" in kinds
    assert "Project stage changed" in kinds and "Document attached" in kinds
    assert len(timeline) - 1 >= 10
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2"


def test_sheet_names_and_headers_in_chinese(client_for, make_user, file):
    reader = make_user(Role.LEADER, name="赵局长", locale="zh_CN")
    enterprise = file["enterprise"]
    response = download(client_for(reader), enterprise)
    wb = openpyxl.load_workbook(io.BytesIO(response.data))
    with force_locale("zh_CN"):
        from flask_babel import gettext

        assert wb.sheetnames[0] == gettext("Profile")
        assert wb.sheetnames[2] == gettext("Projects") == "项目"
    name = unquote(response.headers["Content-Disposition"].split("filename*=UTF-8''")[1])
    assert name.endswith(f"宜宾长盈精密技术有限公司 {local_today().isoformat()}.xlsx")
    assert f'filename="dossier-{enterprise.id}-' in response.headers["Content-Disposition"]


def test_outside_the_scope_is_not_found(client_for, file):
    response = client_for(file["outsider"]).get(
        f"/enterprises/{file['enterprise'].id}/dossier.xlsx"
    )
    assert response.status_code == 404


def test_file_and_print_page_link_the_workbook(client_for, file):
    enterprise = file["enterprise"]
    client = client_for(file["staff"])
    link = f"/enterprises/{enterprise.id}/dossier.xlsx"
    assert link in client.get(f"/enterprises/{enterprise.id}").get_data(as_text=True)
    page = client.get(f"/enterprises/{enterprise.id}/dossier").get_data(as_text=True)
    assert link in page
    assert "break-before: page" in page and "table-header-group" in page


def test_list_pages_link_their_export_with_the_filters(client_for, file):
    client = client_for(file["staff"])
    page = client.get("/enterprises/?q=长盈&page=2").get_data(as_text=True)
    assert "/enterprises/export.xlsx?q=%E9%95%BF%E7%9B%88" in page
    assert "export.xlsx?q=%E9%95%BF%E7%9B%88&amp;page" not in page
    for url, export in [
        ("/projects?stage=signed", "/projects/export.xlsx?stage=signed"),
        ("/issues?step_due=overdue", "/issues/export.xlsx?step_due=overdue"),
        ("/follow-ups?due=week", "/follow-ups/export.xlsx?due=week"),
        ("/supervision?due=overdue", "/supervision/export.xlsx?due=overdue"),
    ]:
        assert export in client.get(url).get_data(as_text=True), url
