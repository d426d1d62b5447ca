"""Two hosts that share only PostgreSQL, Redis and an S3 bucket (a real S3-compatible server: moto).

Each host has its own local folder, its own gunicorn web process and its own Celery worker. An
upload made through one host's web process is processed by the other host's worker, and a worker
killed mid-task leaves the recording for the other host to finish.
"""

import io
import os
import signal
import subprocess
import time

import pytest
import requests
import soundfile as sf

from clinic.models import Recording
from clinic.processing.models import FeatureSet
from tests.conftest import speech_wav
from tests.integration.processes import (
    free_port,
    start_web,
    start_worker,
    stop,
    wait_final,
    worker_env,
)

pytestmark = pytest.mark.integration
BUCKET = "cadence-recordings"


@pytest.fixture
def bucket(s3_endpoint):
    import boto3

    client = boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id="test", aws_secret_access_key="test",
                          region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    yield client
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


@pytest.fixture
def hosts(postgres, live_broker, redis_url, settings, s3_endpoint, bucket, tmp_path):
    """Host A and host B: separate local folders; shared database, broker and bucket."""

    class Host:
        def __init__(self, name: str):
            self.folder = tmp_path / name
            (self.folder / "private").mkdir(parents=True)
            self.env = worker_env(redis_url, settings) | {
                "CADENCE_VAR_DIR": str(self.folder), "CADENCE_PRIVATE_MEDIA_ROOT": str(self.folder / "private"),
                "CADENCE_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": BUCKET, "AWS_S3_ENDPOINT_URL": s3_endpoint,
                "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_S3_REGION_NAME": "us-east-1",
            }
            self.port = free_port()
            self.web = start_web(self.env, self.port, self.folder / "web.log")
            self.worker: subprocess.Popen | None = None

        def start_worker(self) -> None:
            self.worker = start_worker(self.env, self.folder / "worker.log")

        def upload(self, token: str, audio: bytes, name: str) -> int:
            response = requests.post(f"http://127.0.0.1:{self.port}/api/v1/recordings/", files={"audio": (name, audio)},
                                     headers={"Authorization": f"Bearer {token}"}, timeout=30)
            assert response.status_code == 202, response.text
            return response.json()["id"]

        def local_files(self) -> list[str]:
            return [p.name for p in (self.folder / "private").rglob("*") if p.is_file()]

        def stop(self) -> None:
            for process in (self.worker, self.web):
                if process is not None:
                    stop(process)

    a, b = Host("a"), Host("b")
    yield a, b
    a.stop(), b.stop()
    for host in (a, b):
        for log in ("web.log", "worker.log"):
            if (host.folder / log).exists():
                print(f"--- {host.folder.name}/{log}\n" + (host.folder / log).read_text()[-3000:])


def _one_minute_of_speech() -> bytes:
    from voice_features.synth import synth_speech

    speech = synth_speech(run_durations_s=[3.0] * 15, pause_durations_s=[1.0] * 14, seed=5)
    buf = io.BytesIO()
    sf.write(buf, speech.samples, 16000, subtype="PCM_16", format="WAV")
    return buf.getvalue()


def test_it_processes_uploads_made_through_the_other_hosts_web_process(cast, hosts, bucket):
    a, b = hosts
    b.start_worker()
    through_a = a.upload(cast.key_a, speech_wav(seed=21), "a.wav")
    assert wait_final(through_a).status == "done"

    stop(b.worker)
    a.start_worker()
    through_b = b.upload(cast.key_a, speech_wav(seed=22), "b.wav")
    assert wait_final(through_b).status == "done"

    stored = [item["Key"] for item in bucket.list_objects_v2(Bucket=BUCKET).get("Contents", [])
              if not item["Key"].endswith("audio-key-check.bin")]
    assert len(stored) == 2 and all(key.endswith(".enc") for key in stored), stored  # encrypted before it left the host
    assert a.local_files() == [] and b.local_files() == []  # nothing of the audio on either host's disk
    assert FeatureSet.objects.filter(recording_id__in=[through_a, through_b]).count() == 2


def test_it_loses_nothing_when_one_hosts_worker_dies_mid_task(cast, hosts, settings):
    from clinic.processing.services import recordings_sweep_stale
    from clinic.processing.tasks import process_recording

    a, b = hosts
    a.start_worker()
    recording_id = b.upload(cast.key_a, _one_minute_of_speech(), "long.wav")
    deadline = time.monotonic() + 60
    while Recording.objects.get(pk=recording_id).status != "processing":
        assert time.monotonic() < deadline, "host A's worker never claimed the recording"
        time.sleep(0.05)
    os.killpg(a.worker.pid, signal.SIGKILL)
    a.worker.wait(timeout=10)
    assert not FeatureSet.objects.filter(recording_id=recording_id).exists()

    settings.CADENCE_STALE_AFTER_S = 0
    assert recording_id in recordings_sweep_stale()
    process_recording.delay(recording_id)
    b.start_worker()
    recording = wait_final(recording_id, timeout_s=180)
    assert recording.status == "done", recording.status_reason
    assert recording.attempts == 2
    assert FeatureSet.objects.filter(recording_id=recording_id).count() == 1
