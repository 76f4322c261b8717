"""Browser tests: headless Chromium (Debian's /usr/bin/chromium) driving the app on loopback.

How to write a journey
----------------------
Ask for ``ui`` (and the usual factories of tests/conftest.py)::

    def test_something(ui, make_user, make_unit, make_enterprise):
        unit = make_unit("翠屏区")
        user = make_user(units=[unit])           # factories write to the same database
        ui.login(user)                           # the real login form, in the variant's language
        ui.goto("/enterprises/")                 # asserts HTTP 200 (or ``status=404``)
        ui.step("register")                      # screenshot + axe + translation check
        ui.page.get_by_label(ui.t("Search"), exact=True).fill("蒙牛")
        ui.click(ui.page.get_by_role("button", name=ui.t("Search")))  # waits for the new page
        ui.step("search-results")

Fixtures
--------
``browser`` (package scope: one for all of tests/e2e, closed before the rest of the suite)
    One headless Chromium for the whole run. Skips (fails when ``CI=true``) when
    /usr/bin/chromium or Playwright is missing.
``live_server`` (package scope)
    The base URL (``http://127.0.0.1:<port>``) of a second app object served by a threaded
    werkzeug server: same database, instance folder and secret as the ``app`` fixture, so
    the factories and ``_clean_tables`` work; CSRF on, no SERVER_NAME. A server-side
    exception fails the test that caused it.
``variant`` (parametrized: desktop-zh, desktop-en, phone-zh, phone-en)
    A ``Variant`` (``name``, ``lang`` "zh"/"en", ``locale`` "zh_CN"/"en", ``phone``).
    Every test that uses ``ui`` runs in all four; to run one only:
    ``@pytest.mark.parametrize("variant", ["desktop-en"], indirect=True)``.
``ui`` (per test)
    A fresh browser context (1280x800, or 390x844 touch phone) in the variant's language:

    - ``ui.page``: the Playwright page; ``ui.variant``, ``ui.lang``, ``ui.locale``.
    - ``ui.t(msgid, **params)`` / ``ui.tn(singular, plural, n, **params)``: the text as the
      app shows it in this language (from the zh catalog), for assertions and locators.
    - ``ui.url(path)``: absolute URL on the live server.
    - ``ui.login(user, password=PASSWORD)``: sets the user's language to the variant's
      (the user's own setting wins over the browser's), then signs in through the login
      form (a step "login" is recorded) and lands on the home page.
    - ``ui.goto(path, status=200)``: open a URL, assert the HTTP status; returns the response.
    - ``ui.click(locator, status=200)``: click something that loads a new page (link,
      submit button) and wait for it; asserts the status of the new page.
    - ``ui.press(locator, key, status=200)``: the same with a key (e.g. "Enter").
    - ``ui.nav(msgid)``: follow an entry of the main menu (``ui.nav("Follow-ups")``),
      opening the collapsed menu first on a phone.
    - ``ui.step(name)``: record the current page as step NN: full-page screenshot in
      ``artifacts/e2e/<test-name>/<NN>-<name>.png``, then fail on any axe violation
      (WCAG 2.0/2.1 A+AA), any string of the other language (see page_checks.py), and
      any console/page error so far. Call it on every page a journey passes through.
    - ``ui.allow_console_error(substring)``: an expected console error (rarely needed; a
      page opened with ``ui.goto(..., status=404)`` needs none).

    Console errors, page errors and failed requests (HTTP >= 400 other than the
    expected ones) are collected for the whole test and asserted at teardown.

What the browser saved is read back through ``db.session`` (the ``app`` fixture's); call
``db.session.expire_all()`` first if the test already holds those objects.

Mark record data that may legitimately be in the other language (an English company
name on a Chinese page) with ``translate="no"`` in the template; ``lang="en"`` on an
element marks text in a declared language (the language menu).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import update

from tests.conftest import PASSWORD
from tests.e2e.page_checks import axe_violations, translate, untranslated

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "e2e"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Waits for a page or an element; generous, as a loaded 2-core CI machine loading the
# dashboard with its chart library took over 15 s once.
TIMEOUT_MS = 30_000


def _missing(reason: str):
    # CI must never pass by skipping the browser tests (as with redis-server elsewhere).
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: browser tests must run)")
    pytest.skip(reason)


# -- the browser --------------------------------------------------------------------


@pytest.fixture(scope="package")
def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the package is a dev dependency
        _missing("the playwright package is not installed")
    if not os.path.exists(CHROMIUM):
        _missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="package")
def browser(_playwright):
    browser = _playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


# -- the server ---------------------------------------------------------------------


class _ServerWatch:
    """Counts requests in flight and keeps server-side exceptions for the test to fail on."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self.lock = threading.Lock()
        self.in_flight = 0
        self.errors: list[str] = []

    def __call__(self, environ, start_response):
        with self.lock:
            self.in_flight += 1
        try:
            iterable = self.wsgi_app(environ, start_response)
            try:
                yield from iterable
            finally:
                if hasattr(iterable, "close"):
                    iterable.close()
        finally:
            with self.lock:
                self.in_flight -= 1

    def record(self, sender, exception, **_extra):
        import traceback

        self.errors.append("".join(traceback.format_exception(exception)))

    def wait_idle(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.02)


@pytest.fixture(scope="package")
def _served(app):
    """(base URL, watch): a second app on the same database, served in a thread."""
    from flask import got_request_exception
    from werkzeug.serving import make_server

    from crm import create_app
    from crm.extensions import db

    server_app = create_app(
        "testing",
        {
            "WTF_CSRF_ENABLED": True,  # real forms, as users submit them
            "SERVER_NAME": None,
            "TESTING": False,
            "UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"],
            "MAIL_OUTBOX": app.config["MAIL_OUTBOX"],
            "SECRET_KEY": app.config["SECRET_KEY"],
        },
    )
    # create_app made its Celery app the default; the rest of the suite keeps the test app's.
    app.extensions["celery"].set_default()
    watch = _ServerWatch(server_app.wsgi_app)
    server_app.wsgi_app = watch
    got_request_exception.connect(watch.record, server_app, weak=False)
    server = make_server("127.0.0.1", 0, server_app, threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    server_app.config["EXTERNAL_URL"] = base_url
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    yield base_url, watch
    server.shutdown()
    thread.join(timeout=10)
    with server_app.app_context():
        db.engine.dispose()  # no idle connection may hold the database at drop_all


@pytest.fixture(scope="package")
def live_server(_served) -> str:
    return _served[0]


# -- the variants -------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    name: str
    lang: str  # "zh" or "en"
    phone: bool

    @property
    def locale(self) -> str:
        """The app's locale code (User.locale)."""
        return "zh_CN" if self.lang == "zh" else "en"

    @property
    def browser_locale(self) -> str:
        return "zh-CN" if self.lang == "zh" else "en-US"

    def context_options(self) -> dict:
        size = (
            {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
            if self.phone
            else {"viewport": {"width": 1280, "height": 800}}
        )
        return {
            **size,
            "device_scale_factor": 1,
            "locale": self.browser_locale,
            "timezone_id": "Asia/Shanghai",
        }


VARIANTS = {
    v.name: v
    for v in (
        Variant("desktop-zh", "zh", phone=False),
        Variant("desktop-en", "en", phone=False),
        Variant("phone-zh", "zh", phone=True),
        Variant("phone-en", "en", phone=True),
    )
}


@pytest.fixture(params=list(VARIANTS))
def variant(request) -> Variant:
    return VARIANTS[request.param]


# -- the per-test driver ------------------------------------------------------------


class UI:
    def __init__(self, page, variant: Variant, base_url: str, folder: Path, watch: _ServerWatch):
        self.page = page
        self.variant = variant
        self.base_url = base_url
        self.folder = folder
        self.watch = watch
        self.steps = 0
        self.problems: list[str] = []
        self._allowed: list[str] = []
        self._expected_failures: set[str] = set()
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        page.on("response", self._on_response)
        page.on("requestfailed", self._on_request_failed)

    # -- language ---------------------------------------------------------------
    @property
    def lang(self) -> str:
        return self.variant.lang

    @property
    def locale(self) -> str:
        return self.variant.locale

    def t(self, msgid: str, **params) -> str:
        return translate(msgid, self.lang, **params)

    def tn(self, singular: str, plural: str, n: int, **params) -> str:
        params.setdefault("num", n)
        return translate(singular if n == 1 or self.lang == "zh" else plural, self.lang, **params)

    # -- navigation -------------------------------------------------------------
    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base_url + path

    def _expect(self, response, status: int | None):
        assert response is not None, "no page was loaded"
        if status is not None:
            assert response.status == status, f"{response.url}: HTTP {response.status}"
        if response.status >= 400:
            self._expected_failures.add(response.url)
        return response

    def goto(self, path: str, status: int | None = 200):
        url = self.url(path)
        if status is not None and status >= 400:
            self._expected_failures.add(url)
        return self._expect(self.page.goto(url, wait_until="load"), status)

    def click(self, locator, status: int | None = 200):
        with self.page.expect_navigation(wait_until="load") as navigation:
            locator.click()
        return self._expect(navigation.value, status)

    def press(self, locator, key: str, status: int | None = 200):
        with self.page.expect_navigation(wait_until="load") as navigation:
            locator.press(key)
        return self._expect(navigation.value, status)

    def nav(self, msgid: str, status: int | None = 200):
        """Open a page from the main menu (on a phone, through the menu button first)."""
        menu = self.page.locator("#mainnav")
        if not menu.is_visible():
            self.page.get_by_role("button", name=self.t("Menu")).click()
            # Bootstrap adds .show when the opening animation has finished.
            self.page.locator("#mainnav.show").wait_for(state="visible")
        return self.click(menu.get_by_role("link", name=self.t(msgid), exact=True), status)

    def login(self, user, password: str = PASSWORD):
        from crm.extensions import db
        from crm.models import User

        if user.locale != self.locale:
            db.session.execute(update(User).where(User.id == user.id).values(locale=self.locale))
            db.session.commit()
        self.goto("/login")
        self.step("login")
        page = self.page
        page.get_by_label(self.t("Email"), exact=True).fill(user.email)
        page.get_by_label(self.t("Password"), exact=True).fill(password)
        self.click(page.get_by_role("button", name=self.t("Sign in"), exact=True))
        assert "/login" not in page.url, f"sign-in failed, still on {page.url}"

    # -- checks -----------------------------------------------------------------
    def allow_console_error(self, substring: str) -> None:
        self._allowed.append(substring)

    def step(self, name: str) -> Path:
        self.steps += 1
        slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")
        path = self.folder / f"{self.steps:02d}-{slug}.png"
        self.page.screenshot(path=str(path), full_page=True)
        where = f"step {self.steps:02d}-{slug} ({self.page.url}, {self.variant.name})"
        violations = axe_violations(self.page)
        assert not violations, f"axe violations on {where}:\n" + "\n".join(violations)
        foreign = untranslated(self.page, self.lang)
        assert not foreign, f"untranslated strings on {where}:\n" + "\n".join(foreign)
        self.assert_no_errors(where)
        return path

    def assert_no_errors(self, where: str = "") -> None:
        problems = self.problems + [f"server error:\n{e}" for e in self.watch.errors]
        assert not problems, f"browser/server errors {where}:\n" + "\n".join(problems)

    # -- event handlers ---------------------------------------------------------
    def _on_console(self, message) -> None:
        if message.type != "error":
            return
        text = message.text
        if any(a in text for a in self._allowed):
            return
        # Chromium logs the failed main document too; an expected 404 is not an error.
        if text.startswith("Failed to load resource") and (
            message.location.get("url") in self._expected_failures
        ):
            return
        self.problems.append(f"console error: {text} ({message.location.get('url')})")

    def _on_response(self, response) -> None:
        # A page's own status is asserted by goto/click/press; here: its resources, fetches.
        if (
            response.status >= 400
            and response.url not in self._expected_failures
            and response.request.resource_type != "document"
        ):
            self.problems.append(f"HTTP {response.status} for {response.url}")

    def _on_request_failed(self, request) -> None:
        failure = request.failure or ""
        if "ERR_ABORTED" not in failure:  # a navigation that replaced a pending one
            self.problems.append(f"request failed: {request.url} ({failure})")


def _folder_for(node_name: str) -> Path:
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "-", node_name).strip("-")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def ui(request, browser, _served, variant):
    base_url, watch = _served
    watch.errors.clear()
    context = browser.new_context(**variant.context_options())
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    driver = UI(page, variant, base_url, _folder_for(request.node.name), watch)
    try:
        yield driver
        driver.assert_no_errors("during the test")
    finally:
        context.close()
        # Nothing may still be writing when _clean_tables empties the tables.
        watch.wait_idle()
