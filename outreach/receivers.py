"""Outreach's subscriptions to screening's signals (connected in ``OutreachConfig.ready``)."""

from outreach.tasks import alerts_notify
from screening.signals import alert_opened


def notify_opened_alerts(sender, *, patient_ids: list[int], **kwargs) -> None:
    alerts_notify.delay()


def connect() -> None:
    alert_opened.connect(notify_opened_alerts, dispatch_uid="outreach.alert_opened")
