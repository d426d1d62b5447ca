"""Project-level checks: migrations complete, production settings pass check --deploy, compose file valid."""

import base64
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # scheduled first (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[1]


def _manage(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_it_has_no_missing_migrations():
    result = _manage("makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr


def _production_env(tmp_path: Path, **extra: str) -> dict:
    return {"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "x" * 20 + os.urandom(24).hex(),
            "DJANGO_ALLOWED_HOSTS": "cadence.example.org", "CADENCE_PRIVATE_MEDIA_ROOT": str(tmp_path / "private"),
            "CADENCE_AUDIO_KEYS": base64.b64encode(os.urandom(32)).decode(), "EMAIL_HOST": "mail.example.org",
            **extra}


def test_it_passes_check_deploy_with_production_settings(tmp_path):
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=_production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_refuses_mail_written_to_the_log(tmp_path):
    result = _manage("check", "--deploy", env=_production_env(tmp_path, EMAIL_HOST=""))
    assert result.returncode != 0 and "clinic.E003" in result.stderr and "EMAIL_HOST" in result.stderr


def test_it_warns_at_deploy_when_alerts_have_no_channel(tmp_path):
    env = _production_env(tmp_path, EMAIL_HOST="", CADENCE_ALLOW_CONSOLE_EMAIL="true")
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0 and "outreach.W001" in result.stderr and "Alerts have no channel" in result.stderr


def test_it_refuses_to_start_without_an_audio_key_or_with_a_wrong_one(tmp_path):
    result = _manage("check", env=_production_env(tmp_path, CADENCE_AUDIO_KEYS=""))
    assert result.returncode != 0 and "clinic.E001" in result.stderr and "CADENCE_AUDIO_KEYS" in result.stderr
    assert _manage("check", env=_production_env(tmp_path)).returncode == 0  # writes the key check file
    result = _manage("check", env=_production_env(tmp_path))  # another key than the stored audio's
    assert result.returncode != 0 and "wrong or missing key" in result.stderr


def test_it_refuses_to_start_in_production_without_a_secret_key():
    result = _manage("check", env={"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": ""})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_it_fails_loudly_on_a_bad_boolean():
    result = _manage("check", env={"DJANGO_DEBUG": "maybe"})
    assert result.returncode != 0 and "DJANGO_DEBUG" in result.stderr


@pytest.mark.parametrize("files", [["docker/compose.yaml"], ["docker/compose.yaml", "docker/compose.test.yaml"]])
def test_it_ships_a_compose_file_docker_compose_accepts(files):
    binary = shutil.which("docker-compose")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("docker-compose (Debian package) is needed to validate docker/compose.yaml")
        pytest.skip("docker-compose not installed")
    env = {**os.environ, "DJANGO_SECRET_KEY": "compose-config-check", "CADENCE_AUDIO_KEYS": "compose-config-check",
           "CADENCE_DOMAIN": "cadence.example.org", "CADENCE_TLS": "ops@example.org",
           "POSTGRES_PASSWORD": "compose-config-check", "S3_SECRET_KEY": "compose-config-check"}
    args = [arg for name in files for arg in ("-f", name)]
    result = subprocess.run([binary, *args, "config"], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    for service in ("caddy:", "web:", "worker:", "worker-batch:", "beat:", "redis:", "postgres:", "s3:", "createbucket:"):
        assert service in result.stdout
    assert "CADENCE_STORAGE: s3" in result.stdout
    # The public address follows from the domain; Caddy is the one trusted proxy.
    assert "DJANGO_ALLOWED_HOSTS: cadence.example.org,web,localhost,127.0.0.1" in result.stdout
    assert "CADENCE_TRUSTED_PROXY_COUNT: '1'" in result.stdout
    assert "CADENCE_TLS: ops@example.org" in result.stdout
    missing = subprocess.run([binary, *args, "config"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                             env={k: v for k, v in env.items() if k != "CADENCE_AUDIO_KEYS"})
    assert missing.returncode != 0 and "CADENCE_AUDIO_KEYS" in missing.stderr


def test_it_schedules_only_tasks_the_workers_know():
    from django.conf import settings

    from config.celery_app import app

    app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, f"beat entry {name!r} names an unregistered task"


@pytest.mark.parametrize(("task", "queue"), [
    ("voice_features.tasks.process_recording", "extraction"),
    ("voice_features.tasks.sweep_stale_recordings", "extraction"),
    ("screening.tasks.screen_recording", "screening"),
    ("screening.tasks.run_screening", "screening"),
    ("screening.tasks.screen_patients", "screening"),
    ("screening.tasks.weekly_validation_report", "reports"),
])
def test_it_routes_uploads_screening_and_reports_to_their_own_queues(task, queue):
    from config.celery_app import app

    app.loader.import_default_modules()
    assert app.amqp.router.route({}, task)["queue"].name == queue


def test_the_embedded_broker_folder_exists_once_settings_load(settings):
    """A command run on a fresh clone before run.sh (or a benchmark) may queue work: the filesystem broker's folder
    is there as soon as Django's settings are read, not only once run.sh made it (it crashed a benchmark)."""
    from pathlib import Path

    if not settings.CELERY_BROKER_URL.startswith("filesystem"):
        pytest.skip("the embedded filesystem broker is not in use")
    assert Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]).is_dir()
