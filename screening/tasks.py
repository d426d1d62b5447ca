"""Celery interface of screening: tasks take ids, call services, own their retries."""

from celery import shared_task


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def screen_recording(recording_id: int) -> dict:
    from screening.services import recording_screen

    return recording_screen(recording_id=recording_id)


@shared_task(acks_late=True)
def run_screening() -> dict:
    from screening.services import run_screening as run

    return run()


@shared_task(acks_late=True)
def weekly_validation_report() -> int:
    from screening.services import validation_report_build

    return validation_report_build(trigger="weekly").pk
