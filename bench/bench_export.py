"""The enterprise register exported as .xlsx at 100,000 enterprises, on SQLite and PostgreSQL.

Through the real route (Flask test client, signed in as a manager who sees every
unit), prints:
- the time to export all 100,000 rows (request start to the last byte read);
- for exports of 20,000, 33,334 and 100,000 rows (one industry, the ``is_settled``
  tag, everything): the growth of the process's resident memory (RSS sampled every
  20 ms, highest minus before) and, in a separate run, the peak of Python
  allocations during the request (tracemalloc). A streaming export's memory
  does not grow with its rows. On SQLite the RSS includes the connection's page
  cache (64 MB, crm/db_sqlite.py), which the first rows read fill.

Each measurement runs in a fresh process, so one run's memory does not hide the
next one's.

    .venv/bin/python bench/bench_export.py [--only sqlite|postgresql]

The databases are made once (bench/out/export.sqlite, PostgreSQL database
crm_bench_export: 100,000 enterprises, no timeline) and reused; drop them to re-seed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import database_urls  # noqa: E402  (bench/ is on the path)

PG_DATABASE = "crm_bench_export"
ENTERPRISES = 100_000
# (label, query string, rows it selects in the seeded data); {industry} is the first industry.
EXPORTS = {
    "20k": ("?industry={industry}", "20,000"),
    "33k": ("?tag=is_settled", "33,334"),
    "100k": ("", "100,000"),
}
INDUSTRIES = ["新能源", "智能制造", "食品饮料", "电子信息", "新材料"]


def make_app(url: str):
    os.environ["DATABASE_URL"] = url
    os.environ["CRM_INSTANCE_PATH"] = str(ROOT / "bench" / "out" / "instance-export")
    from crm import create_app
    from crm.i18n import compile_catalogs

    compile_catalogs()
    return create_app("default", {"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False})


def prepare(backend: str, url: str) -> int:
    """Migrate and seed once: the register's 100,000 enterprises, each with an industry,
    a region and an address so every column of the sheet has something to write.
    Industries go round five by id, so one industry is exactly 20,000 rows; returns its id."""
    from flask_migrate import upgrade
    from sqlalchemy import String, cast, func, literal, select, update

    from crm.extensions import db
    from crm.models import Enterprise, Industry

    app = make_app(url)
    with app.app_context():
        upgrade()
        import seed

        if not seed.seeded(ENTERPRISES):
            started = time.perf_counter()
            seed.seed(log=lambda m: print(f"# {backend}: {m}", flush=True), events=0)
            print(f"# {backend}: seeded in {time.perf_counter() - started:.0f} s", flush=True)
        for i, name in enumerate(INDUSTRIES):
            if db.session.execute(select(Industry.id).where(Industry.name == name)).first() is None:
                db.session.add(Industry(name=name, sort_order=i))
        db.session.flush()
        first = db.session.execute(
            select(Industry.id).where(Industry.name == INDUSTRIES[0])
        ).scalar_one()
        ids = [
            db.session.execute(select(Industry.id).where(Industry.name == name)).scalar_one()
            for name in INDUSTRIES
        ]
        in_first = db.session.execute(
            select(func.count()).select_from(Enterprise).where(Enterprise.industry_id == first)
        ).scalar_one()
        if in_first != ENTERPRISES // len(INDUSTRIES):
            # ids are consecutive when made together; otherwise one UPDATE per industry.
            for position, industry_id in enumerate(ids):
                db.session.execute(
                    update(Enterprise)
                    .where(Enterprise.id % len(INDUSTRIES) == position)
                    .values(
                        industry_id=industry_id,
                        region="四川省宜宾市",
                        address=literal("宜宾市叙州区临港经济技术开发区港园路").concat(
                            cast(Enterprise.id, String)
                        ),
                    )
                )
        db.session.commit()
        return first


def current_rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class RssSampler(threading.Thread):
    """The process's resident memory every 20 ms while the export runs: its highest value."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak = current_rss_kib()
        self.done = threading.Event()

    def run(self):
        while not self.done.wait(0.02):
            self.peak = max(self.peak, current_rss_kib())

    def stop(self) -> int:
        self.done.set()
        self.join()
        return max(self.peak, current_rss_kib())


def measure(url: str, query: str, trace: bool) -> dict:
    """One export in this (fresh) process: seconds, rows, RSS growth, tracemalloc peak."""
    import openpyxl

    app = make_app(url)
    client = app.test_client()
    response = client.post(
        "/login", data={"email": "bench-manager@bench.local", "password": "bench password"}
    )
    assert response.status_code == 302, response.status_code
    client.get("/enterprises/export.xlsx?q=长盈精密")  # warm: templates, catalogs, statements
    rss_before = current_rss_kib()
    sampler = RssSampler()
    sampler.start()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    response = client.get(f"/enterprises/export.xlsx{query}", buffered=False)
    size = 0
    for chunk in response.response:  # read the stream as a browser would
        size += len(chunk)
    response.close()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    if trace:
        tracemalloc.stop()
    rss_peak = sampler.stop()
    assert response.status_code == 200, response.status_code
    result = {
        "seconds": seconds,
        "bytes": size,
        "rss_delta_mib": (rss_peak - rss_before) / 1024,
        "traced_peak_mib": peak / 2**20 if peak is not None else None,
    }
    if not trace and query == "":  # the full export
        # Check the file: every row is there (read back only after timing).
        data = client.get(f"/enterprises/export.xlsx{query}").data
        ws = openpyxl.load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
        result["rows"] = sum(1 for _ in ws.iter_rows(values_only=True)) - 1
    return result


def run_measure(url: str, query: str, trace: bool) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", url, "--query", query]
        + (["--trace"] if trace else []),
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"measuring {query or 'everything'} failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(backend: str, url: str) -> None:
    industry = prepare(backend, url)
    exports = {
        label: (query.format(industry=industry), rows) for label, (query, rows) in EXPORTS.items()
    }
    for label, (query, rows) in exports.items():
        plain = run_measure(url, query, trace=False)
        if label == "100k":
            assert plain["rows"] == ENTERPRISES, plain
            print(f"BENCH export_100k_enterprises_xlsx_{backend} {plain['seconds']:.1f} s")
            size = plain["bytes"] / 2**20
            print(f"BENCH export_100k_enterprises_xlsx_size_{backend} {size:.1f} MiB")
        print(
            f"BENCH export_{label}_enterprises_peak_rss_delta_{backend} "
            f"{plain['rss_delta_mib']:.1f} MiB  # {rows} rows, {plain['seconds']:.1f} s",
            flush=True,
        )
    for label, (query, rows) in exports.items():
        traced = run_measure(url, query, trace=True)
        print(
            f"BENCH export_{label}_enterprises_traced_peak_{backend} "
            f"{traced['traced_peak_mib']:.1f} MiB  # {rows} rows",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--measure")
    parser.add_argument("--query", default="")
    parser.add_argument("--trace", action="store_true")
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.query, args.trace)))
        return
    for backend, url in database_urls(
        args.only, sqlite="export.sqlite", postgres=PG_DATABASE
    ).items():
        run(backend, url)


if __name__ == "__main__":
    main()
