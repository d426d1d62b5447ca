"""Project-level checks: migrations complete, production settings pass check --deploy, compose file valid."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _manage(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_it_has_no_missing_migrations():
    result = _manage("makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_passes_check_deploy_with_production_settings():
    env = {"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "x" * 20 + os.urandom(24).hex(),
           "DJANGO_ALLOWED_HOSTS": "cadence.example.org"}
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_refuses_to_start_in_production_without_a_secret_key():
    result = _manage("check", env={"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": ""})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_it_fails_loudly_on_a_bad_boolean():
    result = _manage("check", env={"DJANGO_DEBUG": "maybe"})
    assert result.returncode != 0 and "DJANGO_DEBUG" in result.stderr


def test_it_ships_a_compose_file_docker_compose_accepts():
    binary = shutil.which("docker-compose")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("docker-compose (Debian package) is needed to validate docker/compose.yaml")
        pytest.skip("docker-compose not installed")
    result = subprocess.run([binary, "-f", "docker/compose.yaml", "config"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env={**os.environ, "DJANGO_SECRET_KEY": "compose-config-check"})
    assert result.returncode == 0, result.stderr
    for service in ("web:", "worker:", "beat:", "redis:", "postgres:"):
        assert service in result.stdout
