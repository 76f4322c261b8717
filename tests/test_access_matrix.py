"""Every route × every role × own/other unit answers as the organisation says.

The list of routes comes from the app's URL map: a route added without a rule
here fails ``test_every_route_has_a_rule``. For each rule, one request per kind
of user runs against a fresh little world:

- unit A holds an enterprise with a contact, visit, follow-up, issue, note and
  document; "own" users belong to A, "other" users to unit B;
- admin and leader see everything (the leader read-only).

Expected answers: anonymous -> 302 to sign-in; outside the user's units -> 404
(existence not revealed); inside but not allowed for the role -> 403; allowed ->
anything but 403/404/5xx (a POST with empty data may well answer 400/409/422).
"""

from __future__ import annotations

import io
import os
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from flask_login.utils import _create_identifier
from sqlalchemy import select

from crm.admin.units import create_unit
from crm.auth.services import hash_password
from crm.models import (
    Contact,
    DocumentKind,
    Enterprise,
    EnterpriseIssue,
    FollowUp,
    FundsSource,
    Industry,
    IssueCategory,
    Note,
    ProjectStage,
    Reminder,
    Role,
    SupervisionItem,
    UnitKind,
    User,
    Visit,
    VisitKind,
)
from crm.policies.services import create_policy
from crm.projects.services import create_project, record_funds
from crm.reminders import delivery

# What each role may do, by kind of rule.
PUBLIC = "public"  # no sign-in needed
SIGNED_IN = "signed_in"  # any signed-in user; the page itself is scoped
CREATE = "create"  # create records: admin, manager, staff (leader reads only)
READ = "read"  # a record of unit A
EDIT = "edit"  # change a record of unit A
MANAGE = "manage"  # delete an enterprise: admin and managers of its units
MANAGER_ROLE = "manager_role"  # city-wide acts of managers (publish a report): admin, managers
ADMIN = "admin"  # the admin area

RULES: dict[str, dict[str, str]] = {
    "auth.login": {"GET": PUBLIC, "POST": PUBLIC},
    "auth.logout": {"POST": SIGNED_IN},
    "account.reminder_preferences": {"GET": SIGNED_IN, "POST": SIGNED_IN},
    # One's own tokens only (another user's token id answers 404: tests/test_api_tokens.py).
    "account.api_tokens": {"GET": SIGNED_IN, "POST": SIGNED_IN},
    "account.revoke_api_token": {"POST": SIGNED_IN},
    "supervision.index": {"GET": SIGNED_IN},
    "supervision.new": {"GET": EDIT, "POST": EDIT},
    "supervision.detail": {"GET": READ},
    "supervision.edit": {"GET": EDIT, "POST": EDIT},
    "supervision.done": {"POST": EDIT},
    "supervision.cancel": {"GET": EDIT, "POST": EDIT},
    "supervision.delete": {"POST": EDIT},
    "supervision.check": {"GET": EDIT, "POST": EDIT},
    "auth.language": {"POST": PUBLIC},
    "home.index": {"GET": SIGNED_IN},
    "enterprises.index": {"GET": SIGNED_IN},
    "enterprises.new": {"GET": CREATE, "POST": CREATE},
    "enterprises.file": {"GET": READ},
    "enterprises.dossier": {"GET": READ},
    # Spreadsheet exports (issue 5): a list's export is scoped like the list; the dossier
    # .xlsx like the file.
    "enterprises.export": {"GET": SIGNED_IN},
    "enterprises.dossier_xlsx": {"GET": READ},
    "projects.export": {"GET": SIGNED_IN},
    "issues.export": {"GET": SIGNED_IN},
    "visits.follow_ups_export": {"GET": SIGNED_IN},
    "supervision.export": {"GET": SIGNED_IN},
    "enterprises.edit": {"GET": EDIT, "POST": EDIT},
    "enterprises.delete": {"POST": MANAGE},
    "contacts.new": {"GET": EDIT, "POST": EDIT},
    "contacts.edit": {"GET": EDIT, "POST": EDIT},
    "contacts.delete": {"POST": EDIT},
    "visits.new": {"GET": EDIT, "POST": EDIT},
    "visits.detail": {"GET": READ},
    "visits.edit": {"GET": EDIT, "POST": EDIT},
    "visits.delete": {"POST": EDIT},
    "visits.follow_ups": {"GET": SIGNED_IN},
    "visits.follow_up_done": {"POST": EDIT},
    "issues.index": {"GET": SIGNED_IN},
    "issues.new": {"GET": EDIT, "POST": EDIT},
    "issues.detail": {"GET": READ},
    "issues.edit": {"GET": EDIT, "POST": EDIT},
    "issues.delete": {"POST": EDIT},
    # The issue workflow (issue 4): steps and callbacks by anyone who may edit the
    # enterprise's records; reassignment by managers.
    "issues.transition": {"POST": EDIT},
    "issues.callback": {"GET": EDIT, "POST": EDIT},
    "issues.reassign": {"GET": MANAGE, "POST": MANAGE},
    "issues.figures": {"GET": SIGNED_IN},
    "notes.new": {"GET": EDIT, "POST": EDIT},
    "notes.edit": {"GET": EDIT, "POST": EDIT},
    "notes.delete": {"POST": EDIT},
    "documents.upload": {"GET": EDIT, "POST": EDIT},
    "documents.download": {"GET": READ},
    "documents.delete": {"POST": EDIT},
    # Projects (issue 3): the world's project is attached to unit A.
    "projects.index": {"GET": SIGNED_IN},
    "projects.new": {"GET": EDIT, "POST": EDIT},
    "projects.detail": {"GET": READ},
    "projects.edit": {"GET": EDIT, "POST": EDIT},
    "projects.stage": {"GET": EDIT, "POST": EDIT},
    "projects.funds": {"GET": EDIT, "POST": EDIT},
    "projects.delete": {"POST": MANAGE},
    "policies.new": {"GET": EDIT, "POST": EDIT},
    "policies.edit": {"GET": EDIT, "POST": EDIT},
    "policies.delete": {"POST": EDIT},
    "dashboard.city": {"GET": SIGNED_IN},
    "dashboard.unit": {"GET": READ},
    "reports.index": {"GET": SIGNED_IN},
    "reports.month": {"GET": SIGNED_IN},
    "reports.xlsx": {"GET": SIGNED_IN},
    "reports.printable": {"GET": SIGNED_IN},
    "reports.publish": {"POST": MANAGER_ROLE},
    # Spreadsheet imports: admins and managers; a job is seen by its creator's units.
    "imports.index": {"GET": MANAGER_ROLE},
    "imports.new": {"GET": MANAGER_ROLE, "POST": MANAGER_ROLE},
    "imports.mapping": {"GET": MANAGE, "POST": MANAGE},
    "imports.detail": {"GET": MANAGE},
    "imports.commit": {"POST": MANAGE},
    "imports.progress_json": {"GET": MANAGE},
    "opportunities.index": {"GET": PUBLIC},
    "opportunities.detail": {"GET": PUBLIC},
    # The JSON API: signed in by a bearer token instead of the session (anonymous: 401).
    "api-docs.openapi_json": {"GET": PUBLIC},
    "api_docs.page": {"GET": PUBLIC},
    "api_docs.asset": {"GET": PUBLIC},
    "api_enterprises.Enterprises": {"GET": SIGNED_IN, "POST": CREATE},
    "api_enterprises.EnterpriseItem": {"GET": READ, "PATCH": EDIT, "DELETE": MANAGE},
    "api_issues.Issues": {"GET": SIGNED_IN},
    "api_issues.EnterpriseIssues": {"GET": READ, "POST": EDIT},
    "api_issues.IssueItem": {"GET": READ, "PATCH": EDIT},
    # Steps need EDIT; a reassign step needs MANAGE, checked once the body names it.
    "api_issue_steps.IssueSteps": {"GET": READ, "POST": EDIT},
    "api_projects.Projects": {"GET": SIGNED_IN},
    "api_projects.EnterpriseProjects": {"GET": READ, "POST": EDIT},
    "api_projects.ProjectItem": {"GET": READ, "PATCH": EDIT, "DELETE": MANAGE},
    "api_project_progress.StageChanges": {"GET": READ, "POST": EDIT},
    "api_project_progress.Funds": {"GET": READ, "POST": EDIT},
    "api_reports.Reports": {"GET": SIGNED_IN},
    "api_reports.MonthItem": {"GET": SIGNED_IN},
    "api_targets.Targets": {"GET": SIGNED_IN},
    "api_targets.TargetItem": {"GET": SIGNED_IN, "PUT": ADMIN},
    "api_contacts.EnterpriseContacts": {"GET": READ, "POST": EDIT},
    "api_contacts.ContactItem": {"GET": READ, "PATCH": EDIT, "DELETE": EDIT},
    "api_visits.EnterpriseVisits": {"GET": READ, "POST": EDIT},
    "api_visits.VisitItem": {"GET": READ, "PATCH": EDIT, "DELETE": EDIT},
    "api_follow_ups.FollowUps": {"GET": SIGNED_IN},
    "api_follow_ups.EnterpriseFollowUps": {"GET": READ},
    "api_follow_ups.FollowUpItem": {"GET": READ},
    # The world's follow-up is staff_own's; anyone else needs EDIT on the enterprise.
    "api_follow_ups.FollowUpDone": {"POST": EDIT},
    "api_timeline.EnterpriseTimeline": {"GET": READ},
}
# Blueprints that are the admin area as a whole.
ADMIN_BLUEPRINTS = {"admin", "targets", "issue_rules", "mail_admin"}
SKIPPED = {"static"}

USERS = ["anonymous", "admin", "leader", "manager_own", "staff_own", "manager_other", "staff_other"]


def expected(rule: str, who: str) -> str:
    """'ok', 'login', 403 or 404."""
    if rule == PUBLIC:
        return "ok"
    if who == "anonymous":
        return "login"
    if rule == SIGNED_IN:
        return "ok"
    if rule == ADMIN:
        return "ok" if who == "admin" else 403
    if rule == CREATE:
        return 403 if who == "leader" else "ok"
    if rule == MANAGER_ROLE:
        return "ok" if who == "admin" or who.startswith("manager") else 403
    if who.endswith("_other"):
        return 404
    if rule == READ:
        return "ok"
    if who == "leader":
        return 403
    if rule == MANAGE and who == "staff_own":
        return 403
    return "ok"


def rule_for(endpoint: str, method: str) -> str | None:
    if endpoint.split(".")[0] in ADMIN_BLUEPRINTS:
        return ADMIN
    return RULES.get(endpoint, {}).get(method)


def routes(app) -> list[tuple[str, str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, rule.rule))
    return sorted(found)


def test_every_route_has_a_rule(app):
    missing = [(e, m, r) for e, m, r in routes(app) if rule_for(e, m) is None]
    assert missing == [], f"routes without an access rule in {__file__}: {missing}"


# -- the world ------------------------------------------------------------------

_HASH = None


def _user(db, email: str, role: Role, units) -> User:
    global _HASH
    if _HASH is None:
        _HASH = hash_password("matrix password 1")
    user = User(email=email, name=email.split("@")[0], password_hash=_HASH, role=role, locale="en")
    user.units = list(units)
    db.session.add(user)
    return user


@pytest.fixture
def world(app, db, credit_code):
    from crm.documents.services import attach_document
    from crm.documents.storage import get_storage

    unit_a = create_unit(name="翠屏区", kind=UnitKind.COUNTY)
    unit_b = create_unit(name="叙州区", kind=UnitKind.COUNTY)
    users = {
        "admin": _user(db, "admin@m.test", Role.ADMIN, []),
        "leader": _user(db, "leader@m.test", Role.LEADER, []),
        "manager_own": _user(db, "mgr-a@m.test", Role.MANAGER, [unit_a]),
        "staff_own": _user(db, "staff-a@m.test", Role.STAFF, [unit_a]),
        "manager_other": _user(db, "mgr-b@m.test", Role.MANAGER, [unit_b]),
        "staff_other": _user(db, "staff-b@m.test", Role.STAFF, [unit_b]),
    }
    db.session.flush()
    staff = users["staff_own"]
    enterprise = Enterprise(
        credit_code=credit_code(),
        name="宜宾长盈精密技术有限公司",
        responsible_id=staff.id,
        units=[unit_a],
    )
    db.session.add(enterprise)
    db.session.flush()
    contact = Contact(enterprise_id=enterprise.id, name="王经理")
    visit = Visit(
        enterprise_id=enterprise.id,
        kind=VisitKind.DOOR_KNOCKING,
        visit_date=date.today(),
        summary="走访",
    )
    note = Note(enterprise_id=enterprise.id, body="备注")
    deleted_note = Note(
        enterprise_id=enterprise.id, body="已删除的备注", deleted_at=datetime.now(UTC)
    )
    issue = EnterpriseIssue(
        enterprise_id=enterprise.id, category=IssueCategory.LAND, title="用地指标"
    )
    industry = Industry(name="数字经济")
    db.session.add_all([contact, visit, note, deleted_note, issue, industry])
    db.session.flush()
    with app.test_request_context():
        project = create_project(
            enterprise,
            actor=staff,
            name="长盈精密二期",
            county=unit_a,
            contract_amount_wan=Decimal("50000"),
            stage=ProjectStage.SIGNED,
            stage_on=date.today() - timedelta(days=40),
        )
        policy = create_policy(enterprise, actor=staff, name="设备补贴", project=project)
        delivery.schedule(
            kind="note.due",
            recipient=staff,
            subject_type="note",
            subject_id=None,
            due_at=datetime.now(UTC),
            dedupe_key="matrix:reminder",
            subject="跟进提醒",
            body="今天到期",
        )
        opportunity = create_project(
            enterprise,
            actor=staff,
            name="锂电材料配套项目",
            county=unit_a,
            is_promoted=True,
            public_fields=["industry", "county"],
        )
        record_funds(
            project,
            actor=staff,
            month=date.today(),
            source=FundsSource.OUTSIDE_PROVINCE,
            amount_wan=Decimal("1200.5"),
        )
    follow_up = FollowUp(
        enterprise_id=enterprise.id,
        visit_id=visit.id,
        title="回访",
        due_date=date.today() + timedelta(days=3),
        owner_id=staff.id,
    )
    db.session.add(follow_up)
    supervision = SupervisionItem(
        enterprise_id=enterprise.id,
        project_id=project.id,
        issue_id=issue.id,
        title="开工督办",
        due_date=date.today() + timedelta(days=30),
        unit_id=unit_a.id,
    )
    db.session.add(supervision)
    with app.test_request_context():
        document = attach_document(
            enterprise,
            actor=staff,
            stream=io.BytesIO(b"%PDF-1.4\n%%EOF\n"),
            filename="合同.pdf",
            kind=DocumentKind.CONTRACT,
            storage=get_storage(),
            allowed_extensions=["pdf"],
            max_bytes=10_000,
        )
        db.session.commit()
    ids = {
        "enterprise_id": enterprise.id,
        "contact_id": contact.id,
        "visit_id": visit.id,
        "note_id": note.id,
        "issue_id": issue.id,
        "follow_up_id": follow_up.id,
        "document_id": document.id,
        "user_id": staff.id,
        "unit_id": unit_a.id,
        "item_id": industry.id,
        "kind": "industries",
        "record_id": deleted_note.id,
        "project_id": project.id,
        "policy_id": policy.id,
        "opportunity_id": opportunity.id,
        "supervision_id": supervision.id,
        "reminder_id": db.session.execute(select(Reminder.id)).scalar_one(),
        "job_id": _import_job(db, users["manager_own"]),
        "year": date.today().year,
        "month": date.today().month,
    }
    return {name: user.id for name, user in users.items()}, ids


def _import_job(db, creator: User) -> int:
    """A checked import of unit A's manager, waiting to be submitted."""
    from crm.models import ImportJob, ImportKind, ImportStatus

    job = ImportJob(
        kind=ImportKind.ENTERPRISES,
        status=ImportStatus.PREVIEWED,
        filename="企业.xlsx",
        storage_key="2026/01/" + "0" * 32,
        size_bytes=1,
        sha256="0" * 64,
        headers=["统一社会信用代码", "企业名称"],
        mapping=["credit_code", "name"],
        preview={
            "counts": {"create": 0, "update": 0, "skip": 0, "refuse": 0},
            "rows": [],
            "omitted": 0,
        },
        created_by_id=creator.id,
    )
    db.session.add(job)
    db.session.commit()
    return job.id


def _url(rule: str, ids: dict) -> str:
    url = rule
    for key, value in ids.items():
        for form in (f"<int:{key}>", f"<path:{key}>", f"<{key}>"):
            url = url.replace(form, str(value))
    assert "<" not in url, f"no value for a parameter of {rule}"
    return url


def _sign_in(client, db, user_id: int) -> None:
    """Sign in by writing the session (scrypt on every one of hundreds of cases would dominate)."""
    user = db.session.get(User, user_id)
    with client.application.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
        session["_id"] = identifier


def _cases():
    import tempfile

    from crm import create_app  # only to read the URL map; no database is touched

    saved = os.environ.get("CRM_INSTANCE_PATH")
    os.environ["CRM_INSTANCE_PATH"] = tempfile.mkdtemp(prefix="crm-matrix-")
    try:
        app = create_app("testing")
    finally:
        if saved is None:
            os.environ.pop("CRM_INSTANCE_PATH")
        else:
            os.environ["CRM_INSTANCE_PATH"] = saved
    for endpoint, method, rule in routes(app):
        kind = rule_for(endpoint, method)
        if kind is None:
            continue
        for who in USERS:
            yield pytest.param(endpoint, method, rule, kind, who, id=f"{endpoint}-{method}-{who}")


def _call_api(client, db, user_id: int | None, url: str, method: str):
    """An API call as a script makes it: a token, a JSON body, and If-Match: * on changes."""
    from crm.api.tokens import create_token

    headers = {"If-Match": "*"}
    if user_id is not None:
        _token, secret = create_token(db.session.get(User, user_id), "matrix")
        db.session.commit()
        headers["Authorization"] = f"Bearer {secret}"
    body = None if method in ("GET", "DELETE") else {}
    return client.open(url, method=method, json=body, headers=headers)


@pytest.mark.parametrize(("endpoint", "method", "rule", "kind", "who"), list(_cases()))
def test_access(app, db, client, world, endpoint, method, rule, kind, who):
    user_ids, ids = world
    if rule == "/admin/trash/<kind>/<int:record_id>/restore":
        ids = {**ids, "kind": "note"}
    if endpoint.startswith("supervision."):
        ids = {**ids, "item_id": ids["supervision_id"]}  # "item_id" is a reference item elsewhere
    if endpoint.startswith("opportunities."):
        ids = {**ids, "project_id": ids["opportunity_id"]}  # the public page shows reserve ones
    ids = {**ids, "filename": "swagger-ui.css"}
    is_api = endpoint.startswith("api_") and not endpoint.startswith("api_docs.")
    url = _url(rule, ids)
    if is_api:
        response = _call_api(client, db, user_ids.get(who), url, method)
    else:
        if who != "anonymous":
            _sign_in(client, db, user_ids[who])
        response = client.open(url, method=method, data={})
    want = expected(kind, who)
    status = response.status_code
    where = f"{method} {url} as {who}: {status}"
    if is_api and want == "login":
        assert status == 401, where
    elif want == "login":
        assert status == 302 and "/login" in response.headers["Location"], where
    elif want == "ok":
        assert status not in (401, 403, 404) and status < 500, where
        if status == 302 and endpoint != "auth.logout":
            assert "/login" not in response.headers["Location"], where
    else:
        assert status == want, where
