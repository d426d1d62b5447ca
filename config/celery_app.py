"""The Celery application: settings under the CELERY_ namespace, JSON only."""

import logging
import os
import threading

from celery import Celery, signals

from clinic.metrics import TASK_FAILURES, TASK_RETRIES
from config.logging import request_id_var

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("cadence")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
logger = logging.getLogger("config.celery_app")


@signals.worker_init.connect
def _verify_audio_keys(**kwargs) -> None:
    """A worker with a missing or wrong audio key refuses to start instead of failing every recording."""
    # config.celery_app is imported by config/__init__.py before Django's apps are ready: the domain loads at run time
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


@signals.worker_ready.connect
def _start_recovery(**kwargs) -> None:
    """At start and every CADENCE_RECOVERY_INTERVAL_S, in the worker's main process: queue again what a dead
    worker or an unreachable broker left behind (clinic.processing.tasks.recover_recordings). No beat needed."""
    # config.celery_app is imported by config/__init__.py before Django's apps are ready: the domain loads at run time
    from django.conf import settings

    stop = threading.Event()
    signals.worker_shutting_down.connect(lambda **kw: stop.set(), weak=False)
    threading.Thread(target=_recover_every, args=(settings.CADENCE_RECOVERY_INTERVAL_S, stop), daemon=True,
                     name="cadence-recovery").start()


def _recover_every(interval_s: float, stop: threading.Event) -> None:
    # config.celery_app is imported by config/__init__.py before Django's apps are ready: the domain loads at run time
    from django.db import connections

    from clinic.processing.tasks import recover_recordings

    while True:
        try:
            recover_recordings()
        except Exception as exc:  # the database is down: try again at the next tick
            logger.warning("recovery: skipped (%s)", type(exc).__name__)
        finally:
            connections.close_all()
        if stop.wait(interval_s):
            return
