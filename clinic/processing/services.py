"""The processing stage of a recording: claim, decode, gate quality, extract, store."""

import logging
import os
import socket
import threading
from contextlib import nullcontext
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connections, transaction
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


def claimant_id() -> str:
    """Who holds a lease: this process, as ``host:pid`` (a restarted worker recognises its dead processes)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claimant_gone(claimant: str) -> bool:
    """True when ``claimant`` is a process of this host that no longer runs (a pool child killed by the OOM
    killer or ``kill -9``). Processes of other hosts are judged by their lease alone."""
    host, _, pid = claimant.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # a live process of another user
        return False
    return _is_zombie(int(pid))


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _lease_until() -> datetime:
    return timezone.now() + timedelta(seconds=settings.CADENCE_LEASE_S)


def _taken_over() -> Q:
    """Rows in processing whose worker is known to have stopped: the lease lapsed (or, for rows claimed before
    leases existed, processing started longer ago than CADENCE_STALE_AFTER_S)."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.CADENCE_STALE_AFTER_S)
    return Q(status=Status.PROCESSING) & (
        Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True, processing_started_at__lt=stale_before))


def _dead_claimants(recording_id: int | None = None) -> list[str]:
    """Claimants of rows in processing (one row, or all) that are processes of this host no longer running."""
    rows = Recording.objects.filter(status=Status.PROCESSING).exclude(claimed_by="")
    if recording_id is not None:
        rows = rows.filter(pk=recording_id)
    return [c for c in set(rows.values_list("claimed_by", flat=True)) if claimant_gone(c)]


def recording_claim(*, recording_id: int, claimant: str) -> bool:
    """Move a recording to processing under ``claimant``'s lease; only one worker can win (conditional update).

    A recording in processing is taken over when its lease has lapsed or its claimant process is gone, so a
    task delivered again after a worker's death continues at once instead of waiting for the stale sweep.
    """
    taken_over = _taken_over()
    dead = _dead_claimants(recording_id)
    if dead:
        taken_over |= Q(status=Status.PROCESSING, claimed_by__in=dead)
    # A recording whose processing keeps killing its worker ends failed (recordings_recover), not in a loop.
    claimable = Q(status=Status.RECEIVED) | (taken_over & Q(attempts__lt=settings.CADENCE_MAX_PROCESSING_ATTEMPTS))
    now = timezone.now()
    updated = Recording.objects.filter(claimable, pk=recording_id).update(
        status=Status.PROCESSING, processing_started_at=now, attempts=F("attempts") + 1, claimed_by=claimant,
        lease_expires_at=_lease_until(), enqueue_failed_at=None,
    )
    return updated == 1


def recording_lease_renew(*, recording_id: int, claimant: str) -> bool:
    """Extend the lease while working; False when another worker has taken the recording over."""
    return Recording.objects.filter(pk=recording_id, status=Status.PROCESSING, claimed_by=claimant).update(
        lease_expires_at=_lease_until()) == 1


class _LeaseKeeper:
    """Renews a claimed recording's lease every third of CADENCE_LEASE_S from a thread, while the work runs."""

    def __init__(self, recording_id: int, claimant: str) -> None:
        self.recording_id, self.claimant = recording_id, claimant
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{recording_id}", daemon=True)

    def __enter__(self) -> "_LeaseKeeper":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stop.wait(settings.CADENCE_LEASE_S / 3):
                try:
                    if not recording_lease_renew(recording_id=self.recording_id, claimant=self.claimant):
                        logger.warning("recording %s: lease taken over by another worker", self.recording_id)
                        return
                except Exception as exc:  # a database blip: the next renewal may succeed before the lease lapses
                    logger.warning("recording %s: lease renewal failed (%s)", self.recording_id, type(exc).__name__)
        finally:
            connections.close_all()


def _finish(recording_id: int, *, claimant: str, status: str, reason: str = "", code: str = "") -> int:
    return Recording.objects.filter(pk=recording_id, status=Status.PROCESSING, claimed_by=claimant).update(
        status=status, status_reason=reason, status_code=code, finished_at=timezone.now(), lease_expires_at=None
    )


def _extract(recording: Recording) -> dict:
    """Decode and analyse; returns the analysis as a JSON-safe dict (raises VoiceFeaturesError)."""
    # start-up: the analysis stack (Praat, scipy.signal, librosa, torch) loads in the process that extracts, not in every one that imports this module
    from voice_features.pipeline import analyse_file

    with audio_open(recording.file.name) as handle:
        return analyse_file(handle, max_duration_s=settings.CADENCE_MAX_DURATION_S,
                            emotion_registry=settings.EMOTION_MODEL_REGISTRY,
                            known_syllables=known_syllables(task=recording.task, detail=recording.task_detail),
                            task=recording.task)


def recording_process(*, recording_id: int, keep_lease: bool = True) -> str | None:
    """Process one claimed recording; returns the final status, or None when not claimable or erased.

    Bad audio, including a file that cannot be decoded, ends as ``rejected`` with its reason at once: it
    would not decode on a retry either. Any other error propagates so the task can retry; nothing is
    written until everything is computed, and only by the worker that still holds the lease.
    ``keep_lease`` renews the lease from a thread while the work runs (off when run eagerly, in a request).
    """
    claimant = claimant_id()
    if not recording_claim(recording_id=recording_id, claimant=claimant):
        return None
    recording = Recording.objects.select_related("patient").filter(pk=recording_id).first()
    if recording is None:
        return _erased(recording_id)
    try:
        with _LeaseKeeper(recording_id, claimant) if keep_lease else nullcontext():
            payload = _extract(recording)
    except VoiceFeaturesError as exc:
        _finish(recording_id, claimant=claimant, status=Status.REJECTED, reason=exc.message, code=exc.code)
        return Status.REJECTED
    except Exception:
        if not Recording.objects.filter(pk=recording_id).exists():  # erased while we read its audio
            return _erased(recording_id)
        raise
    return _store(recording, payload, claimant=claimant)


def _erased(recording_id: int) -> None:
    logger.info("recording %s was erased during processing; stopping", recording_id)
    return None


def _store(recording: Recording, payload: dict, *, claimant: str) -> str | None:
    quality = payload["quality"]
    status = Status.DONE if quality.get("accepted") else Status.REJECTED
    reason = "" if status == Status.DONE else (quality.get("rejection_reason") or "Rejected by the quality gate.")
    code = "" if status == Status.DONE else (quality.get("rejection_code") or "quality")
    with transaction.atomic():
        # Lock the row: an erasure either finished before (nothing to store) or waits for this commit.
        held = Recording.objects.select_for_update().filter(pk=recording.pk).values_list("claimed_by", "status").first()
        if held is None:
            return _erased(recording.pk)
        if held != (claimant, Status.PROCESSING):  # our lease lapsed and another worker took over (or finished)
            logger.warning("recording %s: lease lost before storing; the other worker's result stands", recording.pk)
            return None
        FeatureSet.objects.update_or_create(
            recording=recording, version=payload["version"],
            defaults={"features": payload["features"], "quality": quality, "embedding": payload.get("embedding"),
                      "emotion": payload.get("emotion")},
        )
        _finish(recording.pk, claimant=claimant, status=status, reason=reason, code=code)
        if status == Status.DONE:
            transaction.on_commit(lambda: _hand_on_to_screening(recording.pk))
    return status


def _hand_on_to_screening(recording_id: int) -> None:
    """Announce the result; screening subscribes (a failed hand-off is caught up by the nightly run)."""
    for receiver, result in recording_processed.send_robust(sender=Recording, recording_id=recording_id):
        if isinstance(result, Exception):
            logger.error("recording %s: hand-off to %s failed (%r); nightly screening will score it",
                         recording_id, getattr(receiver, "__qualname__", receiver), result)


def recording_release_for_retry(*, recording_id: int, attempts: int, final: bool) -> None:
    """After an unexpected error: back to received for a retry, or failed when out of attempts.

    The reason is a sentence for the patient and the care team; the error itself goes to the log only.
    """
    status = Status.FAILED if final else Status.RECEIVED
    reason = (f"Processing failed {attempts} times because of a problem on our side; the recording is kept, "
              "and the service's operators can process it again." if final
              else f"Attempt {attempts} failed because of a problem on our side; it will be tried again shortly.")
    Recording.objects.filter(pk=recording_id, status=Status.PROCESSING, claimed_by=claimant_id()).update(
        status=status, status_reason=reason, status_code="processing_failed" if final else "retrying",
        lease_expires_at=None, finished_at=timezone.now() if final else None)


def recordings_recover(*, received_grace_s: float = 5.0) -> list[int]:
    """Recordings to queue again now, without waiting for beat: uploads whose hand-off to the broker failed,
    and recordings in processing whose lease lapsed or whose worker process on this host is gone. Those in
    processing go back to received (so the next run does not pick them again); out of attempts, failed."""
    grace = timezone.now() - timedelta(seconds=received_grace_s)
    lost = _taken_over()
    dead = _dead_claimants()
    if dead:
        lost |= Q(status=Status.PROCESSING, claimed_by__in=dead)
    exhausted = Recording.objects.filter(lost, attempts__gte=settings.CADENCE_MAX_PROCESSING_ATTEMPTS)
    exhausted.update(status=Status.FAILED, status_reason="Processing did not finish after repeated attempts.",
                     status_code="not_finished", finished_at=timezone.now(), lease_expires_at=None)
    taken = list(Recording.objects.filter(lost).values_list("pk", flat=True))
    Recording.objects.filter(lost, pk__in=taken).update(status=Status.RECEIVED, lease_expires_at=None)
    unsent = list(Recording.objects.filter(status=Status.RECEIVED, enqueue_failed_at__lt=grace).values_list("pk", flat=True))
    if taken or unsent:
        logger.info("recovery: %d recording(s) taken over from stopped workers, %d not yet handed to the broker",
                    len(taken), len(unsent))
    return sorted({*taken, *unsent})


def recording_enqueue_failed(*, recording_ids: list[int]) -> None:
    Recording.objects.filter(pk__in=recording_ids, status=Status.RECEIVED).update(enqueue_failed_at=timezone.now())


def recordings_enqueued(*, recording_ids: list[int]) -> None:
    Recording.objects.filter(pk__in=recording_ids, enqueue_failed_at__isnull=False).update(enqueue_failed_at=None)


def recordings_sweep_stale() -> list[int]:
    """Last resort (beat, every few minutes): recordings stuck in received/processing past CADENCE_STALE_AFTER_S,
    made claimable again."""
    stale_before = timezone.now() - timedelta(seconds=settings.CADENCE_STALE_AFTER_S)
    stuck = Recording.objects.filter(
        Q(status=Status.RECEIVED, uploaded_at__lt=stale_before)
        | Q(status=Status.PROCESSING, processing_started_at__lt=stale_before)
    )
    exhausted = stuck.filter(attempts__gte=settings.CADENCE_MAX_PROCESSING_ATTEMPTS)
    exhausted.update(status=Status.FAILED, status_reason="Processing did not finish after repeated attempts.",
                     status_code="not_finished", finished_at=timezone.now(), lease_expires_at=None)
    ids = list(stuck.exclude(attempts__gte=settings.CADENCE_MAX_PROCESSING_ATTEMPTS).values_list("pk", flat=True))
    Recording.objects.filter(pk__in=ids, status=Status.PROCESSING).update(status=Status.RECEIVED, lease_expires_at=None)
    return ids
