"""The enterprise resource of the JSON API, and what every resource shares:
token sign-in, problem+json errors, cursor pages, ETag / If-Match."""

from __future__ import annotations

from sqlalchemy import select

from crm.models import Enterprise, Role, TimelineEvent, UnitKind

PROBLEM = "application/problem+json"


def _county(make_unit, name="A县"):
    return make_unit(name, UnitKind.COUNTY)


def test_without_token_401_problem(client):
    response = client.get("/api/v1/enterprises/")
    assert response.status_code == 401
    assert response.content_type == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = response.get_json(force=True)
    assert body["status"] == 401 and body["title"]


def test_session_cookie_is_not_enough(client, login, make_user, make_unit):
    user = make_user(Role.ADMIN, [_county(make_unit)])
    login(user)
    assert client.get("/api/v1/enterprises/").status_code == 401


def test_bad_and_revoked_token_401(app, db, make_user, make_unit, api_for):
    from crm.api.tokens import revoke_token
    from crm.models import ApiToken

    user = make_user(Role.STAFF, [_county(make_unit)])
    api = api_for(user)
    assert api.get("/api/v1/enterprises/").status_code == 200
    api.secret = api.secret[:-2] + "xx"
    assert api.get("/api/v1/enterprises/").status_code == 401
    token = db.session.execute(select(ApiToken)).scalar_one()
    revoke_token(token)
    db.session.commit()
    api = api_for(user)  # a new one works, the revoked one does not
    assert api.get("/api/v1/enterprises/").status_code == 200


def test_token_of_deactivated_user_401(db, make_user, make_unit, api_for):
    user = make_user(Role.STAFF, [_county(make_unit)])
    api = api_for(user)
    user.active = False
    db.session.commit()
    assert api.get("/api/v1/enterprises/").status_code == 401


def test_token_is_stored_hashed(db, make_user, make_unit, api_for):
    from crm.models import ApiToken

    api = api_for(make_user(Role.STAFF, [_county(make_unit)]))
    token = db.session.execute(select(ApiToken)).scalar_one()
    assert api.secret not in (token.secret_hash, token.prefix)
    assert api.secret.startswith(token.prefix)


def test_list_is_scoped_and_filtered(make_user, make_unit, make_enterprise, api_for):
    a, b = _county(make_unit, "A县"), _county(make_unit, "B县")
    mine = make_enterprise(name="长盈精密", units=[a])
    make_enterprise(name="蒙牛乳业", units=[a])
    other = make_enterprise(name="长盈别处", units=[b])
    api = api_for(make_user(Role.STAFF, [a]))
    body = api.get("/api/v1/enterprises/").get_json()
    ids = {item["id"] for item in body["items"]}
    assert mine.id in ids and other.id not in ids
    found = api.get("/api/v1/enterprises/?q=长盈").get_json()["items"]
    assert [item["id"] for item in found] == [mine.id]
    assert found[0]["units"] == [{"id": a.id, "name": "A县"}]
    assert api.get(f"/api/v1/enterprises/{other.id}").status_code == 404


def test_cursor_pages_cover_everything_once(make_user, make_unit, make_enterprise, api_for):
    a = _county(make_unit)
    made = [make_enterprise(name=f"企业{i:02d}", units=[a]).id for i in range(7)]
    api = api_for(make_user(Role.STAFF, [a]))
    seen, cursor, pages = [], None, 0
    while True:
        url = "/api/v1/enterprises/?limit=3" + (f"&cursor={cursor}" if cursor else "")
        response = api.get(url)
        body = response.get_json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            assert "Link" not in response.headers
            break
        assert 'rel="next"' in response.headers["Link"]
    assert seen == sorted(made) and pages == 3


def test_bad_cursor_and_limit_422_naming_the_parameter(make_user, make_unit, api_for):
    api = api_for(make_user(Role.STAFF, [_county(make_unit)]))
    response = api.get("/api/v1/enterprises/?cursor=nonsense")
    assert response.status_code == 422 and response.content_type == PROBLEM
    assert response.get_json(force=True)["errors"][0]["field"] == "cursor"
    response = api.get("/api/v1/enterprises/?limit=0")
    assert response.status_code == 422
    error = response.get_json(force=True)["errors"][0]
    assert (error["field"], error["in"]) == ("limit", "query") and error["message"]


def test_create_validates_and_records_in_the_file(db, make_user, make_unit, api_for):
    a = _county(make_unit)
    user = make_user(Role.STAFF, [a], locale="en")
    api = api_for(user)
    bad = api.post(
        "/api/v1/enterprises/", json={"name": "X", "credit_code": "123", "unit_ids": [a.id]}
    )
    assert bad.status_code == 422 and bad.content_type == PROBLEM
    errors = bad.get_json(force=True)["errors"]
    assert errors[0]["field"] == "credit_code"
    missing = api.post("/api/v1/enterprises/", json={"credit_code": "91350100M000100Y43"})
    assert missing.status_code == 422
    assert {e["field"] for e in missing.get_json(force=True)["errors"]} == {"name", "unit_ids"}
    assert db.session.execute(select(Enterprise)).first() is None

    good = api.post(
        "/api/v1/enterprises/",
        json={"name": "长盈精密", "credit_code": "91350100M000100Y43", "unit_ids": [a.id]},
    )
    assert good.status_code == 201, good.get_data(as_text=True)
    created = good.get_json()
    assert created["responsible"] == {"id": user.id, "name": user.name}
    assert good.headers["ETag"] == f'"{created["id"]}.1"'
    event = db.session.execute(select(TimelineEvent)).scalar_one()
    assert (event.kind, event.actor_id, event.enterprise_id) == (
        "enterprise.created",
        user.id,
        created["id"],
    )
    again = api.post(
        "/api/v1/enterprises/",
        json={"name": "另一个", "credit_code": "91350100M000100Y43", "unit_ids": [a.id]},
    )
    assert again.status_code == 409 and again.content_type == PROBLEM


def test_wrong_types_are_422_not_500(make_user, make_unit, api_for):
    api = api_for(make_user(Role.STAFF, [_county(make_unit)]))
    for body in ([1, 2], {"name": 5, "credit_code": [], "unit_ids": "x"}, "text"):
        response = api.post("/api/v1/enterprises/", json=body)
        assert response.status_code == 422, body
    response = api.post(
        "/api/v1/enterprises/", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert response.content_type == PROBLEM


def test_update_needs_matching_if_match(db, make_user, make_unit, make_enterprise, api_for):
    a = _county(make_unit)
    enterprise = make_enterprise(name="长盈精密", units=[a])
    api = api_for(make_user(Role.MANAGER, [a]))
    read = api.get(f"/api/v1/enterprises/{enterprise.id}")
    etag = read.headers["ETag"]

    no_header = api.patch(f"/api/v1/enterprises/{enterprise.id}", json={"region": "深圳"})
    assert no_header.status_code == 428 and no_header.content_type == PROBLEM

    changed = api.patch(
        f"/api/v1/enterprises/{enterprise.id}", json={"region": "深圳"}, headers={"If-Match": etag}
    )
    assert changed.status_code == 200 and changed.get_json()["region"] == "深圳"
    assert changed.headers["ETag"] != etag

    stale = api.patch(
        f"/api/v1/enterprises/{enterprise.id}", json={"region": "东莞"}, headers={"If-Match": etag}
    )
    assert stale.status_code == 412 and stale.content_type == PROBLEM
    db.session.expire_all()
    assert db.session.get(Enterprise, enterprise.id).region == "深圳"
    kinds = [e.kind for e in db.session.execute(select(TimelineEvent)).scalars()]
    assert kinds.count("enterprise.updated") == 1


def test_readers_cannot_write(make_user, make_unit, make_enterprise, api_for):
    a = _county(make_unit)
    enterprise = make_enterprise(name="长盈精密", units=[a])
    leader = api_for(make_user(Role.LEADER, []))
    etag = leader.get(f"/api/v1/enterprises/{enterprise.id}").headers["ETag"]
    response = leader.patch(
        f"/api/v1/enterprises/{enterprise.id}", json={"region": "x"}, headers={"If-Match": etag}
    )
    assert response.status_code == 403 and response.content_type == PROBLEM
    staff = api_for(make_user(Role.STAFF, [a]))
    response = staff.delete(f"/api/v1/enterprises/{enterprise.id}", headers={"If-Match": etag})
    assert response.status_code == 403


def test_delete_soft_with_if_match(db, make_user, make_unit, make_enterprise, api_for):
    a = _county(make_unit)
    enterprise = make_enterprise(name="长盈精密", units=[a])
    api = api_for(make_user(Role.MANAGER, [a]))
    etag = api.get(f"/api/v1/enterprises/{enterprise.id}").headers["ETag"]
    assert (
        api.delete(f"/api/v1/enterprises/{enterprise.id}", headers={"If-Match": etag}).status_code
        == 204
    )
    assert api.get(f"/api/v1/enterprises/{enterprise.id}").status_code == 404
    db.session.expire_all()
    assert db.session.get(Enterprise, enterprise.id).deleted_at is not None


def test_openapi_document_and_docs_page(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/enterprises/" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "cdn" not in html.lower() and "swagger-ui-bundle.js" in html
    asset = client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000


def test_errors_in_the_language_asked_for(make_user, make_unit, api_for):
    api = api_for(make_user(Role.STAFF, [_county(make_unit)], locale="zh_CN"))
    english = api.get("/api/v1/enterprises/999", headers={"Accept-Language": "en"})
    chinese = api.get("/api/v1/enterprises/999", headers={"Accept-Language": "zh-CN"})
    assert english.get_json(force=True)["title"] == "Not found"
    assert chinese.get_json(force=True)["title"] != "Not found"
    # Without the header, the user's own language.
    assert api.get("/api/v1/enterprises/999").get_json(force=True)["title"] != "Not found"


def test_dense_search_pages_through_the_postings(
    monkeypatch, make_user, make_unit, make_enterprise, api_for
):
    """With many matches the list walks the rarest piece's postings: same rows, same order."""
    from crm.enterprises import search

    monkeypatch.setattr(search, "FEW_CANDIDATES", 0)
    a, b = _county(make_unit, "A县"), _county(make_unit, "B县")
    wanted = []
    for i in range(5):
        wanted.append(make_enterprise(name=f"长盈精密{i}号", units=[a]).id)
        make_enterprise(name=f"长盈别处{i}号", units=[b])
        make_enterprise(name=f"蒙牛{i}号", units=[a])
    assert search.plan("长盈精密").driver is not None
    api = api_for(make_user(Role.STAFF, [a]))
    seen, cursor = [], None
    while True:
        url = "/api/v1/enterprises/?q=长盈精密&limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = api.get(url).get_json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(wanted)
