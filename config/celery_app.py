"""The Celery application: settings under the CELERY_ namespace, JSON only."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("cadence")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _verify_audio_keys(**kwargs) -> None:
    """A worker with a missing or wrong audio key refuses to start instead of failing every recording."""
    from clinic.storage import audio_keys_verify

    audio_keys_verify()
