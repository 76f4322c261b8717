#!/usr/bin/env python3
"""Set up and run the service, or run the tests, on a fresh machine with only Python 3.11.

    python3 dev.py run     # venv + dependencies, migrations, demo data, web + worker + beat
    python3 dev.py test    # venv + dependencies, the whole test suite (pytest arguments may follow)

Everything lives in ./.venv; nothing is installed system-wide. Defaults are
embedded: SQLite in ./instance, a filesystem Celery broker, mail written to
./instance/outbox. Set DATABASE_URL, REDIS_URL, MAIL_SERVER... to use real services.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".crm-installed"


def ensure_venv() -> None:
    # dev.py itself runs on whatever python3 the machine has: say so plainly when it is too old.
    if sys.version_info < (3, 11):  # noqa: UP036
        sys.exit(f"Python 3.11 or newer is needed (found {sys.version.split()[0]}).")
    if not PY.exists():
        print("creating virtual environment in .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    # Reinstall only when the declared dependencies change.
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    print("installing dependencies ...", flush=True)
    subprocess.run([PY, "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([PY, "-m", "pip", "install", "-q", "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted)


def compile_translations() -> None:
    subprocess.run(
        [PY, "-c", "from crm.i18n import compile_catalogs; compile_catalogs()"],
        check=True,
        cwd=ROOT,
    )


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "help"
    rest = argv[1:]
    if command == "run":
        ensure_venv()
        compile_translations()
        return subprocess.call([BIN / "crm", "serve", *rest], cwd=ROOT)
    if command == "test":
        ensure_venv()
        compile_translations()
        return subprocess.call([PY, "-m", "pytest", *rest], cwd=ROOT)
    print(__doc__)
    return 0 if command == "help" else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
