"""Fill a database with five years of a city's investment projects, for the benchmarks.

One bureau with 20 ranked units (Yibin's 11 counties/districts and 9 industry
task forces), 20,000 enterprises, 100,000 projects created 2022–2026, 1,000,000
stage changes, 1,000,000 funds entries (three sources, some negative
corrections), 4,000 policies (some clawed back), yearly targets for every
unit, a counting rule per year and the stall thresholds.

Each project's history is generated first (dated moves up the ladder, some
terminations, skips and paused negotiations); its stage and milestone columns
are then derived from that history with the application's own
``crm.projects.lifecycle.apply``, so they are consistent the way the services
keep them. Rows go in with COPY on PostgreSQL and with ``executemany`` in large
transactions (synchronous=OFF) on SQLite; ANALYZE runs at the end.

Values are written as the database stores them: amounts as whole yuan
(``WanAmount``), enums as their values, dates as ISO text.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from crm.clock import local_today
from crm.extensions import db
from crm.models import (
    CountingRule,
    Industry,
    OrgUnit,
    Project,
    ProjectStage,
    Role,
    StallThreshold,
    Target,
    UnitKind,
    User,
)
from crm.projects import lifecycle

PROJECTS = 100_000
STAGE_CHANGES = 1_000_000
FUNDS_ENTRIES = 1_000_000
ENTERPRISES = 20_000
POLICIES = 4_000
CLAWED_BACK = 140
FIRST_YEAR = 2022
PASSWORD = "bench password"
CHUNK = 50_000

COUNTIES = [
    "翠屏区",
    "叙州区",
    "南溪区",
    "江安县",
    "长宁县",
    "高县",
    "珙县",
    "筠连县",
    "兴文县",
    "屏山县",
    "宜宾三江新区",
]
TASK_FORCES = [
    ("数字经济产业专班", "数字经济"),
    ("动力电池产业专班", "动力电池"),
    ("晶硅光伏产业专班", "晶硅光伏"),
    ("智能终端产业专班", "智能终端"),
    ("智能网联汽车产业专班", "智能网联汽车"),
    ("先进材料产业专班", "先进材料"),
    ("白酒食品产业专班", "白酒"),
    ("高端装备产业专班", "高端装备制造"),
    ("现代服务业专班", "现代物流"),
]
INDUSTRIES = [
    "数字经济",
    "动力电池",
    "晶硅光伏",
    "智能终端",
    "智能网联汽车",
    "先进材料",
    "白酒",
    "食品饮料",
    "高端装备制造",
    "现代物流",
    "精细化工",
    "文化旅游",
    "房地产",  # excluded from the figures by the counting rule
]
PLACES = ["宜宾", "四川", "成都", "重庆", "深圳", "上海", "苏州", "杭州", "北京", "厦门", "西安"]
BRANDS = [
    "长盈",
    "丽豪",
    "天原",
    "凯翼",
    "英发",
    "时代",
    "弗迪",
    "通威",
    "隆基",
    "立讯",
    "京东方",
    "华友",
    "中伟",
    "雅化",
    "川能",
    "锦江",
    "岷江",
    "金沙",
    "三江",
    "叙府",
    "五粮",
    "丝丽雅",
    "普洛斯",
    "新希望",
]
TRADES = ["精密", "半导体", "新能源", "锂电", "光伏", "智能", "数字", "电子", "材料", "化工"]
FORMS = ["科技有限公司", "技术有限公司", "股份有限公司", "集团有限公司", "制造有限公司"]
PROJECT_KINDS = [
    "生产基地",
    "扩能技改",
    "研发中心",
    "产业园",
    "配套",
    "智能制造",
    "结构件",
    "正极材料",
    "电池片",
    "冷链物流园",
    "数据中心",
    "总部基地",
]
PHASES = ["", "一期", "二期", "三期"]
CHANNELS = [
    "industry_chain",
    "fund",
    "door_knocking",
    "chamber",
    "leader_led",
    "outbound_office",
    "other",
]
POLICY_NAMES = [
    "固定资产投资补助",
    "设备购置补贴",
    "用地价格优惠",
    "地方留成税收奖励",
    "人才引进补贴",
    "贷款贴息",
    "厂房租金减免",
]

# Days a project typically spends in a stage before the next move, and the
# chance that it moves on (else it stays) or is terminated.
STEP_DAYS = {
    ProjectStage.RESERVE: (7, 150),
    ProjectStage.NEGOTIATION: (20, 240),
    ProjectStage.SIGNED: (10, 150),
    ProjectStage.LANDED: (10, 180),
    ProjectStage.STARTED: (90, 540),
    ProjectStage.PRODUCING: (120, 720),
}
MOVE_ON = {
    ProjectStage.RESERVE: 0.82,
    ProjectStage.NEGOTIATION: 0.75,
    ProjectStage.SIGNED: 0.9,
    ProjectStage.LANDED: 0.86,
    ProjectStage.STARTED: 0.78,
    ProjectStage.PRODUCING: 0.5,
}
TERMINATE = {
    ProjectStage.RESERVE: 0.04,
    ProjectStage.NEGOTIATION: 0.08,
    ProjectStage.SIGNED: 0.03,
    ProjectStage.LANDED: 0.02,
    ProjectStage.STARTED: 0.01,
    ProjectStage.PRODUCING: 0.0,
}
TERMINATION_REASONS = ["企业投资计划调整", "资金链紧张", "用地条件不具备", "转投外地"]


class _Plain:
    """The project columns lifecycle.apply reads and writes, on a plain object."""

    __slots__ = (
        "stage",
        "stage_since",
        "signed_on",
        "landed_on",
        "started_on",
        "producing_on",
        "reached_target_on",
        "terminated_on",
        "termination_reason",
    )

    def __init__(self):
        for name in self.__slots__:
            setattr(self, name, None)


def seeded() -> bool:
    return db.session.execute(select(func.count()).select_from(Project)).scalar_one() >= PROJECTS


# -- writing rows fast ---------------------------------------------------------------------
class BulkWriter:
    """COPY on PostgreSQL, executemany in one transaction per chunk on SQLite."""

    def __init__(self):
        self.dialect = db.engine.dialect.name
        self.raw = db.engine.raw_connection()
        if self.dialect == "sqlite":
            self.raw.commit()
            cursor = self.raw.cursor()
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA foreign_keys=OFF")
            cursor.execute("PRAGMA cache_size=-200000")
            cursor.close()

    def datetime(self, value: datetime) -> str:
        text = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return text + "+00" if self.dialect == "postgresql" else text

    def write(self, table: str, columns: list[str], rows) -> int:
        names = ", ".join(f'"{c}"' for c in columns)
        count = 0
        if self.dialect == "postgresql":
            copy_sql = f'COPY "{table}" ({names}) FROM STDIN'
            with self.raw.driver_connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            self.raw.commit()
            return count
        sql = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(columns))})'
        cursor = self.raw.cursor()
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) >= CHUNK:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
        self.raw.commit()
        cursor.close()
        return count

    def close(self):
        if self.dialect == "sqlite":
            cursor = self.raw.cursor()
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
        self.raw.close()


# -- the organisation ----------------------------------------------------------------------
def _org(session):
    from crm.auth.services import hash_password

    bureau = OrgUnit(name="宜宾市投资促进局", kind=UnitKind.BUREAU, path="")
    session.add(bureau)
    session.flush()
    bureau.path = f"/{bureau.id}/"
    counties, task_forces = [], []
    for order, name in enumerate(COUNTIES):
        unit = OrgUnit(name=name, kind=UnitKind.COUNTY, parent=bureau, path="", sort_order=order)
        session.add(unit)
        session.flush()
        unit.path = f"{bureau.path}{unit.id}/"
        counties.append(unit)
    for order, (name, _industry) in enumerate(TASK_FORCES):
        unit = OrgUnit(
            name=name, kind=UnitKind.TASK_FORCE, parent=bureau, path="", sort_order=order
        )
        session.add(unit)
        session.flush()
        unit.path = f"{bureau.path}{unit.id}/"
        task_forces.append(unit)
    password_hash = hash_password(PASSWORD)
    users = {}
    for key, name, role, units in (
        ("leader", "基准领导", Role.LEADER, [bureau]),
        ("manager", "基准县区经理", Role.MANAGER, [counties[1]]),
        ("admin", "基准管理员", Role.ADMIN, []),
    ):
        user = User(
            email=f"bench-{key}@bench.local",
            name=name,
            password_hash=password_hash,
            role=role,
            locale="zh_CN",
        )
        user.units = units
        session.add(user)
        users[key] = user
    staff = []
    for i, county in enumerate(counties):
        user = User(
            email=f"bench-staff{i + 1}@bench.local",
            name=f"专员{i + 1}",
            password_hash=password_hash,
            role=Role.STAFF,
        )
        user.units = [county]
        session.add(user)
        staff.append(user)
    industries = {}
    for order, name in enumerate(INDUSTRIES):
        industry = Industry(name=name, sort_order=order)
        session.add(industry)
        industries[name] = industry
    session.flush()
    return bureau, counties, task_forces, users, staff, industries


# -- one project's history -----------------------------------------------------------------
def _history(rng: random.Random, begun: date, today: date) -> list[tuple]:
    """[(from_stage, to_stage, effective_on, irregular, reason)], oldest first."""
    stage = ProjectStage.NEGOTIATION if rng.random() < 0.15 else ProjectStage.RESERVE
    moves = [(None, stage, begun, False, None)]
    day = begun
    while stage in STEP_DAYS:
        low, high = STEP_DAYS[stage]
        when = day + timedelta(days=rng.randint(low, high))
        if when > today:
            break
        roll = rng.random()
        if roll < TERMINATE[stage]:
            moves.append(
                (stage, ProjectStage.TERMINATED, when, False, rng.choice(TERMINATION_REASONS))
            )
            break
        if roll > TERMINATE[stage] + MOVE_ON[stage]:
            break
        following = lifecycle.next_stage(stage)
        if stage == ProjectStage.NEGOTIATION and rng.random() < 0.03:
            # Signed and landed recorded at once: a skip, with its reason.
            moves.append((stage, ProjectStage.LANDED, when, True, "补录：签约与落地同期完成"))
            stage = ProjectStage.LANDED
        elif stage == ProjectStage.LANDED and rng.random() < 0.01:
            moves.append((stage, ProjectStage.SIGNED, when, True, "用地手续退回，重新办理"))
            stage = ProjectStage.SIGNED
        else:
            moves.append((stage, following, when, False, None))
            stage = following
        day = when
    return moves


def _pad_negotiations(rng: random.Random, moves: list[tuple], pairs: int, today: date) -> list:
    """Insert ``pairs`` pauses (negotiation → reserve → negotiation) into the negotiation."""
    start = next(i for i, m in enumerate(moves) if m[1] == ProjectStage.NEGOTIATION)
    begin = moves[start][2]
    end = moves[start + 1][2] if start + 1 < len(moves) else today
    span = (end - begin).days
    days = sorted(rng.randint(0, span) for _ in range(2 * pairs))
    extra = []
    for k in range(pairs):
        paused = begin + timedelta(days=days[2 * k])
        resumed = begin + timedelta(days=days[2 * k + 1])
        extra.append(
            (
                ProjectStage.NEGOTIATION,
                ProjectStage.RESERVE,
                paused,
                True,
                "洽谈暂停，企业内部决策中",
            )
        )
        extra.append((ProjectStage.RESERVE, ProjectStage.NEGOTIATION, resumed, False, None))
    return moves[: start + 1] + extra + moves[start + 1 :]


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _month_date(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC)  # 12:00 in Asia/Shanghai


# -- the seed ------------------------------------------------------------------------------
def seed(log=print) -> dict:
    """Insert everything; returns ids the benchmarks need."""
    from crm.access import unit_paths_key
    from crm.enterprises.credit_code import complete

    rng = random.Random(20233)
    session = db.session
    today = local_today()
    started = time.perf_counter()

    def note(message):
        log(f"{message} ({time.perf_counter() - started:.0f} s)")

    bureau, counties, task_forces, users, staff, industries = _org(session)
    industry_by_tf = {
        tf.id: industries[ind].id for tf, (_, ind) in zip(task_forces, TASK_FORCES, strict=True)
    }
    industry_ids = [industries[name].id for name in INDUSTRIES]
    real_estate = industries["房地产"]
    for year in range(FIRST_YEAR, today.year + 1):
        rule = CountingRule(
            year=year,
            min_contract_amount_wan=None if year < 2024 else 500,
            count_terminated=True,
            landing_rate_goal_pct=70,
            start_rate_goal_pct=35,
        )
        rule.excluded_industries = [real_estate]
        session.add(rule)
    for stage, days in (
        (ProjectStage.NEGOTIATION, 30),
        (ProjectStage.SIGNED, 20),
        (ProjectStage.LANDED, 15),
    ):
        session.add(StallThreshold(unit_id=None, stage=stage, days=days))
    session.add(StallThreshold(unit_id=counties[0].id, stage=ProjectStage.NEGOTIATION, days=45))
    session.commit()
    county_ids = [c.id for c in counties]
    tf_ids = [t.id for t in task_forces]
    staff_by_county = {c.id: s.id for c, s in zip(counties, staff, strict=True)}
    unit_by_id = {u.id: u for u in counties + task_forces}
    paths_cache: dict[tuple, str] = {}

    def paths(*unit_ids) -> str:
        key = tuple(u for u in unit_ids if u)
        if key not in paths_cache:
            paths_cache[key] = unit_paths_key([unit_by_id[u] for u in key])
        return paths_cache[key]

    writer = BulkWriter()
    dt = writer.datetime
    now = datetime.now(UTC)

    # Enterprises: one county each, most with a task force.
    note(f"seeding {ENTERPRISES} enterprises")
    enterprise_units = []
    enterprise_rows = []
    links = []
    for i in range(ENTERPRISES):
        county = county_ids[i % len(county_ids)]
        tf = tf_ids[rng.randrange(len(tf_ids))] if rng.random() < 0.7 else None
        enterprise_units.append((county, tf))
        deleted = dt(now) if i % 400 == 399 else None
        name = rng.choice(PLACES) + rng.choice(BRANDS) + rng.choice(TRADES) + rng.choice(FORMS)
        enterprise_rows.append(
            (
                i + 1,
                complete(f"91999998{i + 1:09d}"),
                name,
                rng.choice(industry_ids),
                staff_by_county[county],
                paths(county, tf),
                dt(now - timedelta(minutes=i)),
                dt(now),
                dt(now),
                1,
                deleted,
            )
        )
        links.append((i + 1, county))
        if tf:
            links.append((i + 1, tf))
    writer.write(
        "enterprise",
        [
            "id",
            "credit_code",
            "name",
            "industry_id",
            "responsible_id",
            "unit_paths",
            "last_activity_at",
            "created_at",
            "updated_at",
            "version",
            "deleted_at",
        ],
        enterprise_rows,
    )
    writer.write("enterprise_unit", ["enterprise_id", "unit_id"], links)
    del enterprise_rows, links

    # Histories first: how many stage changes the ladder alone gives, then the
    # paused negotiations that make up the rest.
    note(f"generating {PROJECTS} project histories")
    first_day = date(FIRST_YEAR, 1, 1)
    span_days = (today - first_day).days
    histories = []
    for _ in range(PROJECTS):
        begun = first_day + timedelta(days=rng.randint(0, span_days - 1))
        histories.append(_history(rng, begun, today))
    total = sum(len(h) for h in histories)
    deficit = STAGE_CHANGES - total
    negotiated = [
        i for i, h in enumerate(histories) if any(m[1] == ProjectStage.NEGOTIATION for m in h)
    ]
    if deficit < 0 or not negotiated:
        raise RuntimeError(f"the ladder alone gives {total} stage changes")
    if deficit % 2:
        # One terminated project revived, irregularly: the count comes out even.
        index = next(i for i, h in enumerate(histories) if h[-1][1] == ProjectStage.TERMINATED)
        last = histories[index][-1]
        histories[index].append(
            (
                ProjectStage.TERMINATED,
                ProjectStage.NEGOTIATION,
                min(last[2] + timedelta(days=30), today),
                True,
                "企业重新启动洽谈",
            )
        )
        deficit -= 1
    pairs = [0] * PROJECTS
    for index in rng.choices(negotiated, k=deficit // 2):
        pairs[index] += 1
    for index, count in enumerate(pairs):
        if count:
            histories[index] = _pad_negotiations(rng, histories[index], count, today)

    # Projects, their stage changes (replayed through lifecycle.apply) and funds slots.
    note("seeding projects and stage changes")
    project_rows = []
    change_rows = []
    signed = []  # (project_id, enterprise_id, signed_on, end_on, contract_yuan, out_of_province)
    reserve_ids = []
    project_meta = {}
    platform = 0
    change_id = 0
    for index, moves in enumerate(histories):
        pid = index + 1
        enterprise_id = rng.randint(1, ENTERPRISES)
        county, tf = enterprise_units[enterprise_id - 1]
        if rng.random() < 0.1:
            county = rng.choice(county_ids)
        if tf is None and rng.random() < 0.5:
            tf = rng.choice(tf_ids)
        industry = (
            real_estate.id
            if rng.random() < 0.03
            else (industry_by_tf[tf] if tf and rng.random() < 0.8 else rng.choice(industry_ids))
        )
        plain = _Plain()
        recorder = staff_by_county[county]
        for from_stage, to_stage, when, irregular, reason in moves:
            lifecycle.apply(plain, to_stage, when)
            if to_stage == ProjectStage.TERMINATED:
                plain.termination_reason = reason
            change_id += 1
            change_rows.append(
                (
                    change_id,
                    pid,
                    from_stage.value if from_stage else None,
                    to_stage.value,
                    when.isoformat(),
                    1 if irregular else 0,
                    reason,
                    dt(_noon(min(when + timedelta(days=rng.randint(0, 6)), today))),
                    recorder,
                )
            )
        amount_wan = min(max(int(rng.lognormvariate(9.6, 1.25)), 50), 3_000_000)
        contract_yuan = amount_wan * 10000 if rng.random() < 0.97 else None
        out_of_province = rng.random() < 0.6
        begun = moves[0][2]
        planned_start = (
            (plain.signed_on + timedelta(days=rng.randint(45, 240))).isoformat()
            if plain.signed_on
            else None
        )
        promoted = plain.stage == ProjectStage.RESERVE and rng.random() < 0.02
        if plain.stage == ProjectStage.RESERVE:
            reserve_ids.append(pid)
        platform_number = None
        if plain.signed_on and rng.random() < 0.7:
            platform += 1
            platform_number = f"YB{plain.signed_on.year}-{platform:06d}"
        deleted = dt(now) if rng.random() < 0.01 else None
        project_meta[pid] = enterprise_id
        project_rows.append(
            [
                pid,
                enterprise_id,
                f"{rng.choice(BRANDS)}{rng.choice(PROJECT_KINDS)}{rng.choice(PHASES)}项目",
                "Investment opportunity" if promoted else None,
                "【基准数据】项目简介" if promoted else None,
                industry,
                county,
                tf,
                rng.choice(CHANNELS),
                contract_yuan,
                1 if out_of_province else 0,
                1 if rng.random() < 0.15 else 0,
                rng.randint(100, 5000) * 10000 if rng.random() < 0.05 else None,
                platform_number,
                contract_yuan,
                contract_yuan * 2 if contract_yuan and plain.signed_on else None,
                contract_yuan // 20 if contract_yuan and plain.signed_on else None,
                rng.randint(20, 2000) if plain.signed_on else None,
                planned_start,
                plain.stage.value,
                plain.stage_since.isoformat(),
                _iso(plain.signed_on),
                _iso(plain.landed_on),
                _iso(plain.started_on),
                _iso(plain.producing_on),
                _iso(plain.reached_target_on),
                _iso(plain.terminated_on),
                plain.termination_reason,
                plain.stage_since,  # last_progress_on, raised below by funds reports
                1 if promoted else 0,
                '["industry", "county", "contract_amount", "description"]' if promoted else "[]",
                paths(county, tf),
                recorder,
                dt(_noon(begun)),
                dt(_noon(plain.stage_since)),
                1,
                deleted,
            ]
        )
        if plain.signed_on:
            end = plain.terminated_on or today
            signed.append((pid, plain.signed_on, end, contract_yuan or 10_000_000, out_of_province))
    del histories

    # Funds entries: a quota per signed project, in proportion to its months since signing.
    note("generating funds entries")
    months = [_month_index(end) - _month_index(s) + 1 for _, s, end, _, _ in signed]
    weight = sum(months)
    quotas = [FUNDS_ENTRIES * m // weight for m in months]
    for index in rng.sample(range(len(signed)), FUNDS_ENTRIES - sum(quotas)):
        quotas[index] += 1
    funds_rows = []
    entry_id = 0
    last_progress = {}
    for (pid, signed_on, end, contract_yuan, outside), quota in zip(signed, quotas, strict=True):
        if not quota:
            continue
        first = _month_index(signed_on)
        last = _month_index(end)
        weights = (0.6, 0.25, 0.15) if outside else (0.1, 0.35, 0.55)
        share = contract_yuan * rng.uniform(0.3, 1.1) / quota
        normal = []
        entries = sorted(rng.randint(first, last) for _ in range(quota))
        latest = None
        for month in entries:
            day = _month_date(month)
            recorded = min(_month_date(month + 1) + timedelta(days=rng.randint(0, 9)), today)
            entry_id += 1
            if normal and rng.random() < 0.03:
                original_id, o_month, o_source, o_amount, o_recorded = rng.choice(normal)
                amount = -max(int(o_amount * rng.uniform(0.05, 0.5)) // 100 * 100, 100)
                recorded = min(o_recorded + timedelta(days=rng.randint(5, 40)), today)
                funds_rows.append(
                    (
                        entry_id,
                        pid,
                        o_month,
                        o_source,
                        amount,
                        original_id,
                        "更正：重复填报",
                        dt(_noon(recorded)),
                        staff[0].id,
                    )
                )
            else:
                source = rng.choices(("outside_province", "outside_city", "within_city"), weights)[
                    0
                ]
                amount = max(int(share * rng.uniform(0.5, 1.5)) // 100 * 100, 100)
                iso = day.isoformat()
                normal.append((entry_id, iso, source, amount, recorded))
                funds_rows.append(
                    (
                        entry_id,
                        pid,
                        iso,
                        source,
                        amount,
                        None,
                        None,
                        dt(_noon(recorded)),
                        staff[0].id,
                    )
                )
            latest = recorded if latest is None or recorded > latest else latest
        last_progress[pid] = latest
    for row in project_rows:
        progress = last_progress.get(row[0])
        if progress is not None and progress > row[28]:
            row[28] = progress
        row[28] = row[28].isoformat()

    writer.write(
        "project",
        [
            "id",
            "enterprise_id",
            "name",
            "name_en",
            "description",
            "industry_id",
            "county_id",
            "task_force_id",
            "channel",
            "contract_amount_yuan",
            "is_out_of_province",
            "is_reinvestment",
            "fdi_usd",
            "platform_number",
            "committed_investment_yuan",
            "committed_output_yuan",
            "committed_tax_yuan",
            "committed_jobs",
            "planned_start_on",
            "stage",
            "stage_since",
            "signed_on",
            "landed_on",
            "started_on",
            "producing_on",
            "reached_target_on",
            "terminated_on",
            "termination_reason",
            "last_progress_on",
            "is_promoted",
            "public_fields",
            "unit_paths",
            "created_by_id",
            "created_at",
            "updated_at",
            "version",
            "deleted_at",
        ],
        (tuple(row) for row in project_rows),
    )
    note(f"{len(project_rows)} projects written; writing {len(change_rows)} stage changes")
    writer.write(
        "project_stage_change",
        [
            "id",
            "project_id",
            "from_stage",
            "to_stage",
            "effective_on",
            "is_irregular",
            "reason",
            "recorded_at",
            "recorded_by_id",
        ],
        change_rows,
    )
    del change_rows
    note(f"writing {len(funds_rows)} funds entries")
    writer.write(
        "funds_entry",
        [
            "id",
            "project_id",
            "month",
            "source",
            "amount_yuan",
            "corrects_id",
            "note",
            "recorded_at",
            "recorded_by_id",
        ],
        funds_rows,
    )
    del funds_rows

    # Policies of signed projects' enterprises; a few clawed back.
    statuses = ["clawed_back"] * CLAWED_BACK + rng.choices(
        ["proposed", "approved", "honoured"], (0.2, 0.35, 0.45), k=POLICIES - CLAWED_BACK
    )
    rng.shuffle(statuses)
    policy_rows = []
    for policy_id, status in enumerate(statuses, start=1):
        pid = rng.choice(signed)[0]
        policy_rows.append(
            (
                policy_id,
                project_meta[pid],
                pid,
                rng.choice(POLICY_NAMES),
                "宜府发〔2023〕12号",
                rng.randint(10, 2000) * 10000,
                status,
                staff[0].id,
                dt(now),
                dt(now),
                1,
            )
        )
    writer.write(
        "policy",
        [
            "id",
            "enterprise_id",
            "project_id",
            "name",
            "basis",
            "value_yuan",
            "status",
            "created_by_id",
            "created_at",
            "updated_at",
            "version",
        ],
        policy_rows,
    )

    note("funds rollup")
    ensure_rollup(force=True)

    # Targets: about what the units signed in the full years before, give or take.
    note("targets")
    per_unit: dict[int, list] = {u: [0, 0] for u in county_ids + tf_ids}
    full_years = max(today.year - FIRST_YEAR, 1)
    for row in project_rows:
        if row[21] and int(row[21][:4]) < today.year:
            for unit in (row[6], row[7]):
                if unit:
                    per_unit[unit][0] += 1
                    per_unit[unit][1] += row[9] or 0
    for year in range(FIRST_YEAR, today.year + 1):
        for unit_id, (count, amount) in per_unit.items():
            factor = rng.uniform(0.9, 1.25)
            session.add(
                Target(
                    year=year,
                    unit_id=unit_id,
                    new_projects=max(int(count / full_years * factor), 1),
                    contract_amount_wan=int(amount / full_years * factor / 10000),
                    out_of_province_funds_wan=int(amount / full_years * factor * 0.25 / 10000),
                )
            )
    session.commit()
    writer.close()

    note("analyze")
    if db.engine.dialect.name == "postgresql":
        for table in ("enterprise", "project", "project_stage_change", "funds_entry", "policy"):
            with db.engine.begin() as conn:
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    note("done")
    return ids()


def ensure_rollup(*, force: bool = False) -> bool:
    """Fill the yearly funds rollup from the entries (bulk inserts bypass record_funds).

    Also for a database seeded before the rollup existed: when it is empty but
    entries exist. False when this version of the application has no rollup.
    """
    try:
        from crm.models import project_funds_year
        from crm.projects import funds_rollup
    except ImportError:
        return False
    from crm.models import FundsEntry

    session = db.session
    if not force:
        if session.execute(select(func.count()).select_from(project_funds_year)).scalar_one():
            return True
        if not session.execute(select(func.count()).select_from(FundsEntry)).scalar_one():
            return True
    funds_rollup.rebuild()
    session.commit()
    return True


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def ids() -> dict:
    """What the benchmarks need: a county, its manager, a task force, the leader."""
    county = db.session.execute(
        select(OrgUnit).where(OrgUnit.name == COUNTIES[1], OrgUnit.kind == UnitKind.COUNTY)
    ).scalar_one()
    task_force = db.session.execute(
        select(OrgUnit).where(OrgUnit.name == TASK_FORCES[1][0])
    ).scalar_one()
    return {"county_id": county.id, "task_force_id": task_force.id}


__all__ = ["ensure_rollup", "ids", "seed", "seeded"]
