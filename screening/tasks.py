"""Celery interface of screening: tasks take ids, call services, own their retries."""

from celery import shared_task

from screening import modeling, services


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def screen_recording(recording_id: int) -> dict:
    return services.recording_screen(recording_id=recording_id)


@shared_task(acks_late=True)
def run_screening() -> dict:
    return services.run_screening()


@shared_task(acks_late=True)
def weekly_validation_report() -> int:
    return modeling.validation_report_build(trigger="weekly").pk


@shared_task(acks_late=True)
def build_validation_report(care_team_ids: list[int] | None = None, trigger: str = "api") -> int:
    """A report asked for through the API or the dashboard: these care teams' patients, or every team's."""
    return modeling.validation_report_build(trigger=trigger, care_team_ids=care_team_ids).pk


@shared_task(name="screening.tasks.build_bulk_export", acks_late=True)
def build_bulk_export(export_id: int) -> str:
    from screening.export import bulk_export_build

    return bulk_export_build(export_id=export_id).status


@shared_task(acks_late=True)
def monitor_models() -> int:
    from screening.monitoring.service import monitoring_run_all

    return monitoring_run_all()
