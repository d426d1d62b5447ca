"""Celery interface of screening: tasks take ids, call services, own their retries."""

from celery import shared_task

from screening import services


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def screen_recording(recording_id: int) -> dict:
    return services.recording_screen(recording_id=recording_id)


@shared_task(acks_late=True)
def run_screening() -> dict:
    return services.run_screening()


@shared_task(acks_late=True)
def weekly_validation_report() -> int:
    return services.validation_report_build(trigger="weekly").pk


@shared_task(acks_late=True)
def monitor_models() -> int:
    from screening.monitoring.service import monitoring_run_all

    return monitoring_run_all()
