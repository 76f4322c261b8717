"""Fill a database with a bureau's worth of data for the benchmarks.

100,000 enterprises (generated Chinese names, a fifth with English names) and
1,000,000 timeline entries, one enterprise holding 5,000 of them. The schema is
made by the migrations; rows go in with bulk Core inserts. Search index values
come from the application's own indexing function, so the benchmark measures
the real thing.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from crm.enterprises.credit_code import complete
from crm.extensions import db
from crm.models import (
    Enterprise,
    EnterpriseGram,
    OrgUnit,
    Role,
    TimelineEvent,
    UnitKind,
    User,
    enterprise_unit,
    user_unit,
)

PLACES = [
    "四川",
    "宜宾",
    "眉山",
    "成都",
    "重庆",
    "深圳",
    "上海",
    "苏州",
    "杭州",
    "北京",
    "天津",
    "广州",
    "厦门",
    "武汉",
    "西安",
    "长沙",
    "南京",
    "宁波",
    "合肥",
    "内蒙古",
]
BRANDS = [
    "长盈",
    "丽豪",
    "蒙牛",
    "天原",
    "五粮",
    "时代",
    "凯翼",
    "英发",
    "极米",
    "华为",
    "比亚",
    "宁德",
    "通威",
    "隆基",
    "天齐",
    "赣锋",
    "京东",
    "美的",
    "格力",
    "海尔",
    "立讯",
    "歌尔",
    "蓝思",
    "欣旺",
    "亿纬",
    "国轩",
    "中伟",
    "华友",
    "盛新",
    "雅化",
    "川能",
    "东方",
    "攀钢",
    "新希",
    "通富",
    "长电",
    "紫光",
    "中芯",
    "海光",
    "锦江",
    "岷江",
    "金沙",
    "三江",
    "翠屏",
    "叙州",
    "南溪",
    "江安",
    "长宁",
    "珙州",
    "筠连",
    "兴文",
    "屏山",
    "彭山",
    "仁寿",
    "洪雅",
    "丹棱",
    "青神",
    "东坡",
    "天府",
]
TRADES = [
    "精密",
    "半导体",
    "新能源",
    "锂电",
    "光伏",
    "智能",
    "数字",
    "电子",
    "信息",
    "材料",
    "化工",
    "医药",
    "食品",
    "酒业",
    "物流",
    "汽车",
    "装备",
    "环保",
    "建设",
    "科技",
]
FORMS = [
    "科技有限公司",
    "技术有限公司",
    "股份有限公司",
    "集团有限公司",
    "有限责任公司",
    "材料有限公司",
    "制造有限公司",
]
FAMOUS = [
    ("四川丽豪半导体材料有限公司", "Sichuan Lihao Semiconductor Materials Co., Ltd."),
    ("宜宾长盈精密技术有限公司", "Yibin Everwin Precision Technology Co., Ltd."),
    ("内蒙古蒙牛乳业（集团）股份有限公司", "Inner Mongolia Mengniu Dairy (Group) Co., Ltd."),
]
EVENT_KINDS = [
    "visit.logged",
    "note.added",
    "contact.updated",
    "enterprise.updated",
    "issue.created",
]

ENTERPRISES = 100_000
EVENTS = 1_000_000
BUSY_EVENTS = 5_000
BATCH = 5_000


def _name(rng: random.Random) -> str:
    return rng.choice(PLACES) + rng.choice(BRANDS) + rng.choice(TRADES) + rng.choice(FORMS)


def seeded(enterprises: int = ENTERPRISES) -> bool:
    return (
        db.session.execute(select(func.count()).select_from(Enterprise)).scalar_one() >= enterprises
    )


def seed(log=print, *, enterprises: int = ENTERPRISES, events: int = EVENTS) -> dict:
    """Insert everything; returns ids the benchmarks need."""
    from crm.access import unit_paths_key
    from crm.auth.services import hash_password
    from crm.enterprises import search

    rng = random.Random(20231)
    now = datetime.now(UTC)
    session = db.session

    bureau = OrgUnit(name="宜宾市投资促进局", kind=UnitKind.BUREAU, path="")
    session.add(bureau)
    session.flush()
    bureau.path = f"/{bureau.id}/"
    units = []
    for i in range(19):
        unit = OrgUnit(name=f"县区{i + 1}", kind=UnitKind.COUNTY, parent=bureau, path="")
        session.add(unit)
        session.flush()
        unit.path = f"{bureau.path}{unit.id}/"
        units.append(unit)
    manager = User(
        email="bench-manager@bench.local",
        name="基准经理",
        password_hash=hash_password("bench password"),
        role=Role.MANAGER,
    )
    staff = User(
        email="bench-staff@bench.local",
        name="基准专员",
        password_hash=hash_password("bench password"),
        role=Role.STAFF,
    )
    session.add_all([manager, staff])
    session.flush()
    session.execute(insert(user_unit), [{"user_id": manager.id, "unit_id": bureau.id}])
    session.execute(insert(user_unit), [{"user_id": staff.id, "unit_id": units[0].id}])
    session.commit()

    log(f"seeding {enterprises} enterprises")
    busy_id = None
    for start in range(0, enterprises, BATCH):
        rows, grams, links = [], [], []
        for i in range(start, min(start + BATCH, enterprises)):
            if i < len(FAMOUS):
                name, name_en = FAMOUS[i]
            else:
                name = _name(rng)
                name_en = (
                    f"{rng.choice(['Sino', 'Sichuan', 'Yibin', 'West China'])} {rng.choice(['Tech', 'Energy', 'Materials', 'Foods'])} Co., Ltd."
                    if rng.random() < 0.2
                    else None
                )
            code = complete(f"91999999{i:09d}")
            probe = Enterprise(name=name, name_en=name_en, credit_code=code)
            rows.append(
                {
                    "id": i + 1,
                    "credit_code": code,
                    "name": name,
                    "name_en": name_en,
                    "responsible_id": staff.id if i % 19 == 0 else None,
                    "is_settled": i % 3 == 0,
                    "is_listed": i % 11 == 0,
                    "name_pinyin": search.name_pinyin(name),
                    "name_initials": search.name_initials(name),
                    "search_text": search.haystack(probe),
                    "unit_paths": unit_paths_key([units[i % len(units)]]),
                    "last_activity_at": now - timedelta(minutes=i),
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
            )
            grams.extend({"gram": g, "enterprise_id": i + 1} for g in search.grams(name))
            links.append({"enterprise_id": i + 1, "unit_id": units[i % len(units)].id})
        session.execute(insert(Enterprise), rows)
        session.execute(insert(EnterpriseGram), grams)
        session.execute(insert(enterprise_unit), links)
        session.commit()
    busy_id = 2  # 宜宾长盈精密技术有限公司

    log(f"seeding {events} timeline events")
    remaining = events
    event_id = 0
    while remaining > 0:
        rows = []
        for _ in range(min(BATCH * 4, remaining)):
            event_id += 1
            enterprise_id = busy_id if event_id <= BUSY_EVENTS else rng.randint(1, enterprises)
            at = now - timedelta(minutes=event_id)
            rows.append(
                {
                    "id": event_id,
                    "enterprise_id": enterprise_id,
                    "occurred_at": at,
                    "recorded_at": at,
                    "actor_id": staff.id,
                    "kind": EVENT_KINDS[event_id % len(EVENT_KINDS)],
                    "subject_type": "enterprise",
                    "subject_id": enterprise_id,
                    "data": {
                        "title": "拜访企业，了解用地和用电需求",
                        "text": "企业反映用电负荷不足，需协调供电公司增容。",
                    },
                }
            )
        session.execute(insert(TimelineEvent), rows)
        session.commit()
        remaining -= len(rows)

    if db.engine.dialect.name == "postgresql":
        # VACUUM sets the visibility map, so the gram lookups are index-only scans,
        # as they are on a database that has been running for a while.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        # identity sequences must continue after the explicit ids
        for table in ("enterprise", "timeline_event"):
            with db.engine.begin() as conn:
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
    else:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    return {"busy_enterprise_id": busy_id}
