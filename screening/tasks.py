"""Celery interface of screening."""

from celery import shared_task


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def screen_recording(recording_id: int) -> None:
    from screening.services import recording_screen

    recording_screen(recording_id=recording_id)
