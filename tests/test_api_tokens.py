"""Personal API tokens: made and revoked on the account page and with `crm token`;
the secret is shown once, only the hash is kept."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text

from crm.models import ApiToken, Role

SECRET_RE = re.compile(r"crm_[A-Za-z0-9_-]{40,}")


def _secret_in(html: str) -> str | None:
    found = SECRET_RE.findall(html)
    return found[0] if found else None


def _tokens(db) -> list[ApiToken]:
    db.session.expire_all()
    return list(db.session.execute(select(ApiToken).order_by(ApiToken.id)).scalars())


# -- the account page ---------------------------------------------------------------
def test_create_shows_the_secret_once_and_it_works(db, client, login, make_user, make_unit):
    user = make_user(Role.STAFF, [make_unit()], locale="en")
    login(user)
    response = client.post("/account/tokens", data={"name": "城市平台导入"})
    assert response.status_code == 200  # rendered here, not redirected: no secret in a URL
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    secret = _secret_in(html)
    assert secret and "will not be shown again" in html
    (token,) = _tokens(db)
    assert (token.name, token.user_id) == ("城市平台导入", user.id)
    assert secret.startswith(token.prefix) and secret not in (token.secret_hash, token.prefix)
    # Neither the list, nor the session cookie, ever shows it again.
    listed = client.get("/account/tokens").get_data(as_text=True)
    assert secret not in listed and _secret_in(listed) is None
    assert token.prefix in listed and "城市平台导入" in listed
    assert secret not in (response.headers.get("Set-Cookie") or "")
    with client.session_transaction() as session:
        assert secret not in repr(dict(session))
    api = client.application.test_client()
    answer = api.get("/api/v1/enterprises/", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200
    # The list says when it was last used.
    page = client.get("/account/tokens").get_data(as_text=True)
    row = re.search(rf'<tr data-token="{token.id}".*?</tr>', page, re.S).group(0)
    assert "—" not in row


def test_name_is_required_and_bounded(db, client, login, make_user, make_unit):
    login(make_user(Role.STAFF, [make_unit()], locale="en"))
    for name in ("", "   ", "x" * 101):
        response = client.post("/account/tokens", data={"name": name})
        assert response.status_code == 422, name
        assert _secret_in(response.get_data(as_text=True)) is None
    assert _tokens(db) == []


def test_revoke_makes_the_api_answer_401(db, client, login, make_user, make_unit):
    user = make_user(Role.STAFF, [make_unit()], locale="en")
    login(user)
    secret = _secret_in(
        client.post("/account/tokens", data={"name": "脚本"}).get_data(as_text=True)
    )
    (token,) = _tokens(db)
    api = client.application.test_client()
    auth = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/enterprises/", headers=auth).status_code == 200
    response = client.post("/account/tokens/revoke", data={"token_id": token.id})
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/tokens")
    assert _tokens(db)[0].revoked_at is not None
    assert api.get("/api/v1/enterprises/", headers=auth).status_code == 401
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "Revoked" in page and 'name="token_id"' not in page  # no button for a revoked token


def test_another_user_cannot_see_or_revoke_mine(db, client, switch, make_user, make_unit):
    unit = make_unit()
    me, someone = make_user(Role.STAFF, [unit]), make_user(Role.ADMIN, [unit])
    switch(me)
    client.post("/account/tokens", data={"name": "我的令牌"})
    (token,) = _tokens(db)
    switch(someone)
    assert "我的令牌" not in client.get("/account/tokens").get_data(as_text=True)
    assert client.post("/account/tokens/revoke", data={"token_id": token.id}).status_code == 404
    assert client.post("/account/tokens/revoke", data={"token_id": "x"}).status_code == 400
    assert _tokens(db)[0].revoked_at is None


def test_pages_need_sign_in(client):
    assert client.get("/account/tokens").status_code == 302
    assert client.post("/account/tokens/revoke", data={"token_id": 1}).status_code == 302


# -- crm token ----------------------------------------------------------------------
@pytest.fixture
def runner(app, db):
    yield app.test_cli_runner()
    db.session.rollback()
    with db.engine.begin() as conn:  # as tests/test_cli.py: SQLite's row-by-row RESTRICT
        conn.execute(text("UPDATE org_unit SET parent_id = NULL"))


def test_cli_create_prints_the_secret_once(db, runner, make_user, make_unit, app):
    user = make_user(Role.STAFF, [make_unit()], email="wang@example.test")
    result = runner.invoke(
        args=["crm", "token", "create", "--email", "WANG@example.test", "--name", "ci"]
    )
    assert result.exit_code == 0, result.output
    secret = _secret_in(result.output)
    (token,) = _tokens(db)
    assert token.user_id == user.id and token.name == "ci" and secret.startswith(token.prefix)
    answer = app.test_client().get(
        "/api/v1/enterprises/", headers={"Authorization": f"Bearer {secret}"}
    )
    assert answer.status_code == 200
    listed = runner.invoke(args=["crm", "token", "list", "--email", "wang@example.test"])
    assert listed.exit_code == 0 and token.prefix in listed.output and "active" in listed.output
    assert secret not in listed.output


def test_cli_create_refuses_unknown_user_and_bad_name(db, runner, make_user, make_unit):
    make_user(Role.STAFF, [make_unit()], email="wang@example.test")
    result = runner.invoke(
        args=["crm", "token", "create", "--email", "nobody@x.test", "--name", "ci"]
    )
    assert result.exit_code != 0 and "No user" in result.output
    result = runner.invoke(
        args=["crm", "token", "create", "--email", "wang@example.test", "--name", " "]
    )
    assert result.exit_code != 0 and "name" in result.output.lower()
    assert _tokens(db) == []


def test_cli_revoke_by_id_or_prefix(db, runner, make_user, make_unit, app):
    from crm.api.tokens import create_token

    user = make_user(Role.STAFF, [make_unit()])
    first, first_secret = create_token(user, "one")
    second, _ = create_token(user, "two")
    db.session.commit()
    first_id, second_prefix = first.id, second.prefix

    result = runner.invoke(args=["crm", "token", "revoke", str(first_id)])
    assert result.exit_code == 0 and "revoked" in result.output
    assert (
        app.test_client()
        .get("/api/v1/enterprises/", headers={"Authorization": f"Bearer {first_secret}"})
        .status_code
        == 401
    )
    result = runner.invoke(args=["crm", "token", "revoke", second_prefix])
    assert result.exit_code == 0, result.output
    assert all(t.revoked_at is not None for t in _tokens(db))
    again = runner.invoke(args=["crm", "token", "revoke", str(first_id)])
    assert again.exit_code == 0 and "already" in again.output

    # "crm_" starts every token: too little to say which.
    assert runner.invoke(args=["crm", "token", "revoke", "crm_"]).exit_code != 0
    assert runner.invoke(args=["crm", "token", "revoke", "9" * 30]).exit_code != 0
    missing = runner.invoke(args=["crm", "token", "revoke", "424242"])
    assert missing.exit_code != 0 and "No token" in missing.output
    listed = runner.invoke(args=["crm", "token", "list"])
    assert listed.output.count("revoked") == 2


def test_cli_revoke_refuses_a_prefix_that_names_several(db, runner, make_user, make_unit):
    from crm.api.tokens import create_token

    user = make_user(Role.STAFF, [make_unit()])
    for suffix in ("1111", "2222"):
        token, _ = create_token(user, suffix)
        token.prefix = "crm_abcd" + suffix
    db.session.commit()
    result = runner.invoke(args=["crm", "token", "revoke", "crm_abcd"])
    assert result.exit_code != 0 and "more than one" in result.output
    assert runner.invoke(args=["crm", "token", "revoke", "crm_abcd2"]).exit_code == 0
    assert [t.revoked_at is not None for t in _tokens(db)] == [False, True]
