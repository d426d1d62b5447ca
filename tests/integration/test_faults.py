"""Faults without 500s or long stalls: a pool child and a whole worker killed with SIGKILL, Redis stopped
during uploads. Real Celery worker processes on a Redis server this test starts on a free port (never
the machine's shared Redis), real PostgreSQL, no beat.
"""

import io
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import soundfile as sf
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from clinic.models import Recording
from tests.conftest import require_service, tone_wav
from tests.integration.processes import free_port, start_worker, stop, wait_for, wait_until_listening, worker_env

pytestmark = pytest.mark.integration
WITHIN_S = 60  # the bound: done within a minute of a worker being available again


class RedisServer:
    """A redis-server of the test's own, with an append-only file so that a restart keeps the queues."""

    def __init__(self, directory: Path) -> None:
        self.directory, self.port, self.process = directory, free_port(), None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
             "--appendfsync", "always", "--dir", str(self.directory), "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_until_listening(self.port, self.process, timeout_s=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path):
    from shutil import which

    require_service("redis-server", which("redis-server") is not None, "the redis-server binary is not installed")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def on_own_redis(own_redis, postgres, settings):
    """This process's cache (throttles) and broker (enqueue) on the test's Redis, as a web process would be."""
    from config.celery_app import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": own_redis.url,
                                   "KEY_PREFIX": "cadence", "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2}}}
    app.conf.update(task_always_eager=False, broker_url=own_redis.url, broker_transport_options={})
    app._pool = app.amqp._producer_pool = None
    yield own_redis
    app.conf.update(task_always_eager=True, broker_url=settings.CELERY_BROKER_URL,
                    broker_transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    app._pool = app.amqp._producer_pool = None


def _speech(seconds: int, seed: int) -> bytes:
    from voice_features.synth import synth_speech

    runs = seconds // 4
    speech = synth_speech(run_durations_s=[3.0] * runs, pause_durations_s=[1.0] * (runs - 1), seed=seed)
    buf = io.BytesIO()
    sf.write(buf, speech.samples, 16000, subtype="PCM_16", format="WAV")
    return buf.getvalue()


def _upload(api, key, data: bytes, name: str):
    return api(key).post("/api/v1/recordings/", {"audio": SimpleUploadedFile(name, data)}, format="multipart")


def _wait(predicate, what: str, timeout_s: float = WITHIN_S):
    return wait_for(predicate, what, timeout_s)


def _claimed(recording_id: int, *, not_by: str = "") -> str:
    """The claimant (host:pid) once the recording is in processing under someone other than ``not_by``."""
    row = Recording.objects.filter(pk=recording_id, status="processing").exclude(claimed_by=not_by)
    return row.values_list("claimed_by", flat=True).first() or ""


def _final(recording_id: int) -> Recording | None:
    recording = Recording.objects.get(pk=recording_id)
    return recording if recording.status in ("done", "rejected", "failed") else None


def _metric(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def test_it_survives_killed_workers_and_a_redis_outage_without_beat(cast, api, on_own_redis, settings, tmp_path):
    log = tmp_path / "worker.log"
    env = worker_env(on_own_redis.url, settings) | {"CADENCE_LEASE_S": "5", "CADENCE_RECOVERY_INTERVAL_S": "1"}
    worker = start_worker(env, log)
    try:
        # 1. kill -9 of the pool child mid-task: the parent puts the message back, the next child takes over
        #    at once (the dead claimant's lease does not have to lapse).
        long_id = _upload(api, cast.key_a, _speech(16, seed=31), "long.wav").json()["id"]
        first = _wait(lambda: _claimed(long_id), "the worker never claimed the recording")
        os.kill(int(first.rpartition(":")[2]), signal.SIGKILL)
        killed_at = time.monotonic()
        second = _wait(lambda: _claimed(long_id, not_by=first), "no new pool process took the recording over")
        child_takeover_s = time.monotonic() - killed_at

        # 2. kill -9 of the whole worker while its new pool process works on it.
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        stop(worker)
    assert Recording.objects.get(pk=long_id).claimed_by == second

    # 3. Redis stops: uploads are stored and answered 202; throttles count locally, the hand-off waits.
    on_own_redis.stop()
    started = time.monotonic()
    outage = [_upload(api, cast.key_a, tone_wav(seconds=4, seed=40 + n), f"o{n}.wav") for n in range(4)]
    assert [r.status_code for r in outage] == [202] * 4, [r.content[:200] for r in outage]
    assert time.monotonic() - started < 20  # the broker is given up on quickly, not retried for minutes
    outage_ids = [r.json()["id"] for r in outage]
    assert Recording.objects.filter(pk__in=outage_ids, status="received", enqueue_failed_at__isnull=False).count() == 4
    metrics = Client().get("/metrics").content.decode()
    assert _metric(metrics, 'cadence_throttle_cache_failures_total{scope="upload"}') >= 4
    assert _metric(metrics, "cadence_recordings_awaiting_broker ") == 4
    assert Recording.objects.get(pk=long_id).status == "processing"  # its worker is gone, nobody has it yet

    # 4. Redis and a worker come back (no beat): everything is finished within a minute.
    on_own_redis.start()
    worker = start_worker(env, log)
    try:
        back = time.monotonic()
        finished = [_wait(lambda rid=rid: _final(rid), f"recording {rid} not finished") for rid in [long_id, *outage_ids]]
        worker_recovery_s = time.monotonic() - back
    finally:
        stop(worker)
    assert finished[0].status == "done" and finished[0].attempts == 3, finished[0].status_reason
    assert all(r.status in ("done", "rejected") and r.attempts == 1 for r in finished[1:])
    assert not Recording.objects.filter(enqueue_failed_at__isnull=False).exists()
    assert child_takeover_s < 30 and worker_recovery_s < WITHIN_S
    print(f"\nfaults: pool child killed -> taken over in {child_takeover_s:.1f} s; worker and Redis back -> all done in "
          f"{worker_recovery_s:.1f} s")
