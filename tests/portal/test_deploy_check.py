from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.core.management.utils import get_random_secret_key

ROOT = Path(__file__).resolve().parents[2]


def run_check(**env: str) -> subprocess.CompletedProcess[str]:
    # Not the test session's own switches (the browser tests allow async-unsafe ORM calls).
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = run_check(
        DEBUG="false",
        SECRET_KEY=get_random_secret_key(),
        ALLOWED_HOSTS="portal.example.com",
        USE_HTTPS_IN_ABSOLUTE_URLS="true",
        STRIPE_LIVE_MODE="true",
        STRIPE_LIVE_SECRET_KEY="sk_live_" + "a" * 30,
        STRIPE_API_BASE="",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_about_development_settings():
    result = run_check(DEBUG="true", SECRET_KEY="", USE_HTTPS_IN_ABSOLUTE_URLS="false")

    assert result.returncode != 0
    assert "security.W018" in result.stderr  # DEBUG on


def test_production_settings_refuse_to_start_without_a_secret_key():
    result = run_check(DEBUG="false", SECRET_KEY="")

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr
