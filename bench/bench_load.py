"""Load test: 50 simulated users against the production setup on loopback, with faults.

Starts, each as its own process on 127.0.0.1 and stopped at the end (also on
Ctrl-C or failure): a private redis-server (so it can be restarted without
touching the machine's Redis), a fresh PostgreSQL database (crm_load, migrated
with ``crm db upgrade`` and seeded by bench/load/seed_load.py), an SMTP sink
that writes every accepted message to a file, gunicorn serving wsgi:app with
CRM_CONFIG=production, two Celery workers and one beat.

Then locust (bench/load/locustfile.py) runs 50 users for ``--duration`` seconds,
while issues come due every half second, and 150 at once a few seconds before
each fault, so that reminders are being sent when the faults strike. At a third
of the run one worker is killed (SIGKILL, its whole process group); at two
thirds Redis is stopped (SHUTDOWN NOSAVE: its queue is lost) and started again
on the same port. The claim lease is 30 s here (REMINDER_CLAIM_LEASE_SECONDS;
120 s by default), so reminders whose message was lost go out within the run.

Afterwards: every reminder due during the run sent, none sent twice (Message-ID
counted in the sink), every write the users were told succeeded present.
The p95 target applies to the users' work; the 50 sign-ins (a scrypt each, all
in the first seconds) are reported apart (load_p95_sign_in). The production
config's session cookie is Secure: the client sends it back over plain http on
loopback (see the locustfile); the server runs unchanged.

    .venv/bin/python bench/bench_load.py [--duration 180] [--users 50]

Targets: no failed request, p95 under 300 ms, nothing missing, nothing twice.
Exit status 1 when one is missed. Logs of every process: bench/out/load/.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "bench" / "load"))

import seed_load  # noqa: E402  (bench/load/ is on the path)
from common import percentile  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

OUT = ROOT / "bench" / "out" / "load"
VENV = ROOT / ".venv" / "bin"
PG_SERVER = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DATABASE = "crm_load"
P95_TARGET_MS = 300.0
SWEEP_SECONDS = 5
# A claimed reminder whose message died with a worker or with Redis is claimed again
# after this long; production's default is 120 s (such a mail then goes out 2 minutes late).
LEASE_SECONDS = 30
# Issues planned to time how long planning the reminder-bearing ones will take.
CALIBRATION_ISSUES = 20


def log(message: str) -> None:
    print(f"# {message}", flush=True)


def free_port(preferred: int | None = None) -> int:
    if preferred is not None:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", preferred))
                return preferred
            except OSError:
                pass
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def warm_up(port: int, timeout: float = 90) -> None:
    """Until every gunicorn worker has booted: a few quick answers on fresh connections."""
    import http.client

    deadline = time.monotonic() + timeout
    quick = 0
    while quick < 10:
        if time.monotonic() > deadline:
            raise RuntimeError("gunicorn does not answer GET /login quickly")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        began = time.monotonic()
        try:
            conn.request("GET", "/login")
            ok = conn.getresponse().status == 200
        except OSError:
            ok = False
        finally:
            conn.close()
        quick = quick + 1 if ok and time.monotonic() - began < 0.2 else 0
        if not ok:
            time.sleep(0.5)


def fresh_database(name: str) -> str:
    """Drop and create ``name`` on the bench's PostgreSQL server; its URL."""
    admin = make_url(PG_SERVER).set(database="postgres")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return admin.set(database=name).render_as_string(hide_password=False)


# -- the processes ---------------------------------------------------------------------------
class Proc:
    """One child process in its own process group, its output in OUT/<name>.log."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]):
        self.name, self.argv, self.env = name, argv, env
        self.log_path = OUT / f"{name}.log"
        self.popen: subprocess.Popen | None = None

    def start(self) -> Proc:
        with open(self.log_path, "ab") as out:
            # Its own session: Ctrl-C in the terminal reaches only us, and we stop it.
            self.popen = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_output(self, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.output():
            if not self.alive():
                raise RuntimeError(f"{self.name} exited:\n{self.output()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} not ready:\n{self.output()[-3000:]}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL to the whole group: the worker and its pool children die mid-task."""
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(20)

    def stop(self, timeout: float = 20) -> None:
        if not self.alive():
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        except ProcessLookupError:
            pass


class Stack:
    def __init__(self):
        self.procs: list[Proc] = []

    def start(self, proc: Proc) -> Proc:
        self.procs.append(proc.start())
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()


def redis_argv(port: int) -> list[str]:
    return [
        "redis-server",
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
    ]


def gunicorn_argv(port: int) -> list[str]:
    argv = [str(VENV / "python"), "-m", "gunicorn"]
    if (ROOT / "gunicorn.conf.py").exists():
        argv += ["-c", str(ROOT / "gunicorn.conf.py")]
    else:
        argv += ["-w", "4", "-k", "gthread", "--threads", "4"]
    return argv + ["-b", f"127.0.0.1:{port}", "wsgi:app"]


def celery_argv(kind: str, *extra: str) -> list[str]:
    return [
        str(VENV / "python"),
        "-m",
        "celery",
        "-A",
        "wsgi.celery_app",
        kind,
        "-l",
        "INFO",
        *extra,
    ]


# -- setup -----------------------------------------------------------------------------------
def environment(db_url: str, redis_port: int, smtp_port: int, web_port: int) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("CELERY_BROKER_URL", "MAIL_USE_TLS", "MAIL_USE_SSL", "MAIL_USERNAME"):
        env.pop(name, None)
    env.update(
        {
            "CRM_CONFIG": "production",
            "CRM_INSTANCE_PATH": str(OUT / "instance"),
            "DATABASE_URL": db_url,
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(smtp_port),
            "MAIL_FROM": "crm@bench.local",
            "SECRET_KEY": secrets.token_hex(32),
            "EXTERNAL_URL": f"http://127.0.0.1:{web_port}",
            "REMINDER_SWEEP_SECONDS": str(SWEEP_SECONDS),
            "REMINDER_CLAIM_LEASE_SECONDS": str(LEASE_SECONDS),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def migrate_and_seed(env: dict[str, str]) -> tuple[object, dict]:
    subprocess.run([str(VENV / "crm"), "db", "upgrade"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    from crm import create_app
    from crm.extensions import db
    from crm.i18n import compile_catalogs

    compile_catalogs()
    app = create_app()
    started = time.perf_counter()
    with app.app_context():
        fixture = seed_load.seed_all()
        db.session.remove()
    log(f"seeded in {time.perf_counter() - started:.1f} s")
    return app, fixture


# -- the checks ------------------------------------------------------------------------------
def locust_failures(prefix: Path) -> list[dict]:
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def reminder_rows(app, since: datetime, until: datetime) -> list[tuple[int, str]]:
    from crm.extensions import db

    with app.app_context():
        rows = db.session.execute(
            text(
                "SELECT id, status FROM reminder WHERE due_at >= :since AND due_at <= :until"
                " ORDER BY id"
            ),
            {"since": since, "until": until},
        ).all()
        db.session.remove()
    return [(row.id, row.status) for row in rows]


def reminder_delays(app, since: datetime, until: datetime) -> list[float]:
    """Seconds from due to sent of the reminders due in the window that were sent."""
    from crm.extensions import db

    with app.app_context():
        delays = db.session.execute(
            text(
                "SELECT extract(epoch FROM sent_at - due_at) FROM reminder"
                " WHERE due_at >= :since AND due_at <= :until AND sent_at IS NOT NULL"
            ),
            {"since": since, "until": until},
        ).scalars()
        result = [float(d) for d in delays]
        db.session.remove()
    return result


def wait_reminders(app, since: datetime, until: datetime, timeout: float) -> float:
    """Wait until no reminder due in the window is pending or queued; seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        waiting = [r for r in reminder_rows(app, since, until) if r[1] in ("pending", "queued")]
        if not waiting:
            break
        time.sleep(1)
    return time.monotonic() - started


def received(sink_file: Path) -> list[dict]:
    if not sink_file.exists():
        return []
    return [json.loads(line) for line in sink_file.read_text().splitlines() if line.strip()]


def missing_writes(app, run: str, writes_file: Path) -> tuple[int, int, list[str]]:
    """(writes acknowledged, writes missing, a few missing markers)."""
    from crm.extensions import db

    writes = [json.loads(line) for line in writes_file.read_text().splitlines() if line.strip()]
    pattern = re.compile(rf"LOAD-{re.escape(run)}-\d+-\d+")
    with app.app_context():
        visits = {
            m
            for (summary,) in db.session.execute(
                text("SELECT summary FROM visit WHERE summary LIKE :p AND deleted_at IS NULL"),
                {"p": f"LOAD-{run}-%"},
            )
            for m in pattern.findall(summary)
        }
        # Each update is an event in the file, with the description it wrote.
        issue_events = {
            (subject_id, m)
            for subject_id, data in db.session.execute(
                text(
                    "SELECT subject_id, data::text FROM timeline_event"
                    " WHERE kind = 'issue.updated' AND data::text LIKE :p"
                ),
                {"p": f"%LOAD-{run}-%"},
            )
            for m in pattern.findall(data)
        }
        descriptions = dict(
            db.session.execute(
                text("SELECT id, description FROM enterprise_issue WHERE description LIKE :p"),
                {"p": f"LOAD-{run}-%"},
            ).all()
        )
        db.session.remove()
    missing = []
    last_per_issue: dict[int, str] = {}
    for write in writes:
        if write["kind"] == "visit" and write["marker"] not in visits:
            missing.append(write["marker"])
        elif write["kind"] == "issue":
            last_per_issue[write["issue_id"]] = write["marker"]
            if (write["issue_id"], write["marker"]) not in issue_events:
                missing.append(write["marker"])
    # One user updates each issue, one request after the other: its last write must stand.
    for issue_id, marker in last_per_issue.items():
        if not (descriptions.get(issue_id) or "").startswith(marker + " "):
            missing.append(f"{marker} (not the issue's description)")
    return len(writes), len(missing), missing[:5]


def machine() -> str:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = ""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({model}), {mem} RAM"


def cpu_seconds(procs: list[Proc]) -> float:
    """CPU time (user + system) the processes and their children have used so far."""
    import psutil

    total = 0.0
    for proc in procs:
        if not proc.alive():
            continue
        try:
            leader = psutil.Process(proc.popen.pid)
            family = [leader, *leader.children(recursive=True)]
            for member in family:
                times = member.cpu_times()
                total += times.user + times.system
            times = leader.cpu_times()
            total += times.children_user + times.children_system  # reaped children
        except psutil.NoSuchProcess:
            continue
    return total


def database_cpu_seconds(name: str) -> float:
    """CPU time of the PostgreSQL backends serving database ``name`` (the live ones)."""
    import psutil

    total = 0.0
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if cmdline.startswith("postgres: ") and f" {name} " in cmdline:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system
    return total


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# -- the run ---------------------------------------------------------------------------------
def run(args) -> int:
    if OUT.exists():
        shutil.rmtree(OUT)
    (OUT / "instance").mkdir(parents=True)
    run_id = datetime.now(UTC).strftime("%H%M%S")
    redis_port = free_port(6391)
    smtp_port, web_port = free_port(), free_port()
    db_url = fresh_database(DATABASE)
    env = environment(db_url, redis_port, smtp_port, web_port)
    log(f"machine: {machine()}; load average {loadavg()} before the run")
    app, fixture = migrate_and_seed(env)
    fixture_file, writes_file = OUT / "fixture.json", OUT / "writes.jsonl"
    samples_file = OUT / "samples.jsonl"
    fixture_file.write_text(json.dumps(fixture, ensure_ascii=False))
    writes_file.touch()
    sink_file = OUT / "received.jsonl"

    stack = Stack()
    try:
        redis = stack.start(Proc("redis", redis_argv(redis_port), env))
        stack.start(
            Proc(
                "smtp-sink",
                [
                    str(VENV / "python"),
                    str(ROOT / "bench" / "load" / "smtp_sink.py"),
                    "--port",
                    str(smtp_port),
                    "--out",
                    str(sink_file),
                ],
                env,
            )
        )
        web = stack.start(Proc("gunicorn", gunicorn_argv(web_port), env))
        workers = [
            stack.start(
                Proc(
                    f"worker-{n}", celery_argv("worker", "-n", f"w{n}@%h", "--without-mingle"), env
                )
            )
            for n in (1, 2)
        ]
        stack.start(
            Proc(
                "beat",
                celery_argv("beat", "-s", str(OUT / "instance" / "celerybeat-schedule")),
                env,
            )
        )
        wait_port(redis_port, 20)
        wait_port(smtp_port, 20)
        wait_port(web_port, 60)
        warm_up(web_port)
        for worker in workers:
            worker.wait_output("ready.", 90)
        log(
            f"up: redis :{redis_port}, smtp sink :{smtp_port}, gunicorn :{web_port}, 2 workers, beat"
        )

        # Reminders come due steadily (reminders-per-second) from 10 s into the run to its
        # end, plus a burst a few seconds before each fault, so that sends are in flight
        # in the killed worker and messages wait in Redis when it goes down.
        kill_at, restart_at = args.duration / 3, args.duration * 2 / 3
        window_start = datetime.now(UTC)
        steady = max(2, int((args.duration - 10) * args.reminders_per_second))
        # The run starts when the planning is done: time a few issues (due after the run,
        # so outside the window) to know how long the planning of all of them takes.
        with app.app_context():
            from crm.extensions import db

            began = time.monotonic()
            later = window_start + timedelta(hours=1)
            seed_load.plan_timed_reminders([later] * CALIBRATION_ISSUES)
            per_issue = (time.monotonic() - began) / CALIBRATION_ISSUES
            db.session.remove()
        planning = per_issue * (steady + 2 * args.burst)
        t0 = datetime.now(UTC) + timedelta(seconds=1.5 * planning + 5)
        due_times = [
            t0 + timedelta(seconds=10 + n * (args.duration - 10) / (steady - 1))
            for n in range(steady)
        ]
        for fault_at in (kill_at, restart_at):
            due_times += [t0 + timedelta(seconds=fault_at - 4)] * args.burst
        with app.app_context():
            from crm.extensions import db

            seed_load.plan_timed_reminders(due_times)
            db.session.remove()
        log(
            f"{len(due_times)} issues come due during the run ({steady} steadily,"
            f" {args.burst} 4 s before each fault)"
        )
        ahead = (t0 - datetime.now(UTC)).total_seconds()
        if ahead < 0:
            log(f"planning took {-ahead:.0f} s longer than foreseen: due times lag")
        time.sleep(max(0.0, ahead))

        prefix = OUT / "locust"
        locust = stack.start(
            Proc(
                "locust",
                [
                    str(VENV / "locust"),
                    "-f",
                    str(ROOT / "bench" / "load" / "locustfile.py"),
                    "--headless",
                    "-u",
                    str(args.users),
                    "-r",
                    str(args.spawn_rate),
                    "-t",
                    f"{args.duration}s",
                    "--stop-timeout",
                    "10",
                    "--host",
                    f"http://127.0.0.1:{web_port}",
                    "--csv",
                    str(prefix),
                    "--only-summary",
                    "--loglevel",
                    "WARNING",
                ],
                {
                    **env,
                    "LOAD_FIXTURE": str(fixture_file),
                    "LOAD_WRITES": str(writes_file),
                    "LOAD_SAMPLES": str(samples_file),
                    "LOAD_RUN": run_id,
                },
            )
        )
        started = time.monotonic()
        cpu_before = {
            "web": cpu_seconds([web]),
            "workers": cpu_seconds(workers),
            "db": database_cpu_seconds(DATABASE),
        }
        killed = restarted = False
        faults: dict[str, float] = {}
        peak_load = 0.0
        while locust.alive():
            elapsed = time.monotonic() - started
            peak_load = max(peak_load, os.getloadavg()[0])
            if not killed and elapsed >= kill_at:
                workers[0].kill()
                faults["worker_kill"] = time.time()
                killed = True
                log(f"{elapsed:.0f} s: worker w1 killed (SIGKILL to its process group)")
            if not restarted and elapsed >= restart_at:
                subprocess.run(
                    ["redis-cli", "-p", str(redis_port), "shutdown", "nosave"],
                    capture_output=True,
                    check=False,
                )
                redis.popen.wait(20)
                faults["redis_restart"] = time.time()
                down = time.monotonic()
                redis.start()
                wait_port(redis_port, 20)
                restarted = True
                log(
                    f"{elapsed:.0f} s: redis stopped (SHUTDOWN NOSAVE) and started again,"
                    f" down {time.monotonic() - down:.2f} s"
                )
            time.sleep(0.2)
        run_end = datetime.now(UTC)
        cpu = {
            "web": cpu_seconds([web]) - cpu_before["web"],
            "db": database_cpu_seconds(DATABASE) - cpu_before["db"],
        }
        log(f"locust done after {time.monotonic() - started:.0f} s; load average {loadavg()}")
        if not web.alive():
            raise RuntimeError("gunicorn died:\n" + web.output()[-3000:])

        waited = wait_reminders(app, window_start, run_end, LEASE_SECONDS + 4 * SWEEP_SECONDS + 60)
        log(f"waited {waited:.0f} s for the reminders due during the run")
        time.sleep(2)  # a send that the sink accepted commits right after
        for proc in reversed(stack.procs):
            if proc is not redis:
                proc.stop()
    finally:
        stack.stop_all()

    report_run = {
        "prefix": prefix,
        "samples": samples_file,
        "faults": faults,
        "peak_load": peak_load,
        "cpu": cpu,
        "web_log": web.output(),
        "planned": len(due_times),
    }
    return report(args, app, run_id, writes_file, sink_file, window_start, run_end, report_run)


def load_samples(path: Path) -> list[tuple[float, str, float, bool]]:
    return [tuple(json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def request_figures(args, samples, faults) -> tuple[int, float]:
    """Print the request figures; (failed requests, p95 of the users' work in ms).

    The target applies to what the users do once signed in; the 50 sign-ins (a
    scrypt each, all in the first seconds) are reported on their own.
    """
    work = [s for s in samples if not s[1].startswith("web sign-in")]
    signin = [s for s in samples if s[1].startswith("web sign-in")]
    failures = sum(1 for s in samples if s[3])
    span = (max(s[0] for s in samples) - min(s[0] for s in samples)) if samples else 1
    p95 = percentile([s[2] for s in work], 0.95)
    print(f"BENCH load_users {args.users} users")
    print(f"BENCH load_duration {args.duration} s")
    print(f"BENCH load_requests {len(samples)} requests")
    print(f"BENCH load_throughput {len(samples) / span:.1f} requests/s")
    print(f"BENCH load_failures {failures} requests")
    print(f"BENCH load_p50 {percentile([s[2] for s in work], 0.5):.0f} ms")
    print(f"BENCH load_p95 {p95:.0f} ms")
    print(f"BENCH load_p99 {percentile([s[2] for s in work], 0.99):.0f} ms")
    if signin:
        print(f"BENCH load_p95_sign_in {percentile([s[2] for s in signin], 0.95):.0f} ms")
    for name in sorted({s[1] for s in work}):
        times = [s[2] for s in work if s[1] == name]
        print(f"BENCH load_p95_{slug(name)} {percentile(times, 0.95):.0f} ms")
    # The 15 seconds after each fault: do web requests feel it?
    for fault, at in faults.items():
        times = [s[2] for s in work if at <= s[0] <= at + 15]
        failed = sum(1 for s in samples if s[3] and at <= s[0] <= at + 15)
        if times:
            print(f"BENCH load_p95_after_{fault} {percentile(times, 0.95):.0f} ms")
            print(f"BENCH load_failures_after_{fault} {failed} requests")
    return failures, p95


def report(args, app, run_id, writes_file, sink_file, window_start, run_end, run_info):
    misses = []
    prefix = run_info["prefix"]
    failures_n, p95 = request_figures(args, load_samples(run_info["samples"]), run_info["faults"])
    peak_load = run_info["peak_load"]
    boots = run_info["web_log"].count("Booting worker")
    print(f"BENCH load_web_worker_boots {boots} workers")
    # CPU per request does not depend on what else the machine runs, unlike latency.
    requests_n = sum(1 for _ in run_info["samples"].open())
    for part, seconds in run_info["cpu"].items():
        print(f"BENCH load_cpu_{part}_per_request {1000 * seconds / max(requests_n, 1):.1f} ms")
    for row in locust_failures(prefix)[:10]:
        log(f"failure: {row['Occurrences']}× {row['Method']} {row['Name']}: {row['Error'][:200]}")
    if failures_n:
        misses.append(f"{failures_n} failed requests")
    if p95 > P95_TARGET_MS:
        misses.append(f"p95 {p95:.0f} ms > {P95_TARGET_MS:.0f} ms")

    writes, missing, examples = missing_writes(app, run_id, writes_file)
    print(f"BENCH load_writes {writes} writes")
    print(f"BENCH load_writes_missing {missing} writes")
    if missing:
        misses.append(f"{missing} writes missing, e.g. {examples}")

    rows = reminder_rows(app, window_start, run_end)
    statuses = Counter(status for _id, status in rows)
    mails = received(sink_file)
    per_id = Counter(m["message_id"] for m in mails)
    mailed_rows = {
        int(found.group(1))
        for mid in per_id
        if (found := re.match(r"<reminder-(\d+)\.", mid or ""))
    }
    not_sent = [rid for rid, status in rows if status != "sent"]
    sent_unmailed = [rid for rid, status in rows if status == "sent" and rid not in mailed_rows]
    lost = len(not_sent) + len(sent_unmailed)
    duplicated = sum(n - 1 for n in per_id.values() if n > 1)
    for mid, n in per_id.items():
        if n > 1:
            first = min(m["at"] for m in mails if m["message_id"] == mid)
            near = ", ".join(
                f"{first - at:+.2f} s from {f}" for f, at in run_info["faults"].items()
            )
            log(f"{mid} received {n} times, same Message-ID; first copy {near}")
    # Two mails with different Message-IDs about the same item, to the same person: two
    # rows for one reminder (a planning bug), not one row sent twice.
    by_item = Counter(
        (tuple(m["to"]), m["subject"]) for m in {m["message_id"]: m for m in mails}.values()
    )
    duplicated_rows = sum(n - 1 for n in by_item.values())
    print(f"BENCH load_reminders_duplicated_rows {duplicated_rows} mails")
    if duplicated_rows:
        misses.append(f"{duplicated_rows} items mailed twice under different Message-IDs")
    # Checked against what was planned: a planner that made no rows must not pass.
    if len(rows) < run_info["planned"]:
        misses.append(f"only {len(rows)} reminders due of {run_info['planned']} planned")
    log(f"reminders due during the run by status: {dict(statuses)}")
    delays = reminder_delays(app, window_start, run_end)
    if delays:
        print(f"BENCH load_reminders_delay_p50 {percentile(delays, 0.5):.1f} s")
        print(f"BENCH load_reminders_delay_max {max(delays):.1f} s")
        # Sent later than a claim lease after due: their message died with w1 or Redis,
        # and a sweep took the row again.
        late = sum(1 for d in delays if d > LEASE_SECONDS)
        print(f"BENCH load_reminders_reclaimed {late} rows")
    print(f"BENCH load_reminders_due {len(rows)} rows")
    print(f"BENCH load_reminders_sent {len(mails)} mails")
    print(f"BENCH load_reminders_duplicated {duplicated} mails")
    print(f"BENCH load_reminders_lost {lost} rows")
    if lost:
        misses.append(
            f"{lost} reminders lost ({not_sent[:5]} not sent, {sent_unmailed[:5]} no mail)"
        )
    if duplicated:
        misses.append(f"{duplicated} reminder mails duplicated")
    log(f"machine: {machine()}; peak 1-min load average during the run {peak_load:.2f}")
    if misses:
        print("# over target: " + "; ".join(misses), flush=True)
        return 1
    return 0


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=180, help="seconds of load")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--reminders-per-second", type=float, default=2.0)
    parser.add_argument("--burst", type=int, default=150, help="reminders due before each fault")
    args = parser.parse_args()
    # SIGTERM as Ctrl-C: the finally clauses stop every process we started.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)  # even when started with SIGINT ignored
    sys.exit(run(args))


if __name__ == "__main__":
    main()
