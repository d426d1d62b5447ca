"""Celery interface of the clinical domain's data life cycle."""

from celery import shared_task

from clinic.lifecycle import audio_retention_purge


@shared_task(name="clinic.tasks.purge_expired_audio", acks_late=True)
def purge_expired_audio() -> int:
    """Beat: delete raw audio older than CADENCE_AUDIO_RETENTION_DAYS after processing (off when 0)."""
    return audio_retention_purge()
