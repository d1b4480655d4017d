"""Django's deployment checklist is clean with production settings (DEBUG off, HTTPS defaults)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def production_environment(var_dir: Path) -> dict[str, str]:
    """What an operator sets (docs/operations.md, Production); the HTTPS settings keep their defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "DJANGO_SETTINGS"))}
    env.update(
        DJANGO_SETTINGS_MODULE="identity_project.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="identity.example.com",
        VAR_DIR=str(var_dir),
    )
    return env


def test_check_deploy_finds_nothing_with_production_settings(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_does_see_an_unsafe_setting(tmp_path):
    # the same check with HSTS turned off must complain: the test above can fail
    env = production_environment(tmp_path) | {"SECURE_HSTS_SECONDS": "0"}

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr
