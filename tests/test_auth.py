"""Sign-in, sign-out, throttling, redirects and session hygiene."""

from __future__ import annotations

import pytest

from crm.models import LoginAttempt, Role
from tests.conftest import PASSWORD


def test_login_and_logout(client, make_user):
    user = make_user(Role.STAFF)
    response = client.post("/login", data={"email": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/")
    assert client.get("/").status_code == 200

    response = client.post("/logout")
    assert response.status_code == 302
    assert client.get("/").status_code == 302  # back to the sign-in page


def test_wrong_password_is_refused_and_recorded(client, make_user, db):
    user = make_user(Role.STAFF, locale="en")
    response = client.post("/login", data={"email": user.email, "password": "wrong password!"})
    assert response.status_code == 200
    assert "邮箱或密码错误" in response.get_data(as_text=True)  # Chinese by default
    response = client.post(
        "/login",
        data={"email": user.email, "password": "wrong password!"},
        headers={"Accept-Language": "en"},
    )
    assert "Wrong email or password." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    attempts = db.session.query(LoginAttempt).all()
    assert [(a.email, a.succeeded) for a in attempts] == [(user.email, False)] * 2


def test_unknown_account_answers_like_a_wrong_password(client):
    response = client.post(
        "/login",
        data={"email": "nobody@example.test", "password": "whatever"},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 200
    assert "Wrong email or password." in response.get_data(as_text=True)


def test_login_throttled_per_account(client, make_user, app):
    user = make_user(Role.STAFF)
    for _ in range(app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]):
        client.post("/login", data={"email": user.email, "password": "bad password"})
    # Even the right password is refused while the account is throttled.
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert client.get("/").status_code == 302


def test_login_throttled_per_address(client, make_user, app):
    user = make_user(Role.STAFF)
    limit = app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"]
    for i in range(limit):
        client.post("/login", data={"email": f"guess{i}@example.test", "password": "bad password"})
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    # Another address is not affected.
    response = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.9.9.9"},
    )
    assert response.status_code == 302


def test_next_parameter_only_on_our_host(client, make_user):
    user = make_user(Role.STAFF)
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "next": "/enterprises/?q=蒙牛"}
    )
    assert (
        response.headers["Location"].endswith("/enterprises/?q=%E8%92%99%E7%89%9B")
        or "enterprises" in response.headers["Location"]
    )
    client.post("/logout")
    for evil in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = client.post(
            "/login", data={"email": user.email, "password": PASSWORD, "next": evil}
        )
        assert response.status_code == 302
        assert "evil" not in response.headers["Location"]
        assert "javascript" not in response.headers["Location"]
        client.post("/logout")


def test_session_is_cleared_before_login(client, make_user):
    user = make_user(Role.STAFF)
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("_user_id", "").startswith(f"{user.id}:")


def test_inactive_user_cannot_sign_in(client, make_user):
    user = make_user(Role.STAFF, active=False)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert client.get("/").status_code == 302


def test_password_change_ends_other_sessions(client, make_user, db, app):
    from crm.auth.services import set_password

    user = make_user(Role.STAFF)
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert client.get("/").status_code == 200
    set_password(user, "a brand new password")
    db.session.commit()
    assert client.get("/").status_code == 302


def test_security_headers(client):
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_csrf_is_enforced_when_enabled(app, make_user):
    user = make_user(Role.STAFF)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = app.test_client()
        response = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 400
        page = client.get("/login").get_data(as_text=True)
        assert 'name="csrf_token"' in page
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_production_cookies_are_secure():
    from config import ProductionConfig

    assert ProductionConfig.SESSION_COOKIE_SECURE is True
    assert ProductionConfig.REMEMBER_COOKIE_SECURE is True
    assert ProductionConfig.SESSION_COOKIE_HTTPONLY is True


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-GB,en;q=0.8", "Sign in"),
        ("zh-TW,zh;q=0.9", "登录"),
        ("fr-FR,de;q=0.5", "登录"),  # a language we don't offer: the default, Chinese
        ("fr-FR,en;q=0.3,zh;q=0.2", "Sign in"),
    ],
)
def test_login_page_speaks_the_browsers_language(client, header, expected):
    page = client.get("/login", headers={"Accept-Language": header}).get_data(as_text=True)
    assert f">{expected}<" in page or f"{expected}</" in page
