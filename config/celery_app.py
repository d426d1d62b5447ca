"""The Celery application: settings under the CELERY_ namespace, JSON only."""

import os

from celery import Celery, signals

from clinic.metrics import TASK_FAILURES, TASK_RETRIES
from config.logging import request_id_var

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("cadence")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
def _verify_audio_keys(**kwargs) -> None:
    """A worker with a missing or wrong audio key refuses to start instead of failing every recording."""
    from clinic.storage import audio_keys_verify

    audio_keys_verify()


@signals.task_prerun.connect
def _task_request_id(task_id=None, **kwargs) -> None:
    """Worker log lines carry the task id where web lines carry the request id."""
    request_id_var.set(task_id or "-")


@signals.task_postrun.connect
def _task_request_id_clear(**kwargs) -> None:
    request_id_var.set("-")


@signals.task_failure.connect
def _count_failure(sender=None, **kwargs) -> None:
    TASK_FAILURES.labels(task=getattr(sender, "name", "unknown")).inc()


@signals.task_retry.connect
def _count_retry(sender=None, **kwargs) -> None:
    TASK_RETRIES.labels(task=getattr(sender, "name", "unknown")).inc()
