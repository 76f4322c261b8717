"""The load test's data: a bureau with four counties, their people, 2,000 enterprises.

Runs in the orchestrator's app context on a fresh, migrated database. Bulk rows
(enterprises, search grams, contacts, timeline) go in with Core inserts, their
search values computed by the application's own functions; issues and the
reminder-bearing issues go through the services, so their reminder rows are
planned as a user's action would plan them.

``fixture`` returns what the simulated users need (accounts, tokens, ids), as JSON.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, text

STAFF = 50
ENTERPRISES = 2_000
CONTACTS_PER_ENTERPRISE = 2
EVENTS_PER_ENTERPRISE = 10
ISSUES_PER_STAFF = 3  # the issues a simulated user updates, assigned to them alone
OTHER_ISSUES = 300
PASSWORD = "bench password"
COUNTIES = ["翠屏区", "叙州区", "南溪区", "江安县"]
MARK = "load"


def _users(units, bureau):
    from crm.auth.services import hash_password
    from crm.extensions import db
    from crm.models import Role, User

    password = hash_password(PASSWORD)  # one scrypt for everyone: seeding stays fast

    def add(email, name, role, unit):
        # No "before due" mail: each dated item wants exactly its due-day reminder.
        user = User(
            email=email,
            name=name,
            password_hash=password,
            role=role,
            locale="zh_CN",
            remind_before_minutes=0,
        )
        user.units = [unit]
        db.session.add(user)
        return user

    add(f"{MARK}-director@bench.local", "局长", Role.MANAGER, bureau)
    for n, unit in enumerate(units):
        add(f"{MARK}-manager-{n}@bench.local", f"{unit.name}负责人", Role.MANAGER, unit)
    staff = [
        add(f"{MARK}-staff-{n:02d}@bench.local", f"招商专员{n:02d}", Role.STAFF, units[n % 4])
        for n in range(STAFF)
    ]
    remind = [
        add(f"{MARK}-remind-{n}@bench.local", f"提醒接收人{n}", Role.STAFF, unit)
        for n, unit in enumerate(units)
    ]
    db.session.flush()
    return staff, remind


def _enterprises(units, staff, rng, now):
    import seed  # bench/seed.py: the same name generator as the other benchmarks

    from crm.access import unit_paths_key
    from crm.enterprises import search
    from crm.enterprises.credit_code import complete
    from crm.extensions import db
    from crm.models import Contact, Enterprise, EnterpriseGram, TimelineEvent, enterprise_unit

    rows, grams, links, contacts, events = [], [], [], [], []
    for i in range(ENTERPRISES):
        name = seed.FAMOUS[i][0] if i < len(seed.FAMOUS) else seed._name(rng)
        unit = units[i % len(units)]
        owners = [s for s in staff if s.units[0] is unit]
        code = complete(f"91999998{i:09d}")
        probe = Enterprise(name=name, name_en=None, credit_code=code)
        eid = i + 1
        rows.append(
            {
                "id": eid,
                "credit_code": code,
                "name": name,
                "responsible_id": owners[i % len(owners)].id,
                "is_settled": i % 3 == 0,
                "is_listed": i % 11 == 0,
                "name_pinyin": search.name_pinyin(name),
                "name_initials": search.name_initials(name),
                "search_text": search.haystack(probe),
                "unit_paths": unit_paths_key([unit]),
                "last_activity_at": now - timedelta(minutes=i),
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
        )
        grams.extend({"gram": g, "enterprise_id": eid} for g in search.grams(name))
        links.append({"enterprise_id": eid, "unit_id": unit.id})
        for c in range(CONTACTS_PER_ENTERPRISE):
            contacts.append(
                {
                    "enterprise_id": eid,
                    "name": rng.choice("王李张刘陈杨赵黄周吴")
                    + rng.choice(["伟", "芳", "强", "敏"]),
                    "title": ["总经理", "行政总监", "财务经理"][c % 3],
                    "phone": f"0831-0000{(i * 3 + c) % 1000:03d}",
                    "is_main": c == 0,
                }
            )
        for e in range(EVENTS_PER_ENTERPRISE):
            at = now - timedelta(days=e * 7 + i % 7)
            events.append(
                {
                    "enterprise_id": eid,
                    "occurred_at": at,
                    "recorded_at": at,
                    "actor_id": owners[0].id,
                    "kind": seed.EVENT_KINDS[e % len(seed.EVENT_KINDS)],
                    "subject_type": "enterprise",
                    "subject_id": eid,
                    "data": {
                        "title": "拜访企业，了解用地和用电需求",
                        "text": "企业反映用电负荷不足，需协调供电公司增容。",
                    },
                }
            )
    db.session.execute(insert(Enterprise), rows)
    db.session.execute(insert(EnterpriseGram), grams)
    db.session.execute(insert(enterprise_unit), links)
    db.session.execute(insert(Contact), contacts)
    db.session.execute(insert(TimelineEvent), events)
    db.session.execute(
        text(
            "SELECT setval(pg_get_serial_sequence('enterprise', 'id'), (SELECT max(id) FROM enterprise))"
        )
    )
    db.session.flush()
    return rows


def _issues(enterprises_by_unit, staff, rng):
    from crm.extensions import db
    from crm.issues.services import create_issue
    from crm.models import Enterprise, IssueCategory

    categories = list(IssueCategory)
    owned: dict[int, list[int]] = {}
    for n, user in enumerate(staff):
        pool = enterprises_by_unit[user.units[0].id]
        for k in range(ISSUES_PER_STAFF):
            enterprise = db.session.get(Enterprise, pool[(n * ISSUES_PER_STAFF + k) % len(pool)])
            issue = create_issue(
                enterprise,
                actor=user,
                category=categories[k % len(categories)],
                title=f"企业反映{['用地指标', '用电增容', '融资对接'][k]}问题",
                description="企业希望尽快协调解决。",
                assignee=user,
            )
            owned.setdefault(user.id, []).append(issue.id)
    for n in range(OTHER_ISSUES):
        user = staff[n % len(staff)]
        pool = enterprises_by_unit[user.units[0].id]
        create_issue(
            db.session.get(Enterprise, rng.choice(pool)),
            actor=user,
            category=rng.choice(categories),
            title="企业反映员工招聘困难",
            description="需要人社部门协助组织专场招聘会。",
        )
    return owned


def seed_all() -> dict:
    """Everything but the reminder-bearing issues; returns the users' fixture."""
    from crm.admin.units import create_unit
    from crm.api.tokens import create_token
    from crm.extensions import db
    from crm.models import UnitKind

    rng = random.Random(20260)
    now = datetime.now(UTC)
    bureau = create_unit(name="宜宾市投资促进局", kind=UnitKind.BUREAU)
    units = [create_unit(name=name, kind=UnitKind.COUNTY, parent=bureau) for name in COUNTIES]
    staff, remind = _users(units, bureau)
    rows = _enterprises(units, staff, rng, now)
    db.session.commit()
    by_unit: dict[int, list[int]] = {}
    for i, row in enumerate(rows):
        by_unit.setdefault(units[i % len(units)].id, []).append(row["id"])
    owned = _issues(by_unit, staff, rng)
    accounts = []
    for user in staff:
        _token, secret = create_token(user, "load test")
        accounts.append(
            {
                "email": user.email,
                "password": PASSWORD,
                "token": secret,
                "user_id": user.id,
                "enterprises": by_unit[user.units[0].id],
                "issues": owned[user.id],
            }
        )
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return {"accounts": accounts, "remind_user_ids": [u.id for u in remind]}


def plan_timed_reminders(due_times: list[datetime]) -> int:
    """One issue per moment, whose respond deadline is that moment.

    Each wants one "issue.due" mail to its assignee then (the assignees want
    nothing before due; escalations come 15 minutes after, past the run). The
    deadline is set on the issue and the issue replanned, as a rule change would.
    """
    from crm.extensions import db
    from crm.issues.services import create_issue
    from crm.models import Enterprise, IssueCategory, Role, User
    from crm.reminders import planner

    recipients = list(
        db.session.execute(
            db.select(User).where(User.email.like(f"{MARK}-remind-%"), User.role == Role.STAFF)
        ).scalars()
    )
    for n, due in enumerate(due_times):
        user = recipients[n % len(recipients)]
        enterprise_id = db.session.execute(
            text(
                "SELECT enterprise_id FROM enterprise_unit WHERE unit_id = :u"
                " ORDER BY enterprise_id OFFSET :n LIMIT 1"
            ),
            {"u": user.units[0].id, "n": (n // len(recipients)) % 400},
        ).scalar_one()
        issue = create_issue(
            db.session.get(Enterprise, enterprise_id),
            actor=None,
            category=IssueCategory.POWER,
            title=f"供电增容待受理 #{n}",
            assignee=user,
        )
        issue.step_due_at = due
        db.session.flush()
        planner.replan("issue", issue)
        if n % 100 == 99:
            db.session.commit()
    db.session.commit()
    return len(due_times)
