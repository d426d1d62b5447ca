"""Operator endpoints and logs: /metrics, /readyz, request ids, JSON lines with no patient data."""

import io
import json
import logging
import logging.config
import re
import runpy
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from config.logging import JsonFormatter, RequestIdFilter
from tests.conftest import speech_wav

ROOT = Path(__file__).resolve().parents[2]
PHQ9_ANSWERS = [2, 3, 1, 2, 3, 1, 2, 3, 1]  # item 9 above 0


def _sample(text: str, name: str, labels: str = "") -> float | None:
    match = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, flags=re.M)
    return float(match.group(1)) if match else None


@pytest.fixture
def log_lines():
    """Every record any logger emits, formatted as production formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lambda: [line for line in stream.getvalue().splitlines() if line]
    root.removeHandler(handler)
    root.setLevel(old_level)


def _upload(api, key, seed):
    return api(key).post("/api/v1/recordings/", {"audio": SimpleUploadedFile("s.wav", speech_wav(seed=seed))},
                         format="multipart")


def test_it_shows_the_processed_recording_in_metrics(cast, api, django_capture_on_commit_callbacks):
    client = Client()
    before = client.get("/metrics").content.decode()
    assert _sample(before, "cadence_uploads_total") == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert _upload(api, cast.key_a, 21).status_code == 202
    text = client.get("/metrics").content.decode()
    assert _sample(text, "cadence_uploads_total") == 1
    assert _sample(text, "cadence_recordings", '{status="done"}') == 1
    assert _sample(text, "cadence_recordings", '{status="received"}') == 0
    assert _sample(text, "cadence_processing_seconds_count") == 1
    assert _sample(text, "cadence_processing_seconds_sum") > 0
    assert 'cadence_screening_seconds_count{kind="recording"}' in text
    assert "N-001" not in text


def test_it_counts_rejections_by_reason_code(cast, api, django_capture_on_commit_callbacks):
    import numpy as np
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.zeros(16000 * 5), 16000, format="WAV")
    with django_capture_on_commit_callbacks(execute=True):
        api(cast.key_a).post("/api/v1/recordings/", {"audio": SimpleUploadedFile("s.wav", buf.getvalue())},
                             format="multipart")
    text = Client().get("/metrics").content.decode()
    assert _sample(text, "cadence_recordings_rejected", '{reason="no_speech"}') == 1


@pytest.mark.parametrize("remote, header, status", [
    ("10.1.2.3", "", 403), ("10.1.2.3", "Bearer wrong-token", 403), ("10.1.2.3", "Bearer s3cret-metrics", 200),
    ("127.0.0.1", "", 200), ("192.168.7.9", "", 200),
])
def test_it_guards_metrics_by_token_or_network(db, settings, remote, header, status):
    import ipaddress

    settings.CADENCE_METRICS_TOKEN = "s3cret-metrics"
    settings.CADENCE_METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("127.0.0.0/8"),
                                                 ipaddress.ip_network("192.168.7.0/24")]
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = Client(REMOTE_ADDR=remote).get("/metrics", **extra)
    assert response.status_code == status
    if status == 403:
        assert response.json()["error"] == "forbidden"


@pytest.mark.parametrize("forwarded, header, status", [
    ("", "", 403),                            # straight to the app, around the proxy
    ("127.0.0.1", "", 403),                   # the proxy's own address is not the client
    ("203.0.113.9", "", 403),                 # a client on the internet, through the proxy
    ("10.0.0.2", "", 200),                    # the allowed monitoring network, through the proxy
    ("10.0.0.2, 203.0.113.9", "", 403),      # a forged first hop does not help: the proxy appends the real one
    ("203.0.113.9", "Bearer s3cret-metrics", 200),
])
def test_it_guards_metrics_behind_a_proxy_by_the_forwarded_address(db, settings, forwarded, header, status):
    import ipaddress

    settings.CADENCE_TRUSTED_PROXY_COUNT = 1
    settings.CADENCE_METRICS_TOKEN = "s3cret-metrics"
    settings.CADENCE_METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.0.0.0/24")]
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics", **extra).status_code == status


def test_it_closes_metrics_by_default_when_a_proxy_is_configured():
    import os
    import subprocess
    import sys

    code = "import django; django.setup(); from django.conf import settings; print(settings.CADENCE_METRICS_ALLOWED_NETWORKS)"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "CADENCE_TRUSTED_PROXY_COUNT": "1"}
    env.pop("CADENCE_METRICS_ALLOWED_NETWORKS", None)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("require, status", [(False, 200), (True, 401)])
def test_it_can_require_a_login_for_the_schema_and_docs(db, cast, settings, require, status):
    settings.CADENCE_API_DOCS_REQUIRE_AUTH = require
    for path in ("/api/schema/", "/api/docs/"):
        assert Client().get(path).status_code == status
        assert Client().get(path, HTTP_AUTHORIZATION=f"Bearer {cast.alice_token}").status_code == 200


def test_it_is_ready_when_database_broker_and_storage_answer(db):
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok", "storage": "ok"}


def test_it_names_the_dependency_that_is_down(db, settings, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(blocker)}}}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    from config.celery_app import app

    app.conf.update(broker_url="redis://127.0.0.1:1/0", broker_transport_options={})
    app._pool = None
    try:
        response = Client().get("/readyz")
    finally:
        app.conf.update(broker_url="filesystem://", broker_transport_options={})
        app._pool = None
    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"database": "ok", "broker": "unavailable", "storage": "unavailable"}
    assert body["error"] == "not_ready" and "broker, storage" in body["detail"]


def test_it_echoes_or_makes_a_request_id(db):
    assert Client().get("/healthz", HTTP_X_REQUEST_ID="abc12345-req")["X-Request-ID"] == "abc12345-req"
    made = Client().get("/healthz", HTTP_X_REQUEST_ID="bad id\n")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)


def test_it_logs_a_whole_flow_as_json_without_patient_data(cast, api, log_lines, monkeypatch,
                                                          django_capture_on_commit_callbacks):
    """Upload → processing (one attempt fails with the storage path in its message) → PHQ-9 item 9 → dashboard."""
    from clinic.processing import services

    real_extract = services._extract

    def failing_once(recording):
        monkeypatch.setattr(services, "_extract", real_extract)
        raise OSError(f"cannot read {recording.file.name} of patient {recording.patient.code}")

    monkeypatch.setattr(services, "_extract", failing_once)
    with django_capture_on_commit_callbacks(execute=True):
        first = _upload(api, cast.key_a, 31)
        _upload(api, cast.key_a, 32)
        api(cast.key_a).post("/api/v1/phq9/", {"items": PHQ9_ANSWERS, "answered_at": "2026-11-20T10:00:00Z"},
                             format="json")
    assert first.status_code == 202
    api(cast.alice_token).get(f"/api/v1/patients/{cast.patient_a.pk}/")
    api(cast.alice_token).get(f"/api/v1/patients/{cast.patient_a.pk}/phq9/export/")
    browser = Client()
    browser.post("/login/", {"username": "alice", "password": "wrong-password-9"})  # a failed login is logged
    assert browser.post("/login/", {"username": "alice", "password": "alice-password-1"}).status_code == 302
    for url in ["/", f"/?q={cast.patient_a.code}", f"/patients/{cast.patient_a.pk}/", "/alerts/", "/processing/",
                "/patients/999999/"]:
        browser.get(url)
    api("not-a-real-token").get("/api/v1/recordings/")

    lines = log_lines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert any(e.get("exc_type") == "builtins.OSError" and e["exc_frames"] for e in entries)
    assert all(e["request_id"] for e in entries)
    forbidden = [cast.patient_a.code, cast.patient_b.code, cast.key_a, cast.alice_token, "alice-password-1",
                 "wrong-password-9",
                 json.dumps(PHQ9_ANSWERS), str(PHQ9_ANSWERS), "item9"]
    for line in lines:
        for secret in forbidden:
            assert secret not in line, f"{secret!r} leaked into a log line: {line}"


def test_gunicorn_error_log_drops_patient_codes_from_tracebacks(capsys):
    config = runpy.run_path(str(ROOT / "docker" / "gunicorn.conf.py"))
    logging.config.dictConfig(config["logconfig_dict"])
    error_log = logging.getLogger("gunicorn.error")
    try:
        open("/nonexistent/recordings/N-001/abc.wav")
    except OSError:
        error_log.exception("Error handling request /api/v1/patients/?q=N-001&token=abcdef")
    logging.config.dictConfig(__import__("django.conf").conf.settings.LOGGING)
    out = capsys.readouterr().out.strip().splitlines()[-1]
    entry = json.loads(out)
    assert entry["exc_type"] == "builtins.FileNotFoundError"
    assert "N-001" not in out and "abcdef" not in out


@pytest.mark.parametrize("exc", [OSError("cannot read recordings/N-001/x.wav"), "Retry in 30s: OSError('N-001')"])
def test_celery_failure_and_retry_lines_carry_the_exception_type_only(exc):
    record = logging.LogRecord("celery.app.trace", logging.ERROR, __file__, 1,
                               "Task %(name)s[%(id)s] raised unexpected: %(exc)s",
                               None, None)
    record.args = {"name": "voice_features.tasks.process_recording", "id": "t-1", "exc": exc, "traceback": "N-001"}
    line = JsonFormatter().format(record)
    assert "N-001" not in line
    assert json.loads(line)["message"].startswith("Task voice_features.tasks.process_recording[t-1] raised unexpected: ")
