"""The demo cohort's recordings go to their own 'bulk' queue, so a patient's upload never waits behind them
(real Redis broker and PostgreSQL; scripts/run.sh gives 'bulk' its own worker)."""

from datetime import timedelta

import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from clinic.models import Recording
from clinic.processing.tasks import sweep_stale_recordings
from clinic.services import recording_ingest
from tests.conftest import tone_wav

pytestmark = pytest.mark.integration


def _ingest(patient, seed: int, *, bulk: bool) -> Recording:
    upload = SimpleUploadedFile(f"take-{seed}.wav", tone_wav(seed=seed))
    return recording_ingest(patient=patient, upload=upload, bulk=bulk).recording


def test_demo_recordings_queue_apart_from_patients_uploads_and_the_sweeper_keeps_them_there(
        cast, postgres, live_broker, redis_url):
    queues = redis.Redis.from_url(redis_url)
    demo = [_ingest(cast.patient_b, seed, bulk=True) for seed in range(3)]
    real = _ingest(cast.patient_a, 99, bulk=False)
    assert (queues.llen("bulk"), queues.llen("extraction")) == (3, 1)
    assert [r.bulk for r in demo] == [True] * 3 and not real.bulk

    stale = timezone.now() - timedelta(hours=1)
    Recording.objects.filter(pk__in=[demo[0].pk, real.pk]).update(uploaded_at=stale)
    assert sweep_stale_recordings() == 2  # both re-sent, each to its own queue
    assert (queues.llen("bulk"), queues.llen("extraction")) == (4, 2)
