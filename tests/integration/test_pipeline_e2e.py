"""End to end: a real Celery worker process, real Redis and PostgreSQL, upload through the API."""

import os
import signal
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from clinic.models import Recording
from tests.conftest import speech_wav
from tests.integration.processes import start_worker, stop, wait_final, worker_env

pytestmark = pytest.mark.integration


@pytest.fixture
def worker(postgres, live_broker, redis_url, settings, tmp_path):
    process = start_worker(worker_env(redis_url, settings), tmp_path / "worker.log")
    yield process
    stop(process)
    print((tmp_path / "worker.log").read_text()[-4000:])  # shown by pytest only when a test fails


def test_it_processes_speech_and_rejects_silence_in_a_real_worker(cast, api, worker):
    """One worker process for both outcomes (a worker start costs seconds of CPU): speech reaches done with its
    features, a silent file is rejected with a reason a person can read."""
    import io

    import numpy as np
    import soundfile as sf

    from clinic.processing.models import FeatureSet

    upload = SimpleUploadedFile("speech.wav", speech_wav(seed=11))
    response = api(cast.key_a).post("/api/v1/recordings/", {"audio": upload}, format="multipart")
    assert response.status_code == 202
    assert response.json()["status"] == "received"  # answered before processing, not after it
    assert not FeatureSet.objects.filter(recording_id=response.json()["id"]).exists()
    speech_id = response.json()["id"]

    buf = io.BytesIO()
    sf.write(buf, np.zeros(16000 * 5), 16000, format="WAV")
    response = api(cast.key_a).post("/api/v1/recordings/", {"audio": SimpleUploadedFile("s.wav", buf.getvalue())},
                                    format="multipart")
    silence_id = response.json()["id"]

    recording = wait_final(speech_id)
    assert recording.status == "done", recording.status_reason
    detail = api(cast.key_a).get(f"/api/v1/recordings/{recording.pk}/").json()
    features = detail["feature_sets"][0]["features"]
    assert 2.0 < features["speech_rate_syl_s"] < 8.0
    assert features["pause_count"] >= 1
    recording = wait_final(silence_id)
    assert recording.status == "rejected"
    assert "speech" in recording.status_reason.lower()


def test_it_retries_a_recording_whose_worker_was_killed_mid_task(cast, api, postgres, live_broker, redis_url,
                                                               settings, tmp_path):
    """SIGKILL the worker while it processes a long file: nothing half-written, the sweeper re-queues it."""
    import io

    import soundfile as sf

    from clinic.processing.models import FeatureSet
    from clinic.processing.services import recordings_sweep_stale
    from voice_features.synth import synth_speech

    env = worker_env(redis_url, settings)
    speech = synth_speech(run_durations_s=[3.0] * 15, pause_durations_s=[1.0] * 14, seed=3)  # 1 min
    buf = io.BytesIO()
    sf.write(buf, speech.samples, 16000, subtype="PCM_16", format="WAV")
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        response = api(cast.key_a).post("/api/v1/recordings/", {"audio": SimpleUploadedFile("long.wav", buf.getvalue())},
                                        format="multipart")
        recording_id = response.json()["id"]
        deadline = time.monotonic() + 60
        while Recording.objects.get(pk=recording_id).status != "processing":
            assert time.monotonic() < deadline, "the worker never claimed the recording"
            time.sleep(0.05)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        stop(worker)
    recording = Recording.objects.get(pk=recording_id)
    # Killed right after the claim, before anything was written (a 1-min file takes seconds to analyse).
    assert recording.status == "processing" and not FeatureSet.objects.filter(recording_id=recording_id).exists()

    settings.CADENCE_STALE_AFTER_S = 0
    assert recording_id in recordings_sweep_stale()
    from clinic.processing.tasks import process_recording

    process_recording.delay(recording_id)
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        recording = wait_final(recording_id, timeout_s=180)
    finally:
        stop(worker)
    assert recording.status == "done", recording.status_reason
    assert recording.attempts == 2
    assert FeatureSet.objects.filter(recording_id=recording_id).count() == 1


def test_phone_formats_reach_done_in_a_real_worker(cast, api, worker):
    """3GP/AMR-NB at its lowest and highest modes and CAF (AAC, ALAC, PCM) from iOS: decoded, analysed, done in a
    worker process. Every AMR-NB mode is decoded with its speech in place in tests/voice_features/test_codecs.py and
    accepted by the upload in tests/clinic/test_upload.py."""
    import io

    import soundfile as sf

    from tests.support import codecs

    samples, sr = sf.read(io.BytesIO(speech_wav(seed=21)), dtype="float32")
    modes = (min(codecs.AMR_NB_MODES), max(codecs.AMR_NB_MODES))
    uploads = {f"amr-{rate}.3gp": codecs.amr_nb_3gp(samples, sr, bit_rate=rate) for rate in modes}
    uploads |= {"aac.caf": codecs.caf_aac(samples, sr), "alac.caf": codecs.encode(samples, sr, fmt="caf", codec="alac"),
                "pcm.caf": codecs.encode(samples, sr, fmt="caf", codec="pcm_s16be")}
    ids = {}
    for name, data in uploads.items():
        response = api(cast.key_a).post("/api/v1/recordings/", {"audio": SimpleUploadedFile(name, data),
                                                                 "device_model": "Test Phone 1"}, format="multipart")
        assert response.status_code == 202, (name, response.json())
        ids[name] = response.json()["id"]
    for name, recording_id in ids.items():
        recording = wait_final(recording_id, timeout_s=180)
        assert recording.status == "done", (name, recording.status_reason)
        detail = api(cast.key_a).get(f"/api/v1/recordings/{recording_id}/").json()
        feature_set = detail["feature_sets"][0]
        assert 2.0 < feature_set["features"]["speech_rate_syl_s"] < 8.0, name
        assert detail["device_model"] == "Test Phone 1" and detail["bit_rate"] > 0
        if name.startswith("amr"):
            assert feature_set["features"]["jitter_local"] is None
            assert "AMR-NB" in feature_set["quality"]["withheld_features"]["jitter_local"]
