"""Finding enterprises: Chinese fragments, pinyin, initials, English names, codes, filters."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.enterprises import queries, search, services
from crm.models import Enterprise, EnterpriseGram, Industry, Role

MENGNIU = "内蒙古蒙牛乳业（集团）股份有限公司"
CHANGYING = "宜宾长盈精密技术有限公司"
CHANGHONG = "四川长虹电器股份有限公司"
WULIANGYE = "宜宾五粮液股份有限公司"


@pytest.fixture
def county(make_unit):
    return make_unit("翠屏区")


@pytest.fixture
def firms(make_enterprise, county, db):
    industry = Industry(name="食品饮料")
    db.session.add(industry)
    db.session.commit()
    return {
        "mengniu": make_enterprise(
            MENGNIU,
            units=[county],
            name_en="Inner Mongolia Mengniu Dairy (Group) Co., Ltd.",
            credit_code="91350100M000100Y43",
            industry=industry,
            china_top_500_year=2023,
        ),
        "changying": make_enterprise(CHANGYING, units=[county], credit_code="91110000600037341L"),
        "changhong": make_enterprise(CHANGHONG, units=[county], is_listed=True),
        "wuliangye": make_enterprise(WULIANGYE, units=[county], industry=industry, is_listed=True),
    }


def found(query: str) -> set[str]:
    stmt = select(Enterprise.name).where(search.search_condition(query))
    from crm.extensions import db

    return set(db.session.execute(stmt).scalars())


@pytest.fixture(params=["sparse", "dense"])
def plan(request, monkeypatch):
    """Run each search both ways: through the posting list, and by probing rows in order."""
    if request.param == "dense":
        monkeypatch.setattr(search, "FEW_CANDIDATES", 0)
    return request.param


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("蒙", {MENGNIU}),  # one character
        ("长", {CHANGYING, CHANGHONG}),
        ("蒙牛", {MENGNIU}),  # two characters, in the middle of the name
        ("长盈", {CHANGYING}),
        ("蒙牛乳业", {MENGNIU}),  # four characters
        ("长盈精密", {CHANGYING}),
        ("乳业（集团）", {MENGNIU}),  # with brackets: exact
        ("宜宾", {CHANGYING, WULIANGYE}),
        ("股份有限公司", {MENGNIU, CHANGHONG, WULIANGYE}),
        ("蒙 牛", {MENGNIU}),
        ("盈长", set()),  # both characters exist, not in this order
        ("乳业集团", set()),  # the bigrams exist, the text does not
        ("茅台", set()),
    ],
)
def test_chinese_fragments(firms, plan, query, expected):
    assert found(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("mengniu", {MENGNIU}),  # pinyin
        ("MengNiu", {MENGNIU}),
        ("meng niu", {MENGNIU}),
        ("nmg", {MENGNIU}),  # initials
        ("mn", {MENGNIU}),
        ("changying", {CHANGYING}),  # the reading people type for 长
        ("zhangying", {CHANGYING}),  # and the one pypinyin guesses
        ("ybcy", {CHANGYING}),
        ("dairy", {MENGNIU}),  # English name
        ("Mengniu Dairy", {MENGNIU}),
        ("M000100", {MENGNIU}),  # part of the code
        ("m000100y43", {MENGNIU}),
        ("600037341", {CHANGYING}),
        ("%", set()),  # LIKE wildcards are literal
        ("_", set()),
        ("zzzz", set()),
    ],
)
def test_latin_queries(firms, query, expected):
    assert found(query) == expected


def test_rename_moves_the_index(firms, db):
    firm = firms["changying"]
    services.update_enterprise(
        firm, actor=None, expected_version=firm.version, name="宜宾精密制造有限公司"
    )
    db.session.commit()
    assert found("长盈") == set()
    assert found("changying") == set()
    assert found("精密制造") == {"宜宾精密制造有限公司"}
    assert found("jmzz") == {"宜宾精密制造有限公司"}
    grams = set(
        db.session.execute(
            select(EnterpriseGram.gram).where(EnterpriseGram.enterprise_id == firm.id)
        ).scalars()
    )
    assert grams == search.grams("宜宾精密制造有限公司")


def test_grams_are_the_pieces_of_the_chinese_characters():
    assert search.grams("TCL科技（集团）") == {
        "科",
        "技",
        "集",
        "团",
        "科技",
        "技集",
        "集团",
    }
    assert search.bigrams("蒙牛乳业") == ["蒙牛", "牛乳", "乳业"]


# -- the register page ----------------------------------------------------------------------


@pytest.fixture
def viewer(make_user, county, login):
    user = make_user(Role.STAFF, [county], locale="en")
    login(user)
    return user


def names_on(client, **args) -> set[str]:
    html = client.get("/enterprises/", query_string=args).get_data(as_text=True)
    return {name for name in (MENGNIU, CHANGYING, CHANGHONG, WULIANGYE) if name in html}


def test_search_box_and_filters(client, firms, viewer, county, make_user, db):
    assert names_on(client) == {MENGNIU, CHANGYING, CHANGHONG, WULIANGYE}
    assert names_on(client, q="长盈") == {CHANGYING}
    assert names_on(client, q="mengniu") == {MENGNIU}
    assert names_on(client, tag="is_listed") == {CHANGHONG, WULIANGYE}
    assert names_on(client, tag="china_top_500") == {MENGNIU}
    industry_id = firms["mengniu"].industry_id
    assert names_on(client, industry=industry_id) == {MENGNIU, WULIANGYE}
    assert names_on(client, industry=industry_id, tag="is_listed", q="宜宾") == {WULIANGYE}
    assert names_on(client, unit=county.id) == {MENGNIU, CHANGYING, CHANGHONG, WULIANGYE}
    other = make_user(Role.STAFF, [county], name="王五")
    firm = firms["changhong"]
    services.update_enterprise(firm, actor=None, expected_version=firm.version, responsible=other)
    db.session.commit()
    assert names_on(client, responsible=other.id) == {CHANGHONG}
    # Junk in the query string is ignored, not an error.
    assert client.get("/enterprises/?unit=abc&page=-3&tag=nope").status_code == 200


def test_the_register_shows_only_enterprises_in_scope(
    client, firms, make_unit, make_user, make_enterprise, login
):
    elsewhere = make_unit("南溪区")
    make_enterprise("南溪某某科技有限公司", units=[elsewhere])
    outsider = make_user(Role.STAFF, [elsewhere], locale="en")
    login(outsider)
    html = client.get("/enterprises/").get_data(as_text=True)
    assert "南溪某某科技有限公司" in html
    assert not any(name in html for name in (MENGNIU, CHANGYING, CHANGHONG, WULIANGYE))
    assert "No enterprise matches." in client.get("/enterprises/?q=宜宾").get_data(as_text=True)


def test_unit_filter_includes_units_below(client, make_unit, make_user, make_enterprise, login, db):
    county = make_unit("叙州区")
    park = make_unit("临港园区", parent=county)
    make_enterprise("园区里的企业有限公司", units=[park])
    make_enterprise("别处的企业有限公司", units=[make_unit("江安县")])
    login(make_user(Role.ADMIN, locale="en"))
    html = client.get("/enterprises/", query_string={"unit": county.id}).get_data(as_text=True)
    assert "园区里的企业有限公司" in html
    assert "别处的企业有限公司" not in html


def test_pages_and_capped_count(client, firms, viewer, app, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 3)
    first = client.get("/enterprises/").get_data(as_text=True)
    assert "4 enterprises" in first
    assert 'rel="next"' in first and "page=2" in first
    second = names_on(client, page=2)
    assert len(second) == 1
    assert second.isdisjoint(names_on(client, page=1))

    monkeypatch.setattr(queries, "COUNT_CAP", 2)
    assert "More than 2 enterprises" in client.get("/enterprises/").get_data(as_text=True)


def test_most_recently_active_first(client, firms, viewer, db):
    services.update_enterprise(firms["changhong"], actor=None, expected_version=1, region="绵阳")
    db.session.commit()
    html = client.get("/enterprises/").get_data(as_text=True)
    assert html.index(CHANGHONG) < min(html.index(n) for n in (MENGNIU, CHANGYING, WULIANGYE))


def test_staff_search_in_every_plan(client, firms, viewer, plan, make_unit, make_enterprise):
    """Posting lists or register walk: the same answers, scope kept."""
    make_enterprise("宜宾长江船舶有限公司", units=[make_unit("江安县")])  # out of scope
    assert names_on(client, q="长") == {CHANGYING, CHANGHONG}
    assert names_on(client, q="宜宾") == {CHANGYING, WULIANGYE}
    assert names_on(client, q="股份有限公司", tag="is_listed") == {CHANGHONG, WULIANGYE}
    html = client.get("/enterprises/", query_string={"q": "长江"}).get_data(as_text=True)
    assert "宜宾长江船舶有限公司" not in html and "No enterprise matches." in html
