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
    assert services.recording_claim(recording_id=recording.pk) is True
    assert services.recording_claim(recording_id=recording.pk) is False
    recording.refresh_from_db()
    assert (recording.status, recording.attempts) == ("processing", 1)


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
    assert FeatureSet.objects.get(recording=recording).quality["accepted"] is False


def test_it_leaves_nothing_half_written_when_extraction_crashes(received, monkeypatch):
    recording = received()

    def explode(*args, **kwargs):
        raise RuntimeError("worker died")

    monkeypatch.setattr("clinic.processing.services._extract", explode)
    assert tasks.process_recording.delay(recording.pk).get() is None
    recording.refresh_from_db()
    assert recording.status == "received"  # ready to be retried
    assert "worker died" in recording.status_reason
    assert not FeatureSet.objects.filter(recording=recording).exists()


def test_it_fails_for_good_after_the_last_attempt(received, monkeypatch, settings):
    settings.CADENCE_MAX_PROCESSING_ATTEMPTS = 2
    recording = received()
    monkeypatch.setattr("clinic.processing.services._extract", lambda r: 1 / 0)
    tasks.process_recording.delay(recording.pk)
    tasks.process_recording.delay(recording.pk)
    recording.refresh_from_db()
    assert (recording.status, recording.attempts) == ("failed", 2)
    assert "ZeroDivisionError" in recording.status_reason


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
