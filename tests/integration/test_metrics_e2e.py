"""/metrics of the web process sees what a separate worker process did (DB-derived and multiprocess metrics)."""

import re
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.conftest import speech_wav
from tests.integration.processes import start_worker, stop, wait_final, worker_env

pytestmark = pytest.mark.integration


def _value(text: str, sample: str) -> float | None:
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, flags=re.M)
    return float(match.group(1)) if match else None


def test_it_scrapes_the_recording_a_worker_processed(cast, api, postgres, live_broker, redis_url, settings, tmp_path,
                                                     monkeypatch):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = worker_env(redis_url, settings) | {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    settings.CELERY_BROKER_URL = redis_url
    scrape = Client()
    response = api(cast.key_a).post("/api/v1/recordings/", {"audio": SimpleUploadedFile("s.wav", speech_wav(seed=41))},
                                    format="multipart")
    assert response.status_code == 202
    queued = scrape.get("/metrics").content.decode()
    assert _value(queued, 'cadence_queue_length{queue="extraction"}') == 1  # waiting: no worker yet
    assert _value(queued, 'cadence_queue_length{queue="reports"}') == 0
    assert _value(queued, 'cadence_recordings{status="received"}') == 1

    worker = start_worker(env, tmp_path / "worker.log")
    try:
        recording = wait_final(response.json()["id"])
        deadline = time.monotonic() + 60
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
        while True:  # screening runs as the next task in the worker
            text = scrape.get("/metrics").content.decode()
            if _value(text, 'cadence_screening_seconds_count{kind="recording"}') or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        stop(worker)
    assert recording.status == "done", recording.status_reason
    assert _value(text, 'cadence_recordings{status="done"}') == 1
    assert _value(text, "cadence_processing_seconds_count") == 1
    assert _value(text, 'cadence_queue_length{queue="extraction"}') == 0
    assert _value(text, 'cadence_screening_seconds_count{kind="recording"}') == 1  # observed in the worker process
