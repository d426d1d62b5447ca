"""Outreach writes on the care team's side: tell the team about new alerts, escalate urgent ones, send and retry
messages (the patients' too), team channels and opt-outs. Patient reminders live in ``outreach.reminders``.

Messages that leave the server carry no patient code, score or answer: only the care team's name and a link
built from ``CADENCE_BASE_URL``.
"""

import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from clinic.models import AuditEvent, CareTeam, Membership
from outreach import selectors, transport
from outreach.messages import OutreachError, deliveries_create, enqueue, language_of, link, message
from outreach.models import AlertNotice, AlertOptOut, Delivery, TeamChannel
from outreach.reminders import fallback_messages, push_subscription_revoke
from outreach.urgency import is_urgent
from screening.alerts.kinds import Silence, kind_spec
from screening.models import Alert

logger = logging.getLogger(__name__)

__all__ = ["OutreachError", "SendOutcome", "alert_escalations_run", "alerts_notify", "delivery_retry",
           "delivery_send", "deliveries_requeue", "opt_out_set", "quiet_until", "team_channel_set"]


def _audit(*, alert: Alert, resource: str, text: str) -> None:
    AuditEvent.objects.create(actor=None, action=AuditEvent.Action.CREATE, resource=resource,
                              object_id=str(alert.pk), patient_code=alert.patient.code, path=f"outreach: {text}"[:512])


def _webhook_payload(*, event: str, urgent: bool, team: CareTeam, url: str, count: int, **extra) -> dict:
    return {"event": event, "urgency": "urgent" if urgent else "routine", "care_team": team.name, "alerts": count,
            "link": url, **extra}


# ---------------------------------------------------------------- quiet hours


def quiet_until(channel: TeamChannel | None, now: datetime) -> datetime | None:
    """The end of the team's quiet hours when ``now`` falls inside them, else None."""
    if channel is None or channel.quiet_start is None or channel.quiet_end is None or \
            channel.quiet_start == channel.quiet_end:
        return None
    tz = selectors.zone(channel.time_zone)
    local = now.astimezone(tz)
    start, end, t = channel.quiet_start, channel.quiet_end, local.time()
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=tz)


# ---------------------------------------------------------------- alerts: the first notice


def _alert_messages(*, team: CareTeam, alerts: list[Alert], urgent: bool, now: datetime) -> list[Delivery]:
    channel = selectors.team_channel(team.pk)
    due = None if urgent else quiet_until(channel, now)
    url = link(reverse("dashboard:alert", args=[alerts[0].pk]) if len(alerts) == 1 else reverse("dashboard:alerts"))

    def text(user=None) -> tuple[str, str]:
        with translation.override(language_of(user)):
            if urgent:
                subject = _("Urgent alert for your care team")
                body = _("An urgent alert is waiting for your care team %(team)s: %(link)s") % {
                    "team": team.name, "link": url}
            else:
                subject = _("New alerts for your care team")
                body = ngettext("A new alert is waiting for your care team %(team)s: %(link)s",
                                "%(count)d new alerts are waiting for your care team %(team)s: %(link)s",
                                len(alerts)) % {"count": len(alerts), "team": team.name, "link": url}
            body += "\n\n" + _("This message carries no patient details; sign in to Cadence to read the alert.")
        return subject, body

    subject, body = text()
    purpose = Delivery.Purpose.ALERT
    messages = []
    recipients: dict[int, tuple[Membership, list[Alert]]] = {}
    for alert in alerts:
        for member in selectors.alert_email_recipients(care_team_id=team.pk, kind=alert.kind):
            recipients.setdefault(member.pk, (member, []))[1].append(alert)
    if urgent and not recipients:  # nobody reachable: the leads, then on-call, at once
        members = selectors.lead_recipients(team.pk)
        recipients = {m.pk: (m, alerts) for m in members}
    for member, _mine in recipients.values():
        own_subject, own_body = text(member.user)
        messages.append(message(channel=Delivery.Channel.EMAIL, purpose=purpose, recipient=member.user.email,
                                 user=member.user, care_team=team, subject=own_subject, body=own_body, due_at=due,
                                 now=now))
    if urgent and not recipients and settings.CADENCE_ONCALL_EMAIL:
        messages.append(message(channel=Delivery.Channel.EMAIL, purpose=purpose,
                                 recipient=settings.CADENCE_ONCALL_EMAIL, care_team=team, subject=subject, body=body,
                                 now=now))
    if channel is not None and channel.webhook_url:
        messages.append(message(channel=Delivery.Channel.WEBHOOK, purpose=purpose, recipient=channel.webhook_url,
                                 care_team=team, subject=subject, body=body, due_at=due, now=now,
                                 payload=_webhook_payload(event="alert.opened", urgent=urgent, team=team, url=url,
                                                          count=len(alerts))))
    if not messages:
        messages.append(message(channel=Delivery.Channel.EMAIL, purpose=purpose, recipient="", care_team=team,
                                 subject=subject, body=body, now=now, state=Delivery.State.FAILED,
                                 reason=_("Nobody in the care team can be reached: no clinician has an e-mail "
                                          "address (or all muted this kind) and the team has no webhook.")))
    return messages


def _notice(alert: Alert, now: datetime) -> AlertNotice | None:
    """Claim the alert for notification; None when another worker already has."""
    urgent = is_urgent(alert.kind)
    delay = timedelta(minutes=settings.CADENCE_ESCALATE_AFTER_MIN)
    notice, created = AlertNotice.objects.get_or_create(alert=alert, defaults={
        "urgent": urgent, "created_at": now, "next_escalation_at": alert.created_at + delay if urgent else None})
    return notice if created else None


def alerts_notify(*, now: datetime | None = None) -> int:
    """Tell each care team about its alerts opened since the last call: each urgent alert at once and at any
    hour; non-urgent ones together, one message per clinician, after the team's quiet hours. Returns alerts told."""
    now = now or timezone.now()
    window = now - timedelta(hours=settings.CADENCE_ALERT_NOTIFY_WINDOW_H)
    fresh = list(Alert.objects.filter(state=Alert.State.OPEN, created_at__gte=window, notice__isnull=True)
                 .select_related("patient__care_team").order_by("pk"))
    routine: dict[int, list[Alert]] = defaultdict(list)
    told = 0
    for alert in fresh:
        with transaction.atomic():
            notice = _notice(alert, now)
            if notice is None:
                continue
            told += 1
            team = alert.patient.care_team
            if not notice.urgent:
                routine[team.pk].append(alert)
                continue
            sent = deliveries_create(_alert_messages(team=team, alerts=[alert], urgent=True, now=now), alerts=[alert], now=now)
            _step(notice, alert, now=now, text=_("Care team notified: %(n)s") % {"n": _summary(sent)})
    for alerts in routine.values():
        team = alerts[0].patient.care_team
        with transaction.atomic():
            sent = deliveries_create(_alert_messages(team=team, alerts=alerts, urgent=False, now=now), alerts=alerts, now=now)
            for alert in alerts:
                _step(AlertNotice.objects.get(alert=alert), alert, now=now,
                      text=_("Care team notified: %(n)s") % {"n": _summary(sent)})
    return told


def _summary(deliveries: list[Delivery]) -> str:
    emails = sum(1 for d in deliveries if d.channel == Delivery.Channel.EMAIL and d.recipient)
    webhooks = sum(1 for d in deliveries if d.channel == Delivery.Channel.WEBHOOK)
    parts = [ngettext("%d e-mail", "%d e-mails", emails) % emails] if emails else []
    if webhooks:
        parts.append(_("the team webhook"))
    later = [d.due_at for d in deliveries if d.due_at > d.created_at]
    if later:
        parts.append(_("held until %(t)s UTC (quiet hours)") % {"t": f"{min(later):%Y-%m-%d %H:%M}"})
    return ", ".join(parts) or _("nobody could be reached")


def _step(notice: AlertNotice, alert: Alert, *, now: datetime, text: str, resource: str = "alert_notification") -> None:
    notice.steps = [*notice.steps, {"at": now.isoformat(), "when": f"{now:%Y-%m-%d %H:%M} UTC", "stage": notice.stage,
                                    "text": text}]
    AlertNotice.objects.filter(pk=notice.pk).update(steps=notice.steps)
    _audit(alert=alert, resource=resource, text=text)


# ---------------------------------------------------------------- escalation


def _escalation_messages(*, alert: Alert, stage: int, now: datetime) -> list[Delivery]:
    team = alert.patient.care_team
    minutes = round((now - alert.created_at).total_seconds() / 60)
    url = link(reverse("dashboard:alert", args=[alert.pk]))

    def text(user=None) -> tuple[str, str]:
        with translation.override(language_of(user)):
            subject = _("Escalated: urgent alert not acknowledged")
            body = _("An urgent alert for the care team %(team)s has not been acknowledged for %(minutes)d minutes: "
                     "%(link)s") % {"team": team.name, "minutes": minutes, "link": url}
            body += "\n\n" + _("This message carries no patient details; sign in to Cadence to read the alert.")
        return subject, body

    subject, body = text()
    if stage == AlertNotice.Stage.LEADS:
        to = [(m.user.email, m.user) for m in selectors.lead_recipients(team.pk)]
    else:
        to = [(settings.CADENCE_ONCALL_EMAIL, None)] if settings.CADENCE_ONCALL_EMAIL else []
    messages = [message(channel=Delivery.Channel.EMAIL, purpose=Delivery.Purpose.ESCALATION, recipient=address,
                         user=user, care_team=team, subject=own[0], body=own[1], now=now)
                for address, user in to for own in [text(user)]]
    channel = selectors.team_channel(team.pk)
    if channel is not None and channel.webhook_url:
        messages.append(message(
            channel=Delivery.Channel.WEBHOOK, purpose=Delivery.Purpose.ESCALATION, recipient=channel.webhook_url,
            care_team=team, subject=subject, body=body, now=now,
            payload=_webhook_payload(event="alert.escalated", urgent=True, team=team, url=url, count=1,
                                     escalation="leads" if stage == AlertNotice.Stage.LEADS else "on_call")))
    return messages


def alert_escalations_run(*, now: datetime | None = None) -> int:
    """Escalate each urgent alert still open when its step falls due; an acknowledged one stops. Returns steps."""
    now = now or timezone.now()
    steps = 0
    for notice in AlertNotice.objects.filter(next_escalation_at__lte=now).select_related("alert__patient__care_team"):
        alert = notice.alert
        with transaction.atomic():
            if alert.state != Alert.State.OPEN:
                if AlertNotice.objects.filter(pk=notice.pk, stage=notice.stage).update(
                        next_escalation_at=None, escalation_stopped_at=now) == 1:
                    who = alert.acknowledged_by.get_username() if alert.acknowledged_by else _("someone")
                    _step(notice, alert, now=now, resource="alert_escalation",
                          text=_("Escalation stopped: the alert was %(state)s by %(who)s") % {
                              "state": alert.get_state_display().lower(), "who": who})
                continue
            stage = notice.stage + 1
            later = now + timedelta(minutes=settings.CADENCE_ESCALATE_AFTER_MIN)
            claimed = AlertNotice.objects.filter(pk=notice.pk, stage=notice.stage).update(
                stage=stage, next_escalation_at=later if stage < AlertNotice.Stage.ON_CALL else None)
            if claimed != 1:
                continue
            notice.stage = stage
            sent = deliveries_create(_escalation_messages(alert=alert, stage=stage, now=now), alerts=[alert], now=now)
            target = _("the team leads") if stage == AlertNotice.Stage.LEADS else _("the on-call address")
            _step(notice, alert, now=now, resource="alert_escalation",
                  text=_("Not acknowledged: escalated to %(target)s (%(n)s)") % {
                      "target": target, "n": _summary(sent) if sent else _("nobody to reach there")})
            steps += 1
    return steps


# ---------------------------------------------------------------- sending


@dataclass(frozen=True)
class SendOutcome:
    state: str
    retry_in_s: int | None = None


def _backoff(attempts: int) -> int:
    return min(settings.CADENCE_OUTREACH_BACKOFF_S * 2 ** max(attempts - 1, 0), 3600)


def _superseded(delivery: Delivery) -> str:
    """Why an alert message no longer needs sending (its alerts were handled meanwhile), else ""."""
    if delivery.purpose not in (Delivery.Purpose.ALERT, Delivery.Purpose.ESCALATION):
        return ""
    states = set(delivery.alerts.values_list("state", flat=True))
    if states and Alert.State.OPEN not in states:
        return _("Not sent: the alert was acknowledged before the message went out.")
    return ""


def _transmit(delivery: Delivery) -> None:
    if delivery.channel == Delivery.Channel.EMAIL:
        if not delivery.recipient:
            raise transport.DeliveryError(delivery.reason or _("There is no address to send to."))
        transport.email_send(to=delivery.recipient, subject=delivery.subject, body=delivery.body)
    elif delivery.channel == Delivery.Channel.WEBHOOK:
        transport.webhook_send(url=delivery.recipient, secret=_webhook_secret(delivery),
                               payload=delivery.payload | {"id": str(delivery.public_id)},
                               delivery_id=str(delivery.public_id))
    else:
        sub = delivery.subscription
        if sub is None or sub.revoked_at is not None:
            raise transport.SubscriptionGone(_("The push subscription was removed."))
        transport.push_send(endpoint=sub.endpoint, p256dh=sub.p256dh, auth=sub.auth, ttl_s=12 * 3600,
                            payload=delivery.payload | {"delivery": str(delivery.public_id)})


def _webhook_secret(delivery: Delivery) -> str:
    if delivery.patient_id is not None:
        return settings.CADENCE_REMINDER_WEBHOOK_SECRET
    channel = selectors.team_channel(delivery.care_team_id)
    return channel.webhook_secret if channel else ""


def delivery_send(*, delivery_id: int, now: datetime | None = None) -> SendOutcome:
    """Send one message; on failure keep it with the reason and say when to try again (or that it failed)."""
    now = now or timezone.now()
    claimed = Delivery.objects.filter(pk=delivery_id, state__in=[Delivery.State.PENDING, Delivery.State.RETRYING]).update(
        state=Delivery.State.SENDING, attempts=F("attempts") + 1, queued_at=now)
    delivery = Delivery.objects.select_related("subscription").get(pk=delivery_id)
    if claimed != 1:
        return SendOutcome(delivery.state)
    why_not = _superseded(delivery)
    if why_not:
        Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.CANCELLED, reason=why_not)
        return SendOutcome(Delivery.State.CANCELLED)
    try:
        _transmit(delivery)
    except transport.SubscriptionGone as exc:
        Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.FAILED, reason=str(exc)[:300])
        if delivery.subscription_id:
            push_subscription_revoke(subscription_id=delivery.subscription_id, reason=str(exc), now=now)
        fallback_made = Delivery.objects.filter(patient_id=delivery.patient_id, purpose=delivery.purpose,
                                                slot=delivery.slot).exclude(channel=Delivery.Channel.PUSH).exists()
        if delivery.patient_id and not fallback_made and not selectors.live_subscriptions(delivery.patient_id):
            with transaction.atomic():
                deliveries_create(fallback_messages(delivery.patient, purpose=delivery.purpose, slot=delivery.slot, body=delivery.body,
                                  now=now), now=now)
        return SendOutcome(Delivery.State.FAILED)
    except transport.DeliveryError as exc:
        final = delivery.attempts >= settings.CADENCE_OUTREACH_MAX_ATTEMPTS
        wait = _backoff(delivery.attempts)
        Delivery.objects.filter(pk=delivery.pk).update(
            state=Delivery.State.FAILED if final else Delivery.State.RETRYING, reason=str(exc)[:300],
            due_at=now if final else now + timedelta(seconds=wait))
        logger.warning("outreach: %s delivery %s failed (attempt %s): %s", delivery.channel, delivery.pk,
                       delivery.attempts, exc)
        return SendOutcome(Delivery.State.FAILED if final else Delivery.State.RETRYING, None if final else wait)
    Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.SENT, sent_at=now, reason="")
    return SendOutcome(Delivery.State.SENT)


def deliveries_requeue(*, now: datetime | None = None) -> int:
    """Queue messages that are due and not queued (quiet hours ended), or whose task was lost (a broker or worker
    died): nothing waits forever."""
    now = now or timezone.now()
    lost = now - timedelta(minutes=10)
    Delivery.objects.filter(state=Delivery.State.SENDING, queued_at__lt=lost).update(state=Delivery.State.RETRYING)
    waiting = Delivery.objects.filter(state__in=[Delivery.State.PENDING, Delivery.State.RETRYING], due_at__lte=now)
    ids = list(waiting.filter(queued_at__isnull=True).values_list("pk", flat=True)) + list(
        waiting.filter(queued_at__isnull=False, due_at__lt=lost, queued_at__lt=lost).values_list("pk", flat=True))
    if ids:
        enqueue(ids)
    return len(ids)


def delivery_retry(*, delivery: Delivery, now: datetime | None = None) -> None:
    """An operator sends a failed message again (Monitoring page): a fresh set of attempts."""
    now = now or timezone.now()
    if Delivery.objects.filter(pk=delivery.pk, state=Delivery.State.FAILED).exclude(recipient="").update(
            state=Delivery.State.PENDING, attempts=0, due_at=now, queued_at=None) == 1:
        transaction.on_commit(lambda: enqueue([delivery.pk]))


# ---------------------------------------------------------------- team settings


def team_channel_set(*, care_team: CareTeam, webhook_url: str = "", quiet_start: time | None = None,
                     quiet_end: time | None = None, time_zone: str = "UTC", rotate_secret: bool = False) -> tuple[
        TeamChannel, str]:
    """Save how the team is reached; returns the channel and a new webhook secret when one was made ("" else)."""
    channel, _created = TeamChannel.objects.get_or_create(care_team=care_team)
    fresh = ""
    if webhook_url and (rotate_secret or not channel.webhook_secret):
        fresh = secrets.token_urlsafe(32)
        channel.webhook_secret = fresh
    channel.webhook_url, channel.quiet_start, channel.quiet_end = webhook_url, quiet_start, quiet_end
    channel.time_zone = time_zone or "UTC"
    channel.save()
    return channel, fresh


def opt_out_set(*, membership: Membership, kind: str, muted: bool) -> None:
    """Mute or unmute one alert kind for one clinician; an urgent kind stays with at least one reachable member."""
    if not muted:
        AlertOptOut.objects.filter(membership=membership, kind=kind).delete()
        return
    if kind_spec(kind).silence is Silence.NOT_WHOLE_TEAM:
        others = [m for m in selectors.alert_email_recipients(care_team_id=membership.care_team_id, kind=kind)
                  if m.pk != membership.pk]
        if not others:
            raise OutreachError(_("At least one clinician of %(team)s must receive urgent alerts by e-mail; ask a "
                                  "colleague to take them before you stop.") % {"team": membership.care_team.name})
    AlertOptOut.objects.get_or_create(membership=membership, kind=kind)
