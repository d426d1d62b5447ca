"""Outreach to patients: the phone's push subscriptions, reminder schedules and reminders, one re-engagement
message after a silence, and the adherence figures triage sorts on.

Messages that leave the server carry no patient code, score or answer: only a link built from
``CADENCE_BASE_URL``.
"""

from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from clinic.models import Patient
from outreach import selectors
from outreach.messages import OutreachError, deliveries_create, language_of, link, message
from outreach.models import Delivery, PushSubscription, ReminderSchedule

__all__ = ["OutreachError", "REENGAGEMENT_TEXT", "REMINDER_TEXT", "adherence_refresh", "fallback_messages",
           "next_reminder_after", "push_opened", "push_subscription_revoke", "push_subscription_sync",
           "reengagement_send", "reminder_schedule_set", "reminders_send"]


# ---------------------------------------------------------------- patients: push subscriptions


def push_subscription_sync(*, patient: Patient, endpoint: str, p256dh: str, auth: str, user_agent: str = "",
                           now: datetime | None = None) -> PushSubscription:
    """Store or refresh the phone's subscription (the recorder re-sends it on every visit)."""
    now = now or timezone.now()
    sub, _created = PushSubscription.objects.update_or_create(endpoint=endpoint, defaults={
        "patient": patient, "p256dh": p256dh, "auth": auth, "user_agent": user_agent[:200], "last_seen_at": now,
        "revoked_at": None, "revoked_reason": ""})
    return sub


def push_subscription_revoke(*, subscription_id: int, reason: str, now: datetime | None = None) -> None:
    PushSubscription.objects.filter(pk=subscription_id, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now(), revoked_reason=reason[:200])


def push_opened(*, public_id: str, now: datetime | None = None) -> bool:
    """The phone reports that the patient opened a reminder notification."""
    return Delivery.objects.filter(public_id=public_id, channel=Delivery.Channel.PUSH, opened_at__isnull=True).update(
        opened_at=now or timezone.now()) == 1


# ---------------------------------------------------------------- patients: reminders


def next_reminder_after(schedule: ReminderSchedule, *, after: datetime, tz) -> datetime | None:
    local = after.astimezone(tz)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        if day.isoweekday() in schedule.weekdays:
            at = datetime.combine(day, schedule.time_of_day, tzinfo=tz)
            if at > after:
                return at
    return None


def reminder_schedule_set(*, patient: Patient, weekdays: list[int], time_of_day: time, expiry_hours: int,
                          active: bool = True, email: str = "", phone: str = "",
                          now: datetime | None = None) -> ReminderSchedule:
    now = now or timezone.now()
    days = sorted({int(d) for d in weekdays})
    if not days or any(d < 1 or d > 7 for d in days):
        raise OutreachError(_("Choose at least one weekday (1 = Monday ... 7 = Sunday)."))
    if not 1 <= expiry_hours <= 72:
        raise OutreachError(_("The expiry window must be between 1 and 72 hours."))
    schedule = ReminderSchedule.objects.filter(patient=patient).first() or ReminderSchedule(
        patient=patient, starts_on=now.astimezone(selectors.patient_zone(patient)).date())
    schedule.weekdays, schedule.time_of_day, schedule.expiry_hours = days, time_of_day, expiry_hours
    schedule.active, schedule.email, schedule.phone = active, email, phone
    schedule.next_reminder_at = next_reminder_after(schedule, after=now, tz=selectors.patient_zone(patient)) \
        if active else None
    schedule.save()
    return schedule


REMINDER_TEXT = gettext_noop("Time for your Cadence voice check-in: it takes about a minute.")
REENGAGEMENT_TEXT = gettext_noop("We have not heard from you for a while. Your Cadence voice check-in is ready "
                                 "whenever you are.")


def fallback_messages(patient: Patient, *, purpose: str, slot: str, body: str, now: datetime) -> list[Delivery]:
    """The e-mail and SMS-webhook messages for a patient without a live push subscription (a failed record when
    there is neither, so the gap shows on the Monitoring page)."""
    schedule = ReminderSchedule.objects.filter(patient=patient).first()
    url = link(reverse("recorder:recorder"))
    text = f"{body} {url}"
    out = []
    if schedule is not None and schedule.email:
        out.append(message(channel=Delivery.Channel.EMAIL, purpose=purpose, recipient=schedule.email, patient=patient,
                            slot=slot, subject=_("Your voice check-in"), body=text, now=now))
    if schedule is not None and schedule.phone and settings.CADENCE_REMINDER_WEBHOOK_URL:
        out.append(message(channel=Delivery.Channel.WEBHOOK, purpose=purpose,
                            recipient=settings.CADENCE_REMINDER_WEBHOOK_URL, patient=patient, slot=slot, body=text,
                            payload={"event": f"patient.{purpose}", "to": schedule.phone, "text": text}, now=now))
    if not out:
        out.append(message(channel=Delivery.Channel.EMAIL, purpose=purpose, recipient="", patient=patient, slot=slot,
                            body=text, now=now, state=Delivery.State.FAILED,
                            reason=_("No way to reach the patient: no live push subscription, no e-mail address "
                                     "and no SMS gateway.")))
    return out


def _reach(patient: Patient, *, purpose: str, slot: str, body: str, now: datetime) -> list[Delivery]:
    """Push to every live subscription of the phone, else the fallbacks (e-mail, SMS webhook)."""
    subs = selectors.live_subscriptions(patient.pk) if settings.CADENCE_VAPID_PRIVATE_KEY else []
    if not subs:
        return fallback_messages(patient, purpose=purpose, slot=slot, body=body, now=now)
    payload = {"title": "Cadence", "body": body, "url": reverse("recorder:recorder")}
    return [message(channel=Delivery.Channel.PUSH, purpose=purpose, recipient=s.endpoint[:500], subscription=s,
                     patient=patient, slot=slot, body=body, payload=payload, now=now) for s in subs]


def _counted_since(patient_id: int, since: datetime) -> bool:
    return bool(selectors.recorded_times([patient_id], since=since))


def reminders_send(*, now: datetime | None = None) -> int:
    """Remind each patient whose reminder time has come (in their own zone), unless they have recorded that day
    already or the day's window closed while reminders were down. Returns reminders sent."""
    now = now or timezone.now()
    sent = 0
    due = ReminderSchedule.objects.filter(active=True, patient__active=True, next_reminder_at__lte=now).select_related(
        "patient")
    for schedule in due:
        tz = selectors.patient_zone(schedule.patient)
        at = schedule.next_reminder_at
        upcoming = next_reminder_after(schedule, after=max(at, now), tz=tz)
        with transaction.atomic():
            if ReminderSchedule.objects.filter(pk=schedule.pk, next_reminder_at=at).update(
                    next_reminder_at=upcoming) != 1:
                continue
            day = at.astimezone(tz).date()
            start, end = selectors.slot_window(schedule, day, tz)
            if now >= end or _counted_since(schedule.patient_id, start) or Delivery.objects.filter(
                    patient_id=schedule.patient_id, purpose=Delivery.Purpose.REMINDER, slot=day.isoformat()).exists():
                continue
            with translation.override(language_of(patient=schedule.patient)):
                deliveries_create(_reach(schedule.patient, purpose=Delivery.Purpose.REMINDER, slot=day.isoformat(),
                               body=_(REMINDER_TEXT), now=now), now=now)
            sent += 1
    return sent


def reengagement_send(*, now: datetime | None = None) -> int:
    """One gentle message after CADENCE_REENGAGE_AFTER_DAYS without a recording (once per silence)."""
    now = now or timezone.now()
    days = settings.CADENCE_REENGAGE_AFTER_DAYS
    if days <= 0:
        return 0
    cutoff = now - timedelta(days=days)
    schedules = ReminderSchedule.objects.filter(active=True, patient__active=True).select_related("patient").annotate(
        last=Max("patient__recordings__recorded_at"))
    sent = 0
    for schedule in schedules:
        since = schedule.last or datetime.combine(schedule.starts_on, time(0), tzinfo=selectors.patient_zone(
            schedule.patient))
        if since > cutoff:
            continue
        slot = f"silent-since-{since:%Y-%m-%d}"
        if Delivery.objects.filter(patient=schedule.patient, purpose=Delivery.Purpose.REENGAGEMENT, slot=slot).exists():
            continue
        with transaction.atomic(), translation.override(language_of(patient=schedule.patient)):
            deliveries_create(_reach(schedule.patient, purpose=Delivery.Purpose.REENGAGEMENT, slot=slot,
                           body=_(REENGAGEMENT_TEXT), now=now), now=now)
        sent += 1
    return sent


def adherence_refresh(*, now: datetime | None = None, patient_ids: list[int] | None = None) -> int:
    """Store each scheduled patient's last-two-weeks figures, which triage filters and sorts on."""
    now = now or timezone.now()
    schedules = ReminderSchedule.objects.select_related("patient")
    if patient_ids is not None:
        schedules = schedules.filter(patient_id__in=patient_ids)
    schedules = list(schedules)
    recorded = selectors.recorded_times([s.patient_id for s in schedules], since=now - timedelta(days=16))
    for schedule in schedules:
        tz = selectors.patient_zone(schedule.patient)
        figures = selectors.adherence_from(schedule=schedule, enrolled_on=schedule.patient.enrolled_on, tz=tz,
                                           recorded=recorded.get(schedule.patient_id, []), now=now, days=14)
        schedule.missed_14d, schedule.adherence_14d, schedule.adherence_at = (
            len(figures.missed_days), figures.rate, now)
        if schedule.active and schedule.next_reminder_at is not None and schedule.next_reminder_at > now:
            # the patient's time zone may have changed since the reminder time was worked out
            schedule.next_reminder_at = next_reminder_after(schedule, after=now, tz=tz)
    ReminderSchedule.objects.bulk_update(schedules, ["missed_14d", "adherence_14d", "adherence_at",
                                                     "next_reminder_at"], batch_size=1000)
    return len(schedules)
