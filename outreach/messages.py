"""Outreach messages shared by the alert side (``outreach.services``) and the patient side
(``outreach.reminders``): building a message, storing it and queueing those already due, the link and language
it is written with.

Messages that leave the server carry no patient code, score or answer: only the care team's name and a link
built from ``CADENCE_BASE_URL``.
"""

from datetime import datetime
from urllib.parse import urljoin

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clinic.accounts import staff_language
from clinic.languages import supported_language
from clinic.models import Patient
from outreach.models import Delivery
from screening.models import Alert

__all__ = ["DELIVERY_SEND_TASK", "OutreachError", "deliveries_create", "enqueue", "language_of", "link", "message"]


class OutreachError(Exception):
    """A setting cannot be saved as asked; the text says why."""


def link(path: str) -> str:
    return urljoin(settings.CADENCE_BASE_URL.rstrip("/") + "/", path.lstrip("/"))


def language_of(user=None, patient: Patient | None = None) -> str:
    """The language a message is written in: its recipient's (a clinician's StaffProfile, a patient's own), else the
    deployment's default (on-call addresses and team webhooks have no language of their own)."""
    code = staff_language(user) if user is not None else patient.language if patient is not None else ""
    return supported_language(code) or settings.LANGUAGE_CODE


# ---------------------------------------------------------------- creating and queueing messages


#: The Celery task that sends one message (``outreach.tasks.delivery_send``), looked up by this name in Celery's
#: registry instead of imported. Sending is recursive: the task calls ``services.delivery_send``, which, when a
#: phone's push subscription is gone, stores fallback messages through ``deliveries_create`` below, which queue
#: through the same task. An import here would close that loop into an import cycle (tasks -> services ->
#: messages -> tasks) whatever the modules were called; naming the task keeps the imports one-way (the
#: ``outreach-layers`` contract in .importlinter) and still runs it in place when CELERY_TASK_ALWAYS_EAGER is on
#: (the registry holds the task object itself; ``send_task`` would not). ``OutreachConfig.ready`` imports the
#: tasks, so every process (web, worker, shell) has them registered.
DELIVERY_SEND_TASK = "outreach.tasks.delivery_send"


def enqueue(delivery_ids: list[int]) -> None:
    task = current_app.tasks[DELIVERY_SEND_TASK]
    now = timezone.now()
    for pk in delivery_ids:
        task.delay(pk)
    Delivery.objects.filter(pk__in=delivery_ids).update(queued_at=now)


def deliveries_create(deliveries: list[Delivery], *, alerts: list[Alert] = (), now: datetime) -> list[Delivery]:
    """Store the messages, then queue those already due once the transaction commits."""
    if not deliveries:
        return []
    Delivery.objects.bulk_create(deliveries)
    if alerts:
        through = Delivery.alerts.through
        through.objects.bulk_create([through(delivery_id=d.pk, alert_id=a.pk) for d in deliveries for a in alerts])
    due = [d.pk for d in deliveries if d.due_at <= now and d.state == Delivery.State.PENDING]
    if due:
        transaction.on_commit(lambda: enqueue(due))
    return deliveries


def message(**fields) -> Delivery:
    now = fields.pop("now")
    return Delivery(created_at=now, due_at=fields.pop("due_at", None) or now, **fields)

