"""Celery interface of screening: tasks take ids, call services, own their retries."""

from datetime import datetime

from celery import shared_task

from screening.export import bulk_export_build
from screening.monitoring.service import monitoring_run_all
from screening.nightly import services
from screening.reports.services import validation_report_build


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def screen_recording(recording_id: int) -> dict:
    return services.recording_screen(recording_id=recording_id)


@shared_task(acks_late=True)
def run_screening() -> dict:
    """The nightly run: each chunk of patients goes to the screening queue as its own task, so the night is
    shared by every screening worker (docs/operations.md, "Nightly screening at scale")."""
    return services.run_screening(dispatch=lambda ids, now: screen_patients.delay(ids, now.isoformat()))


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def screen_patients(patient_ids: list[int], now: str) -> dict:
    """One chunk of the nightly run. Idempotent (a chunk re-run stores the same results), so a worker lost
    mid-chunk leaves it to be redelivered and run again."""
    return services.chunk_screen(patient_ids=patient_ids, now=datetime.fromisoformat(now))


@shared_task(acks_late=True)
def weekly_validation_report() -> int:
    return validation_report_build(trigger="weekly").pk


@shared_task(acks_late=True)
def build_validation_report(care_team_ids: list[int] | None = None, trigger: str = "api") -> int:
    """A report asked for through the API or the dashboard: these care teams' patients, or every team's."""
    return validation_report_build(trigger=trigger, care_team_ids=care_team_ids).pk


def validation_report_request(*, care_team_ids: list[int] | None = None, trigger: str = "api") -> None:
    """Queue a report build for these care teams (None: every team); a web request never builds one."""
    build_validation_report.delay(care_team_ids=care_team_ids, trigger=trigger)


@shared_task(name="screening.tasks.build_bulk_export", acks_late=True)
def build_bulk_export(export_id: int) -> str:
    return bulk_export_build(export_id=export_id).status


@shared_task(acks_late=True)
def monitor_models() -> int:
    return monitoring_run_all()
