"""The simulated users of the load test (run by bench/bench_load.py, not alone).

Each user signs in as its own staff account (web session with the CSRF token
from the page, and a personal API token) and, with a pause between actions,
searches the register with two characters, opens enterprise files (一企一档),
logs a visit through the web form, updates one of its own issues through the
API (If-Match) and reads lists and details through the API.

Every write it was told succeeded is appended to LOAD_WRITES (one JSON line,
flushed at once) with a marker unique to the run, for the check afterwards.

Every request is also appended to LOAD_SAMPLES (end time, name, milliseconds,
error), so the orchestrator computes exact percentiles, with or without the
sign-ins, and around the faults (locust's own CSV rounds them).

Environment: LOAD_FIXTURE (accounts JSON written by the orchestrator),
LOAD_WRITES (the writes log), LOAD_SAMPLES, LOAD_RUN (the run's marker prefix).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from locust import HttpUser, between, events, task
from requests.cookies import RequestsCookieJar

FIXTURE = json.loads(open(os.environ["LOAD_FIXTURE"], encoding="utf-8").read())  # noqa: SIM115
RUN = os.environ.get("LOAD_RUN", "run")
WRITES = open(os.environ["LOAD_WRITES"], "a", encoding="utf-8")  # noqa: SIM115
SAMPLES = open(os.environ["LOAD_SAMPLES"], "a", encoding="utf-8")  # noqa: SIM115
_writes_lock = threading.Lock()
_next_account = itertools.count()

SEARCHES = ["长盈", "丽豪", "宜宾", "四川", "新能", "半导", "精密", "天府", "锂电", "科技"]
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def record_write(kind: str, **data) -> None:
    with _writes_lock:
        WRITES.write(json.dumps({"kind": kind, **data}, ensure_ascii=False) + "\n")
        WRITES.flush()


@events.request.add_listener
def _sample(name, response_time, exception=None, **_kwargs):
    SAMPLES.write(
        json.dumps([round(time.time(), 3), name, round(response_time, 1), bool(exception)]) + "\n"
    )


@events.quitting.add_listener
def _flush(**_kwargs):
    SAMPLES.flush()
    WRITES.flush()


def csrf_token(html: str) -> str:
    found = CSRF.search(html)
    if not found:
        raise ValueError("no csrf_token in the page")
    return found.group(1) or found.group(2)


class LoopbackCookieJar(RequestsCookieJar):
    """Keeps Secure cookies as if they were not: the production config marks the session
    cookie Secure, and on loopback there is no TLS in front of gunicorn. The server runs
    unchanged; only this client sends the cookie back over plain http. (A cookie policy
    would not do: requests copies the jar into one with the default policy per request.)"""

    def set_cookie(self, cookie, *args, **kwargs):
        cookie.secure = False
        return super().set_cookie(cookie, *args, **kwargs)


# gunicorn closes a keep-alive connection idle for 5 s (gunicorn.conf.py). A request
# sent on it just then meets a reset; browsers and proxies avoid this by giving up idle
# connections sooner than the server does, and so does this client.
CLIENT_IDLE_SECONDS = 3.0


class Staff(HttpUser):
    wait_time = between(1, 4)

    def wait(self):
        idle_since = time.monotonic()  # a task has just ended
        super().wait()
        if time.monotonic() - idle_since > CLIENT_IDLE_SECONDS:
            self.client.close()  # the pools reconnect on the next request

    def on_start(self):
        index = next(_next_account)
        self.account = FIXTURE["accounts"][index % len(FIXTURE["accounts"])]
        self.index = index
        self.seq = itertools.count(1)
        self.api = {"Authorization": f"Bearer {self.account['token']}"}
        self.client.cookies = LoopbackCookieJar()
        page = self.client.get("/login", name="web sign-in page")
        with self.client.post(
            "/login",
            data={
                "csrf_token": csrf_token(page.text),
                "email": self.account["email"],
                "password": self.account["password"],
                "next": "",
            },
            allow_redirects=False,
            name="web sign-in",
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"sign-in answered {response.status_code}")

    def marker(self) -> str:
        return f"LOAD-{RUN}-{self.index:02d}-{next(self.seq):04d}"

    def enterprise_id(self) -> int:
        return random.choice(self.account["enterprises"])

    # -- the web pages --------------------------------------------------------------------
    @task(4)
    def search(self):
        self.client.get(
            "/enterprises/", params={"q": random.choice(SEARCHES)}, name="web search (2 chars)"
        )

    @task(4)
    def file_page(self):
        self.client.get(f"/enterprises/{self.enterprise_id()}", name="web enterprise file")

    @task(1)
    def log_visit(self):
        enterprise_id = self.enterprise_id()
        form = self.client.get(f"/enterprises/{enterprise_id}/visits/new", name="web visit form")
        if form.status_code != 200:
            return
        marker = self.marker()
        today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
        with self.client.post(
            f"/enterprises/{enterprise_id}/visits/new",
            data={
                "csrf_token": csrf_token(form.text),
                "kind": "door_knocking",
                "visit_date": today,
                "place": "企业会议室",
                "participants": [str(self.account["user_id"])],
                "summary": f"{marker} 与企业负责人座谈，了解扩产计划和用地需求。",
                "concerns": "用电负荷不足",
                "flag": "none",
                "next_step_title": "",
                "next_step_due": "",
                "next_step_owner": "",
            },
            allow_redirects=False,
            name="web visit save",
            catch_response=True,
        ) as response:
            if response.status_code == 302:
                record_write("visit", marker=marker, enterprise_id=enterprise_id)
            else:
                response.failure(f"visit not saved: {response.status_code}")

    # -- the API ----------------------------------------------------------------------------
    @task(1)
    def update_issue(self):
        issue_id = random.choice(self.account["issues"])
        current = self.client.get(
            f"/api/v1/issues/{issue_id}", headers=self.api, name="api issue detail"
        )
        if current.status_code != 200:
            return
        marker = self.marker()
        with self.client.patch(
            f"/api/v1/issues/{issue_id}",
            json={"description": f"{marker} 已与供电公司对接，等待现场勘察。"},
            headers={**self.api, "If-Match": current.headers.get("ETag", "")},
            name="api issue update",
            catch_response=True,
        ) as response:
            if response.status_code == 200:
                record_write("issue", marker=marker, issue_id=issue_id)
            else:
                response.failure(f"issue not updated: {response.status_code}")

    @task(3)
    def api_reads(self):
        enterprise_id = self.enterprise_id()
        choice = random.randrange(4)
        if choice == 0:
            self.client.get(
                "/api/v1/enterprises/", params={"limit": 50}, headers=self.api, name="api list"
            )
        elif choice == 1:
            self.client.get(
                f"/api/v1/enterprises/{enterprise_id}", headers=self.api, name="api detail"
            )
        elif choice == 2:
            self.client.get(
                f"/api/v1/enterprises/{enterprise_id}/timeline",
                params={"limit": 50},
                headers=self.api,
                name="api timeline",
            )
        else:
            self.client.get(
                "/api/v1/issues/",
                params={"status": "open", "limit": 50},
                headers=self.api,
                name="api open issues",
            )
