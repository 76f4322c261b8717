"""Importing 50,000 enterprises from one .xlsx file, end to end, on SQLite and PostgreSQL.

End to end is what a manager waits for: the upload (stored, header read, columns
guessed), the check of every row (the preview) and the import itself (the rows
read and checked again, then written with their timeline events and search
index), all through crm.imports.jobs as the pages and the Celery task call it.

    .venv/bin/python bench/bench_import.py [--only sqlite|postgresql] [--rows 50000]

Each run starts from an empty database (bench/out/bench_import.sqlite; PostgreSQL
database crm_bench_import on 127.0.0.1). The .xlsx is written once to bench/out.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import openpyxl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import database_urls  # noqa: E402  (bench/ is on the path)

OUT = ROOT / "bench" / "out"
PREFIXES = ["宜宾", "四川", "成都", "眉山", "重庆", "深圳", "上海", "苏州"]
WORDS = [
    "长盈精密",
    "时代新能源",
    "丽豪半导体",
    "智能制造",
    "锂电材料",
    "光伏科技",
    "数字经济",
    "绿色能源",
    "生物医药",
    "食品饮料",
]
SUFFIXES = ["有限公司", "股份有限公司", "科技有限公司", "集团有限公司"]


def workbook_path(rows: int) -> Path:
    from crm.enterprises.credit_code import complete

    path = OUT / f"import_{rows}.xlsx"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(
        [
            "统一社会信用代码",
            "企业名称",
            "英文名称",
            "总部所在地",
            "所属单位",
            "是否上市",
            "世界500强",
            "地址",
        ]
    )
    for n in range(rows):
        name = f"{PREFIXES[n % 8]}{WORDS[(n // 8) % 10]}{n}号{SUFFIXES[n % 4]}"
        sheet.append(
            [
                complete(f"91511500{n:09d}"),
                name,
                f"Company {n} Ltd." if n % 5 == 0 else None,
                PREFIXES[n % 8],
                "翠屏区" if n % 2 else "叙州区",
                "是" if n % 10 == 0 else "否",
                2023 if n % 100 == 0 else None,
                f"宜宾市翠屏区某某路{n}号",
            ]
        )
    tmp = path.with_suffix(".tmp")
    workbook.save(tmp)
    tmp.replace(path)
    return path


def run(backend: str, url: str, xlsx: Path, rows: int) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["CRM_INSTANCE_PATH"] = tempfile.mkdtemp(prefix="crm-bench-import-")
    from crm import create_app
    from crm.admin.units import create_unit
    from crm.extensions import db
    from crm.imports import jobs
    from crm.models import Enterprise, ImportJob, ImportStatus, Role, UnitKind, User

    app = create_app("testing")
    with app.app_context():
        db.drop_all()
        db.create_all()
        bureau = create_unit(name="宜宾市投资促进局", kind=UnitKind.BUREAU)
        db.session.flush()
        create_unit(name="翠屏区", kind=UnitKind.COUNTY, parent=bureau)
        create_unit(name="叙州区", kind=UnitKind.COUNTY, parent=bureau)
        manager = User(
            email="manager@bench.test", name="孙科长", password_hash="-", role=Role.MANAGER
        )
        manager.units = [bureau]
        db.session.add(manager)
        db.session.commit()
        data = xlsx.read_bytes()

        started, cpu_started = time.perf_counter(), time.process_time()
        with app.test_request_context():
            job = jobs.create_job(
                actor=manager, kind="enterprises", stream=io.BytesIO(data), filename=xlsx.name
            )
            db.session.commit()
            uploaded = time.perf_counter()
            jobs.set_mapping(job, mapping=job.mapping, on_existing="skip")
            db.session.commit()
            jobs.build_preview(job.id)
            previewed = time.perf_counter()
            job = db.session.get(ImportJob, job.id)
            assert job.status == ImportStatus.PREVIEWED, job.error
            assert jobs.submit(job, confirm_repeat=False)
            jobs.run(job.id)
        finished = time.perf_counter()
        db.session.expire_all()
        job = db.session.get(ImportJob, job.id)
        assert job.status == ImportStatus.DONE, job.error
        assert job.result["counts"]["create"] == rows, job.result["counts"]
        assert db.session.query(Enterprise).count() == rows
        print(
            f"# {backend}: upload {uploaded - started:.1f} s, check (preview) {previewed - uploaded:.1f} s, "
            f"import {finished - previewed:.1f} s; CPU of this process {time.process_time() - cpu_started:.1f} s",
            flush=True,
        )
        size = "50k" if rows == 50_000 else str(rows)
        print(
            f"BENCH import_{size}_enterprises_xlsx_{backend} {finished - started:.1f} s", flush=True
        )
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    xlsx = workbook_path(args.rows)
    for backend, url in database_urls(
        args.only, sqlite="bench_import.sqlite", postgres="crm_bench_import", fresh=True
    ).items():
        # One process per database: the app and its engine are made from the environment.
        pid = os.fork()
        if pid == 0:
            try:
                run(backend, url, xlsx, args.rows)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
