"""The processing stage of a recording: claim, decode, gate quality, extract, store."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from clinic.models import Recording
from clinic.processing.models import FeatureSet
from clinic.protocols import known_syllables
from clinic.signals import recording_processed
from clinic.storage import audio_open
from voice_features.errors import VoiceFeaturesError

logger = logging.getLogger(__name__)
Status = Recording.Status


def recording_claim(*, recording_id: int) -> bool:
    """Move a recording to processing; only one worker can win (conditional update)."""
    stale_before = timezone.now() - timedelta(seconds=settings.CADENCE_STALE_AFTER_S)
    claimable = Q(status=Status.RECEIVED) | Q(status=Status.PROCESSING, processing_started_at__lt=stale_before)
    updated = Recording.objects.filter(claimable, pk=recording_id).update(
        status=Status.PROCESSING, processing_started_at=timezone.now(), attempts=F("attempts") + 1
    )
    return updated == 1


def _finish(recording_id: int, *, status: str, reason: str = "") -> None:
    Recording.objects.filter(pk=recording_id, status=Status.PROCESSING).update(
        status=status, status_reason=reason, finished_at=timezone.now()
    )


def _extract(recording: Recording) -> dict:
    """Decode and analyse; returns the analysis as a JSON-safe dict (raises VoiceFeaturesError)."""
    from voice_features.pipeline import analyse_file

    with audio_open(recording.file.name) as handle:
        return analyse_file(handle, max_duration_s=settings.CADENCE_MAX_DURATION_S,
                            emotion_registry=settings.EMOTION_MODEL_REGISTRY,
                            known_syllables=known_syllables(task=recording.task, detail=recording.task_detail),
                            task=recording.task)


def recording_process(*, recording_id: int) -> str | None:
    """Process one claimed recording; returns the final status, or None when not claimable or erased.

    Bad audio ends as ``rejected`` with its reason. An unexpected error propagates so
    the task can retry; nothing is written until everything is computed.
    """
    if not recording_claim(recording_id=recording_id):
        return None
    recording = Recording.objects.select_related("patient").filter(pk=recording_id).first()
    if recording is None:
        return _erased(recording_id)
    try:
        payload = _extract(recording)
    except VoiceFeaturesError as exc:
        _finish(recording_id, status=Status.REJECTED, reason=exc.message)
        return Status.REJECTED
    except Exception:
        if not Recording.objects.filter(pk=recording_id).exists():  # erased while we read its audio
            return _erased(recording_id)
        raise
    return _store(recording, payload)


def _erased(recording_id: int) -> None:
    logger.info("recording %s was erased during processing; stopping", recording_id)
    return None


def _store(recording: Recording, payload: dict) -> str | None:
    quality = payload["quality"]
    status = Status.DONE if quality.get("accepted") else Status.REJECTED
    reason = "" if status == Status.DONE else (quality.get("rejection_reason") or "Rejected by the quality gate.")
    with transaction.atomic():
        # Lock the row: an erasure either finished before (nothing to store) or waits for this commit.
        if not Recording.objects.select_for_update().filter(pk=recording.pk).exists():
            return _erased(recording.pk)
        FeatureSet.objects.update_or_create(
            recording=recording, version=payload["version"],
            defaults={"features": payload["features"], "quality": quality, "embedding": payload.get("embedding"),
                      "emotion": payload.get("emotion")},
        )
        _finish(recording.pk, status=status, reason=reason)
        if status == Status.DONE:
            transaction.on_commit(lambda: _hand_on_to_screening(recording.pk))
    return status


def _hand_on_to_screening(recording_id: int) -> None:
    """Announce the result; screening subscribes (a failed hand-off is caught up by the nightly run)."""
    for receiver, result in recording_processed.send_robust(sender=Recording, recording_id=recording_id):
        if isinstance(result, Exception):
            logger.error("recording %s: hand-off to %s failed (%r); nightly screening will score it",
                         recording_id, getattr(receiver, "__qualname__", receiver), result)


def recording_release_for_retry(*, recording_id: int, error: str, final: bool) -> None:
    """After an unexpected error: back to received for a retry, or failed when out of attempts."""
    status = Status.FAILED if final else Status.RECEIVED
    reason = f"Processing failed: {error}" if final else f"Attempt failed, will retry: {error}"
    Recording.objects.filter(pk=recording_id, status=Status.PROCESSING).update(status=status, status_reason=reason[:2000])


def recordings_sweep_stale() -> list[int]:
    """Recordings stuck in received/processing past the timeout, made claimable again."""
    stale_before = timezone.now() - timedelta(seconds=settings.CADENCE_STALE_AFTER_S)
    stuck = Recording.objects.filter(
        Q(status=Status.RECEIVED, uploaded_at__lt=stale_before)
        | Q(status=Status.PROCESSING, processing_started_at__lt=stale_before)
    )
    exhausted = stuck.filter(attempts__gte=settings.CADENCE_MAX_PROCESSING_ATTEMPTS)
    exhausted.update(status=Status.FAILED, status_reason="Processing did not finish after repeated attempts.",
                     finished_at=timezone.now())
    ids = list(stuck.exclude(attempts__gte=settings.CADENCE_MAX_PROCESSING_ATTEMPTS).values_list("pk", flat=True))
    Recording.objects.filter(pk__in=ids, status=Status.PROCESSING).update(status=Status.RECEIVED)
    return ids
