"""The dashboards and the monthly ranking at 100,000 projects / 1,000,000 stage changes
and 1,000,000 funds entries (20 ranked units).

Prints, for SQLite and PostgreSQL, the median and p95 (after a warm-up) of:
- the pages, through the app (Flask test client), signed in as a leader (the
  whole city) and as a county manager (one county): the city dashboard
  GET /dashboard, one unit's dashboard, one month's ranking GET /reports/<y>/<m>
  and its .xlsx;
- the figures underneath, called directly: ranking of counties and of task
  forces, total_figures, overview, stalled_projects,
  key_projects — for the city and for one county's scope.

    .venv/bin/python bench/bench_projects.py [--only sqlite|postgresql] [--rounds 30]
        [--pages-only | --functions-only | --seed-only]

BENCH_PROJECTS_SQLITE / BENCH_PROJECTS_PG_DATABASE point it at other databases
(e.g. a copy with an index being tried out).

Targets: each page < 500 ms p95, the .xlsx < 2 s p95. The databases are made
once (bench/out/bench_projects.sqlite, PostgreSQL database crm_bench_projects)
and reused; delete them to re-seed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import database_urls, percentile  # noqa: E402  (bench/ is on the path)

SQLITE_FILE = os.environ.get("BENCH_PROJECTS_SQLITE") or "bench_projects.sqlite"
PG_DATABASE = os.environ.get("BENCH_PROJECTS_PG_DATABASE", "crm_bench_projects")
PAGE_TARGET_MS = 500
XLSX_TARGET_MS = 2000


MISSES: list[str] = []


def report(name: str, samples: list[float], target: float | None = None) -> None:
    p95 = percentile(samples, 0.95)
    print(f"BENCH {name.replace('@', '_p50_')} {statistics.median(samples):.1f} ms")
    print(f"BENCH {name.replace('@', '_p95_')} {p95:.1f} ms", flush=True)
    if target is not None and p95 > target:
        MISSES.append(f"{name.replace('@', '_p95_')} {p95:.1f} ms > {target} ms")


def timed_page(client, url: str, rounds: int) -> list[float]:
    for _ in range(2):  # warm caches and compile templates
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = client.get(url)
        response.get_data()
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return samples


def timed_call(fn, rounds: int) -> list[float]:
    from crm.extensions import db

    for _ in range(2):
        fn()
        db.session.remove()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
        db.session.remove()  # as after a request: nothing cached in the identity map
    return samples


def measure_functions(app, backend: str, ids: dict, rounds: int) -> None:
    from sqlalchemy import select

    from crm.access import Access
    from crm.clock import local_today
    from crm.extensions import db
    from crm.models import UnitKind, User
    from crm.projects import figures
    from crm.projects.figures import Period

    today = local_today()
    period = Period.containing(today)
    with app.app_context():
        for who in ("leader", "manager"):

            def scope(who=who):
                user = db.session.execute(
                    select(User).where(User.email == f"bench-{who}@bench.local")
                ).scalar_one()
                return Access(user).project_scope()

            suffix = f"{backend}" if who == "leader" else f"{backend}_manager"
            calls = {
                "fn_total_figures": lambda: figures.total_figures(period, scope()),
                "fn_overview": lambda: figures.overview(scope(), period, today),
                "fn_stalled_projects": lambda: figures.stalled_projects(scope(), today),
                "fn_key_projects": lambda: figures.key_projects(scope()),
            }
            if who == "leader":
                calls["fn_ranking_county"] = lambda: figures.ranking(period, UnitKind.COUNTY)
                calls["fn_ranking_task_force"] = lambda: figures.ranking(
                    period, UnitKind.TASK_FORCE
                )
                calls["fn_rankings_both"] = lambda: figures.rankings(period)
            for name, fn in calls.items():
                report(f"{name}@{suffix}", timed_call(fn, rounds))


def measure_pages(app, backend: str, ids: dict, rounds: int) -> None:
    from flask import url_for

    from crm.clock import local_today

    today = local_today()
    wanted = {
        "dashboard_city": ("dashboard.city", {}, PAGE_TARGET_MS),
        "dashboard_unit": ("dashboard.unit", {"unit_id": ids["county_id"]}, PAGE_TARGET_MS),
        "ranking_month": (
            "reports.month",
            {"year": today.year, "month": today.month},
            PAGE_TARGET_MS,
        ),
        "ranking_xlsx": (
            "reports.xlsx",
            {"year": today.year, "month": today.month},
            XLSX_TARGET_MS,
        ),
    }
    pages = {}
    with app.test_request_context():
        for name, (endpoint, args, target) in wanted.items():
            if endpoint in app.view_functions:
                pages[name] = (url_for(endpoint, **args), target)
            else:
                print(f"# {backend}: {endpoint} does not exist yet: {name} not measured")
    for who in ("leader", "manager"):
        client = app.test_client()
        response = client.post(
            "/login", data={"email": f"bench-{who}@bench.local", "password": "bench password"}
        )
        assert response.status_code == 302, response.status_code
        suffix = backend if who == "leader" else f"{backend}_manager"
        for name, (url, target) in pages.items():
            report(f"{name}@{suffix}", timed_page(client, url, rounds), target)


def run(
    backend: str,
    url: str,
    rounds: int,
    pages_only: bool,
    functions_only: bool,
) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["CRM_INSTANCE_PATH"] = str(ROOT / "bench" / "out" / "instance")
    from flask_migrate import upgrade

    from crm import create_app
    from crm.extensions import db
    from crm.i18n import compile_catalogs

    compile_catalogs()
    app = create_app("default", {"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade()
        import seed_projects

        if not seed_projects.seeded():
            started = time.perf_counter()
            seed_projects.seed(log=lambda m: print(f"# {backend}: {m}", flush=True))
            print(
                f"BENCH seed_projects_{backend} {time.perf_counter() - started:.0f} s", flush=True
            )
        else:
            # A database seeded before the funds rollup existed gets it filled once.
            seed_projects.ensure_rollup()
        ids = seed_projects.ids()
        db.session.remove()
    if not pages_only:
        measure_functions(app, backend, ids, rounds)
    if not functions_only:
        measure_pages(app, backend, ids, rounds)
    with app.app_context():
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--pages-only", action="store_true")
    parser.add_argument("--functions-only", action="store_true")
    parser.add_argument("--seed-only", action="store_true")
    args = parser.parse_args()
    for backend, url in database_urls(args.only, sqlite=SQLITE_FILE, postgres=PG_DATABASE).items():
        if args.seed_only:
            run(backend, url, 0, pages_only=True, functions_only=True)
        else:
            rounds = max(args.rounds, 30)
            run(backend, url, rounds, args.pages_only, args.functions_only)
    if MISSES:
        print("# over target: " + "; ".join(MISSES))


if __name__ == "__main__":
    main()
