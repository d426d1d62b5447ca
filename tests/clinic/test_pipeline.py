"""The processing stage: atomic claim, quality gate, retries, sweeper, nothing half-written."""

from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from clinic.models import Recording
from clinic.processing import services, tasks
from clinic.processing.models import FeatureSet
from clinic.services import recording_ingest
from tests.conftest import speech_wav, tone_wav


@pytest.fixture
def received(cast):
    def make(data: bytes | None = None, seed: int = 0) -> Recording:
        upload = SimpleUploadedFile("r.wav", data or speech_wav(seed=seed))
        with pytest.MonkeyPatch.context() as patch:  # only the upload's own enqueue: the tests send the task
            patch.setattr("clinic.processing.tasks.process_recording.delay", lambda recording_id: None)
            return recording_ingest(patient=cast.patient_a, upload=upload).recording

    return make


def test_it_claims_a_recording_only_once(received):
    recording = received()
    assert services.recording_claim(recording_id=recording.pk, claimant="host-a:1") is True
    assert services.recording_claim(recording_id=recording.pk, claimant="host-b:1") is False
    recording.refresh_from_db()
    assert (recording.status, recording.attempts, recording.claimed_by) == ("processing", 1, "host-a:1")
    assert recording.lease_expires_at > timezone.now()


def test_it_takes_over_a_recording_whose_lease_lapsed(received, settings):
    recording = received()
    assert services.recording_claim(recording_id=recording.pk, claimant="host-a:1")
    assert services.recording_lease_renew(recording_id=recording.pk, claimant="host-a:1")
    assert not services.recording_claim(recording_id=recording.pk, claimant="host-b:1")  # the lease holds
    Recording.objects.filter(pk=recording.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert services.recording_claim(recording_id=recording.pk, claimant="host-b:1")
    assert not services.recording_lease_renew(recording_id=recording.pk, claimant="host-a:1")  # a-s lease is gone
    recording.refresh_from_db()
    assert (recording.claimed_by, recording.attempts) == ("host-b:1", 2)


def test_it_takes_over_at_once_from_a_dead_process_of_this_host(received):
    import socket
    import subprocess
    import sys

    recording = received()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        services.recording_claim(recording_id=recording.pk, claimant=f"{socket.gethostname()}:{alive.pid}")
        assert not services.recording_claim(recording_id=recording.pk, claimant="me:2")  # its claimant still runs
        Recording.objects.filter(pk=recording.pk).update(claimed_by=f"{socket.gethostname()}:{gone.stdout.strip()}")
        assert services.recording_claim(recording_id=recording.pk, claimant="me:2")  # lease not lapsed, owner dead
    finally:
        alive.kill()
        alive.wait()


def test_it_stores_nothing_after_another_worker_took_the_recording_over(received, monkeypatch):
    recording = received()

    def slow_extract(r):  # meanwhile the lease lapsed and another worker took over
        Recording.objects.filter(pk=r.pk).update(claimed_by="other-host:7")
        return {"quality": {"accepted": True}, "version": "v", "features": {}}

    monkeypatch.setattr("clinic.processing.services._extract", slow_extract)
    assert services.recording_process(recording_id=recording.pk, keep_lease=False) is None
    assert not FeatureSet.objects.filter(recording=recording).exists()
    assert Recording.objects.get(pk=recording.pk).status == "processing"


def test_it_renews_the_lease_while_the_work_runs(received, monkeypatch, settings, transactional_db):
    import time

    settings.CADENCE_LEASE_S = 0.3
    recording = received()
    seen = []

    def slow_extract(r):
        for _ in range(4):
            time.sleep(0.2)
            seen.append(Recording.objects.get(pk=r.pk).lease_expires_at)
        return {"quality": {"accepted": False, "rejection_reason": "No speech was found."}, "version": "v",
                "features": {}}

    monkeypatch.setattr("clinic.processing.services._extract", slow_extract)
    monkeypatch.setattr("clinic.processing.services._hand_on_to_screening", lambda rid: None)
    assert services.recording_process(recording_id=recording.pk) == "rejected"
    assert all(lease > timezone.now() - timedelta(seconds=0.35) for lease in seen[1:])  # never lapsed
    assert len(set(seen)) >= 3  # renewed, not set once


def test_it_processes_speech_to_done_with_versioned_features(received, monkeypatch,
                                                            django_capture_on_commit_callbacks):
    handed_on = []
    monkeypatch.setattr("clinic.processing.services._hand_on_to_screening", handed_on.append)
    recording = received()
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.process_recording.delay(recording.pk).get() == "done"
    recording.refresh_from_db()
    assert recording.status == "done" and recording.finished_at is not None
    feature_set = FeatureSet.objects.get(recording=recording)
    from voice_features import FEATURE_NAMES, FEATURE_SET_VERSION

    assert feature_set.version == FEATURE_SET_VERSION
    assert set(FEATURE_NAMES) <= set(feature_set.features)
    assert handed_on == [recording.pk]


def test_it_rejects_a_tone_or_silence_with_a_reason(received, monkeypatch):
    import io

    import numpy as np
    import soundfile as sf

    monkeypatch.setattr("clinic.processing.services._hand_on_to_screening", lambda rid: None)
    buf = io.BytesIO()
    sf.write(buf, np.zeros(16000 * 6), 16000, format="WAV")
    recording = received(buf.getvalue())
    assert services.recording_process(recording_id=recording.pk) == "rejected"
    recording.refresh_from_db()
    assert recording.status == "rejected" and "speech" in recording.status_reason.lower()
    assert recording.status_code == "no_speech"
    assert FeatureSet.objects.get(recording=recording).quality["accepted"] is False


def test_it_leaves_nothing_half_written_when_extraction_crashes(received, monkeypatch):
    recording = received()

    def explode(*args, **kwargs):
        raise RuntimeError("worker died")

    monkeypatch.setattr("clinic.processing.services._extract", explode)
    assert tasks.process_recording.delay(recording.pk).get() is None
    recording.refresh_from_db()
    assert recording.status == "received"  # ready to be retried
    assert "problem on our side" in recording.status_reason and "worker died" not in recording.status_reason
    assert not FeatureSet.objects.filter(recording=recording).exists()


def test_it_fails_for_good_after_the_last_attempt(received, monkeypatch, settings):
    settings.CADENCE_MAX_PROCESSING_ATTEMPTS = 2
    recording = received()
    monkeypatch.setattr("clinic.processing.services._extract", lambda r: 1 / 0)
    tasks.process_recording.delay(recording.pk)
    tasks.process_recording.delay(recording.pk)
    recording.refresh_from_db()
    assert (recording.status, recording.attempts) == ("failed", 2)
    assert "failed 2 times" in recording.status_reason and "Zero" not in recording.status_reason
    assert recording.status_code == "processing_failed"


def test_it_has_celery_retry_a_failed_attempt_with_backoff(received, monkeypatch):
    recording = received()
    monkeypatch.setattr("clinic.processing.services._extract", lambda r: 1 / 0)
    scheduled = {}

    def retry(**kwargs):
        scheduled.update(kwargs)
        raise Retry()

    monkeypatch.setattr(tasks.process_recording, "retry", retry)
    with pytest.raises(Retry):
        tasks.process_recording.run(recording.pk)  # as a worker runs it: not eager
    recording.refresh_from_db()
    assert recording.status == "received" and recording.attempts == 1
    assert isinstance(scheduled["exc"], ZeroDivisionError)
    assert 0 <= scheduled["countdown"] <= tasks.RETRY_BACKOFF_S


def test_it_sweeps_recordings_a_dead_worker_left_behind(received, monkeypatch, settings):
    monkeypatch.setattr("clinic.processing.services._hand_on_to_screening", lambda rid: None)
    stuck, lost, fresh = received(seed=1), received(seed=2), received(seed=3)
    long_ago = timezone.now() - timedelta(seconds=settings.CADENCE_STALE_AFTER_S + 60)
    Recording.objects.filter(pk=stuck.pk).update(status="processing", processing_started_at=long_ago, attempts=1)
    Recording.objects.filter(pk=lost.pk).update(uploaded_at=long_ago)
    assert tasks.sweep_stale_recordings.delay().get() == 2
    statuses = dict(Recording.objects.values_list("pk", "status"))
    assert statuses[stuck.pk] == "done" and statuses[lost.pk] == "done"
    assert statuses[fresh.pk] == "received"


def test_it_never_crashes_on_a_short_decoded_file(received, monkeypatch):
    monkeypatch.setattr("clinic.processing.services._hand_on_to_screening", lambda rid: None)
    recording = received(tone_wav(seconds=3.2))
    assert services.recording_process(recording_id=recording.pk) in ("rejected", "done")


def test_it_rejects_a_truncated_flac_at_once_without_retrying(received, monkeypatch):
    import io

    import soundfile as sf

    samples, sr = sf.read(io.BytesIO(speech_wav(seed=4)))
    buf = io.BytesIO()
    sf.write(buf, samples, sr, format="FLAC")
    recording = received(buf.getvalue()[: len(buf.getvalue()) // 2])  # the header passes the upload probe
    monkeypatch.setattr(tasks.process_recording, "retry", lambda **kw: pytest.fail("a cut-off file was retried"))
    assert tasks.process_recording.run(recording.pk) == "rejected"  # as a worker runs it: retries possible
    recording.refresh_from_db()
    assert (recording.status, recording.attempts) == ("rejected", 1)
    assert recording.status_reason.startswith("The FLAC file is cut short") and recording.status_code == "truncated"
    assert "Libsndfile" not in recording.status_reason and "158" not in recording.status_reason


def test_it_queues_again_what_the_broker_did_not_take_and_what_a_dead_worker_held(received, monkeypatch):
    unsent, held, fresh = received(seed=5), received(seed=6), received(seed=7)
    services.recording_enqueue_failed(recording_ids=[unsent.pk])
    Recording.objects.filter(pk=unsent.pk).update(enqueue_failed_at=timezone.now() - timedelta(seconds=10))
    services.recording_claim(recording_id=held.pk, claimant="other-host:9")
    Recording.objects.filter(pk=held.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    queued = []
    monkeypatch.setattr(tasks.process_recording, "delay", queued.append)
    assert tasks.recover_recordings() == 2
    assert sorted(queued) == sorted([unsent.pk, held.pk])
    assert Recording.objects.get(pk=held.pk).status == "received"
    assert Recording.objects.get(pk=unsent.pk).enqueue_failed_at is None
    assert tasks.recover_recordings() == 0  # queued once, not at every tick
    assert Recording.objects.get(pk=fresh.pk).status == "received"
