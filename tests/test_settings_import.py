"""Importing the settings has no side effect: no folder or file made, the environment untouched.

The folders under VAR_DIR are made by the commands and processes that use them (the SQLite
backend, the Celery app once configured, multiproc.prepare, the mail backend, audit's exports and
retention), and the development key by `migrate`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Unset, so the embedded defaults are what is imported: SQLite, the filesystem broker, mail to
# files, and a development key under VAR_DIR.
EMBEDDED = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "REDIS_URL",
    "EMAIL_URL",
    "SECRET_KEY",
    "PROMETHEUS_MULTIPROC_DIR",
)
PROGRAM = """
import json, os
before = dict(os.environ)
import identity_project.settings
after = dict(os.environ)
names = before.keys() | after.keys()
print(json.dumps({k: [before.get(k), after.get(k)] for k in names if before.get(k) != after.get(k)}))
"""


def embedded_environment(var: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in EMBEDDED and not k.startswith("DJANGO_")}
    # As in every process that loads them (the Celery app's module, imported with the package, only
    # sets it when unset).
    env.update(VAR_DIR=str(var), DEBUG="true", DJANGO_SETTINGS_MODULE="identity_project.settings")
    return env


def test_importing_the_settings_creates_nothing_and_leaves_the_environment_alone(tmp_path):
    var = tmp_path / "var"

    loaded = subprocess.run(
        [sys.executable, "-c", PROGRAM],
        cwd=ROOT,
        env=embedded_environment(var),
        capture_output=True,
        text=True,
        check=False,
    )

    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout) == {}
    assert not var.exists()
    assert list(tmp_path.iterdir()) == []


def test_migrate_makes_the_folder_and_keeps_the_development_key_the_next_process_reads(tmp_path):
    var = tmp_path / "var"
    env = embedded_environment(var)

    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    loaded = subprocess.run(
        [sys.executable, "-c", "from identity_project import settings; print(settings.SECRET_KEY)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert migrated.returncode == 0, migrated.stderr
    assert (var / "db.sqlite3").exists()
    key = var / "secret_key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert loaded.stdout.strip() == key.read_text()
