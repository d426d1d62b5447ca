"""Celery interface of the processing stage: a task takes an id and calls a service."""

import logging

from celery import shared_task
from django.conf import settings

from clinic.processing import services
from clinic.services import BULK_QUEUE

logger = logging.getLogger(__name__)


#: First retry after up to 30 s, doubling per retry, never more than 15 min; full jitter so
#: recordings that failed together (a database restart) do not all come back at once.
RETRY_BACKOFF_S = 30
RETRY_BACKOFF_MAX_S = 15 * 60


@shared_task(name="voice_features.tasks.process_recording", bind=True, acks_late=True, reject_on_worker_lost=True,
             autoretry_for=(Exception,), retry_backoff=RETRY_BACKOFF_S, retry_backoff_max=RETRY_BACKOFF_MAX_S,
             retry_jitter=True, max_retries=None)
def process_recording(self, recording_id: int) -> str | None:
    """Process one recording; on error release it and let Celery retry it with backoff.

    The number of attempts is counted on the recording (a sweeper re-queue counts too), so
    the final attempt marks it failed and ends the retries. Run eagerly (tests, no broker),
    a failed attempt is released for the sweeper instead of retried in place.
    """
    try:
        return services.recording_process(recording_id=recording_id)
    except Exception as exc:
        attempts = services.Recording.objects.filter(pk=recording_id).values_list("attempts", flat=True).first() or 0
        final = attempts >= settings.CADENCE_MAX_PROCESSING_ATTEMPTS
        logger.exception("recording %s: attempt %s failed", recording_id, attempts)
        services.recording_release_for_retry(recording_id=recording_id, error=repr(exc), final=final)
        if final or self.request.is_eager:
            return services.Recording.Status.FAILED if final else None
        raise  # autoretry_for: Celery schedules the retry with the backoff above


@shared_task(name="voice_features.tasks.sweep_stale_recordings", acks_late=True)
def sweep_stale_recordings() -> int:
    ids = services.recordings_sweep_stale()
    bulk = set(services.Recording.objects.filter(pk__in=ids, bulk=True).values_list("pk", flat=True))
    for recording_id in ids:  # a demo recording goes back to its own queue, never ahead of a patient's
        if recording_id in bulk:
            process_recording.apply_async((recording_id,), queue=BULK_QUEUE)
        else:
            process_recording.delay(recording_id)
    return len(ids)
