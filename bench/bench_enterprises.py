"""Enterprise list search and the enterprise file at 100,000 enterprises / 1,000,000 timeline entries.

Prints, for SQLite and PostgreSQL, the median and p95 of:
- the enterprise list page with a 1-, 2- and 4-character Chinese search,
  and a pinyin search;
- the file page (一企一档) of an enterprise with 5,000 timeline entries;
served through the app (Flask test client) as a manager who sees every unit.

    .venv/bin/python bench/bench_enterprises.py [--only sqlite|postgresql] [--rounds 40]

The databases are made once (bench/out/bench.sqlite, PostgreSQL database
crm_bench) and reused; delete them to re-seed.
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

QUERIES = {
    "1char": ["宜", "蒙", "盈", "锂"],
    "2char": ["蒙牛", "长盈", "丽豪", "光伏"],
    "4char": ["长盈精密", "蒙牛乳业", "丽豪半导", "宜宾时代"],
    "pinyin": ["mengniu", "changying"],
}


def timed(client, url: str, rounds: int) -> list[float]:
    client.get(url)  # warm caches and compile templates once
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return samples


def report(name: str, backend: str, who: str, samples: list[float]) -> None:
    print(f"BENCH {name}_median_{backend}_{who} {statistics.median(samples):.1f} ms")
    print(f"BENCH {name}_p95_{backend}_{who} {percentile(samples, 0.95):.1f} ms")


def count_queries(client, url: str) -> int:
    from sqlalchemy import event

    from crm.extensions import db

    with client.application.app_context():
        engine = db.engine
    seen = []

    def listener(*_args):
        seen.append(1)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len(seen)


def run(backend: str, url: str, rounds: int) -> None:
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
        import seed

        if not seed.seeded():
            started = time.perf_counter()
            seed.seed(log=lambda m: print(f"# {backend}: {m}", flush=True))
            print(f"# {backend}: seeded in {time.perf_counter() - started:.0f} s", flush=True)
        busy_id = 2
        db.session.remove()

    # The manager heads the bureau (sees all 100,000 enterprises); the staff
    # member works in one county (about 5,300): the two shapes of scope.
    for who in ("manager", "staff"):
        client = app.test_client()
        response = client.post(
            "/login", data={"email": f"bench-{who}@bench.local", "password": "bench password"}
        )
        assert response.status_code == 302, response.status_code
        for label, queries in QUERIES.items():
            samples = []
            for q in queries:
                samples += timed(client, f"/enterprises/?q={q}", max(rounds // len(queries), 5))
            report(f"enterprise_search_{label}", backend, who, samples)
        report("enterprise_list_nosearch", backend, who, timed(client, "/enterprises/", rounds))
        if who == "manager":
            report(
                "enterprise_file_busy",
                backend,
                who,
                timed(client, f"/enterprises/{busy_id}", rounds),
            )
            for name, url in (
                ("list_search", "/enterprises/?q=长盈"),
                ("file", f"/enterprises/{busy_id}"),
            ):
                print(
                    f"BENCH enterprise_{name}_queries_{backend} {count_queries(client, url)} queries"
                )
        sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    for backend, url in database_urls(
        args.only, sqlite="bench.sqlite", postgres="crm_bench"
    ).items():
        run(backend, url, args.rounds)


if __name__ == "__main__":
    main()
