"""Celery interface of the processing stage: a task takes an id and calls a service."""

import logging

from celery import shared_task
from django.conf import settings

from clinic.metrics import ENQUEUE_FAILURES
from clinic.processing import services

logger = logging.getLogger(__name__)

#: The Celery queue of bulk recordings (the demo cohort); patients' own uploads go to ``extraction``. It lives
#: here, with the tasks that use it, so that clinic.services (the upload) can import this module and not the
#: reverse (no import cycle).
BULK_QUEUE = "bulk"


#: First retry after up to 30 s, doubling per retry, never more than 15 min; full jitter so
#: recordings that failed together (a database restart) do not all come back at once.
RETRY_BACKOFF_S = 30
RETRY_BACKOFF_MAX_S = 15 * 60


@shared_task(name="voice_features.tasks.process_recording", bind=True, acks_late=True, reject_on_worker_lost=True,
             autoretry_for=(Exception,), retry_backoff=RETRY_BACKOFF_S, retry_backoff_max=RETRY_BACKOFF_MAX_S,
             retry_jitter=True, max_retries=None)
def process_recording(self, recording_id: int) -> str | None:
    """Process one recording; on error release it and let Celery retry it with backoff.

    ``acks_late`` + ``reject_on_worker_lost``: the message is acknowledged only when the task ends, and a
    pool process that dies mid-task (SIGKILL, out of memory) puts it back on the queue; the delivery that
    follows takes the recording over from the dead process (its lease). Undecodable audio is rejected at
    once (no retry). The number of attempts is counted on the recording, so the final attempt marks it
    failed and ends the retries. Run eagerly (tests, no broker), a failed attempt is released for the
    sweeper instead of retried in place.
    """
    try:
        return services.recording_process(recording_id=recording_id, keep_lease=not self.request.is_eager)
    except Exception:
        attempts = services.Recording.objects.filter(pk=recording_id).values_list("attempts", flat=True).first() or 0
        final = attempts >= settings.CADENCE_MAX_PROCESSING_ATTEMPTS
        logger.exception("recording %s: attempt %s failed", recording_id, attempts)
        services.recording_release_for_retry(recording_id=recording_id, attempts=attempts, final=final)
        if final or self.request.is_eager:
            return services.Recording.Status.FAILED if final else None
        raise  # autoretry_for: Celery schedules the retry with the backoff above


def recordings_enqueue(recording_ids: list[int], *, bulk: set[int] | None = None) -> bool:
    """Queue recordings for processing; when the broker is unreachable, mark them so that a worker queues them
    again (recover_recordings) as soon as the broker is back. True when every one was queued. ``bulk``: which
    of them are bulk recordings, when the caller knows (else read from the rows)."""
    sent = []
    if bulk is None:
        bulk = set(services.Recording.objects.filter(pk__in=recording_ids, bulk=True).values_list("pk", flat=True))
    try:
        for recording_id in recording_ids:  # a demo recording goes to its own queue, never ahead of a patient's
            if recording_id in bulk:
                process_recording.apply_async((recording_id,), queue=BULK_QUEUE)
            else:
                process_recording.delay(recording_id)
            sent.append(recording_id)
    except Exception as exc:  # the broker (Redis) is down: the row and the audio are safe, the hand-off waits
        unsent = [r for r in recording_ids if r not in sent]
        ENQUEUE_FAILURES.inc(len(unsent))
        logger.warning("broker unavailable (%s): %d recording(s) will be queued again by a worker",
                       type(exc).__name__, len(unsent))
        services.recording_enqueue_failed(recording_ids=unsent)
        return False
    return True


def recover_recordings() -> int:
    """Queue again what a lost hand-off or a dead worker left behind; run by every worker at start and every
    CADENCE_RECOVERY_INTERVAL_S (config/celery_app.py), so it needs no beat. Returns how many were queued."""
    ids = services.recordings_recover()
    if ids and recordings_enqueue(ids):
        services.recordings_enqueued(recording_ids=ids)
        logger.info("recovery: queued %d recording(s) again", len(ids))
    return len(ids)


@shared_task(name="voice_features.tasks.sweep_stale_recordings", acks_late=True)
def sweep_stale_recordings() -> int:
    ids = services.recordings_sweep_stale()
    recordings_enqueue(ids)
    return len(ids)
