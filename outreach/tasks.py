"""Celery interface of outreach: tasks take ids, call services, own their retries."""

from celery import shared_task

from outreach import reminders, services
from outreach.messages import DELIVERY_SEND_TASK


@shared_task(name=DELIVERY_SEND_TASK, bind=True, acks_late=True, max_retries=None)  # queued by name (messages.py)
def delivery_send(self, delivery_id: int) -> str:
    """Send one message; a failure is kept with its reason and retried with back-off (services decide how long)."""
    outcome = services.delivery_send(delivery_id=delivery_id)
    if outcome.retry_in_s is not None and not self.request.is_eager:  # eager (tests, embedded): the tick re-queues
        raise self.retry(countdown=outcome.retry_in_s)
    return outcome.state


@shared_task(acks_late=True)
def alerts_notify() -> int:
    """New alerts (announced by screening, or found by the minute tick) reach their care teams."""
    return services.alerts_notify()


@shared_task(acks_late=True)
def outreach_tick() -> dict:
    """Every minute: alerts not yet told, due escalations, due reminders, messages that wait or were lost."""
    return {"alerts": services.alerts_notify(), "escalations": services.alert_escalations_run(),
            "reminders": reminders.reminders_send(), "requeued": services.deliveries_requeue()}


@shared_task(acks_late=True)
def outreach_hourly() -> dict:
    return {"reengaged": reminders.reengagement_send(), "adherence": reminders.adherence_refresh()}
