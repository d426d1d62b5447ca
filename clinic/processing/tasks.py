"""Celery interface of the processing stage: a task takes an id and calls a service."""

import logging

from celery import shared_task
from django.conf import settings

from clinic.processing import services

logger = logging.getLogger(__name__)


@shared_task(name="voice_features.tasks.process_recording", bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def process_recording(self, recording_id: int) -> str | None:
    try:
        return services.recording_process(recording_id=recording_id)
    except Exception as exc:
        attempts = services.Recording.objects.filter(pk=recording_id).values_list("attempts", flat=True).first() or 0
        final = attempts >= settings.CADENCE_MAX_PROCESSING_ATTEMPTS
        logger.exception("recording %s: attempt %s failed", recording_id, attempts)
        services.recording_release_for_retry(recording_id=recording_id, error=repr(exc), final=final)
        if final or self.request.is_eager:
            return services.Recording.Status.FAILED if final else None
        raise self.retry(exc=exc, countdown=min(30 * 2 ** (attempts - 1), 15 * 60))


@shared_task(name="voice_features.tasks.sweep_stale_recordings", acks_late=True)
def sweep_stale_recordings() -> int:
    ids = services.recordings_sweep_stale()
    for recording_id in ids:
        process_recording.delay(recording_id)
    return len(ids)
