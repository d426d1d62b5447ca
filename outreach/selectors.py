"""Outreach reads: who is told about an alert, what an alert's outreach was, delivery health, adherence."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db.models import Count, QuerySet

from clinic.models import Membership, Patient, Recording
from outreach.models import AlertNotice, AlertOptOut, Delivery, PushSubscription, ReminderSchedule, TeamChannel

__all__ = ["Adherence", "adherence", "alert_email_recipients", "delivery_state_counts", "failed_deliveries",
           "lead_recipients", "live_subscriptions", "patient_deliveries", "patient_zone", "team_channel", "zone"]

#: Recordings that count as received: the upload arrived and was not refused as unusable.
COUNTED_STATUSES = (Recording.Status.RECEIVED, Recording.Status.PROCESSING, Recording.Status.DONE)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def patient_zone(patient: Patient) -> ZoneInfo:
    """The patient's own time zone (the one field that holds it)."""
    return zone(patient.timezone)


def team_channel(care_team_id: int) -> TeamChannel | None:
    return TeamChannel.objects.filter(care_team_id=care_team_id).first()


def _members(care_team_id: int) -> QuerySet[Membership]:
    return Membership.objects.filter(care_team_id=care_team_id, user__is_active=True).exclude(
        user__email="").select_related("user").order_by("user__username")


def alert_email_recipients(*, care_team_id: int, kind: str) -> list[Membership]:
    """The team's active clinicians with an e-mail address who have not muted this kind."""
    muted = set(AlertOptOut.objects.filter(membership__care_team_id=care_team_id, kind=kind).values_list(
        "membership_id", flat=True))
    return [m for m in _members(care_team_id) if m.pk not in muted]


def lead_recipients(care_team_id: int) -> list[Membership]:
    return [m for m in _members(care_team_id) if m.role == Membership.Role.LEAD]


def live_subscriptions(patient_id: int) -> list[PushSubscription]:
    return list(PushSubscription.objects.filter(patient_id=patient_id, revoked_at__isnull=True))


def patient_deliveries(patient: Patient, *, limit: int = 50) -> list[Delivery]:
    return list(Delivery.objects.filter(patient=patient)[:limit])


def alert_outreach(alert_id: int) -> dict:
    """What the alert page shows: the steps taken and each message's outcome (no addresses beyond the team's)."""
    notice = AlertNotice.objects.filter(alert_id=alert_id).first()
    deliveries = list(Delivery.objects.filter(alerts=alert_id).select_related("user").order_by("created_at", "pk"))
    return {"notice": notice, "steps": notice.steps if notice else [], "deliveries": deliveries}


def delivery_state_counts() -> dict[tuple[str, str], int]:
    return {(c, s): n for c, s, n in Delivery.objects.values_list("channel", "state").annotate(n=Count("pk"))}


def failed_deliveries(*, limit: int = 50) -> list[Delivery]:
    return list(Delivery.objects.filter(state__in=[Delivery.State.FAILED, Delivery.State.RETRYING]).select_related(
        "care_team")[:limit])


# ---------------------------------------------------------------- adherence


@dataclass(frozen=True)
class Adherence:
    """Recordings the schedule expected against those received, over the last ``days`` days."""

    days: int
    expected: int
    received: int
    missed_days: list[date]

    @property
    def rate(self) -> float | None:
        return self.received / self.expected if self.expected else None

    def as_dict(self) -> dict:
        return {"days": self.days, "expected": self.expected, "received": self.received,
                "rate": None if self.rate is None else round(self.rate, 3),
                "missed_days": [d.isoformat() for d in self.missed_days]}


def slot_window(schedule: ReminderSchedule, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """A scheduled day's task may be done from the local midnight until its reminder time plus the expiry window."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    return start, datetime.combine(day, schedule.time_of_day, tzinfo=tz) + timedelta(hours=schedule.expiry_hours)


def adherence_from(*, schedule: ReminderSchedule, enrolled_on: date, tz: ZoneInfo, recorded: list[datetime],
                   now: datetime, days: int) -> Adherence:
    """Pure: each scheduled day in the period is received (a recording in its window), missed (window closed
    without one) or still open (not counted)."""
    today = now.astimezone(tz).date()
    first = max(today - timedelta(days=days - 1), schedule.starts_on, enrolled_on)
    expected = received = 0
    missed = []
    day = first
    while day <= today:
        if day.isoweekday() in schedule.weekdays:
            start, end = slot_window(schedule, day, tz)
            done = any(start <= r < end for r in recorded)
            if done or end <= now:
                expected += 1
                received += done
                if not done:
                    missed.append(day)
        day += timedelta(days=1)
    return Adherence(days=days, expected=expected, received=received, missed_days=missed)


def recorded_times(patient_ids: list[int], *, since: datetime) -> dict[int, list[datetime]]:
    rows = Recording.objects.filter(patient_id__in=patient_ids, recorded_at__gte=since,
                                    status__in=COUNTED_STATUSES).values_list("patient_id", "recorded_at")
    times: dict[int, list[datetime]] = {}
    for patient_id, at in rows:
        times.setdefault(patient_id, []).append(at)
    return times


def adherence(*, patient: Patient, now: datetime, periods: tuple[int, ...] = (14, 56),
              schedule: ReminderSchedule | None = None) -> dict | None:
    """The patient's adherence over each period (days), or None without a reminder schedule."""
    schedule = schedule or ReminderSchedule.objects.filter(patient=patient).first()
    if schedule is None:
        return None
    tz = patient_zone(patient)
    since = now - timedelta(days=max(periods) + 2)
    recorded = recorded_times([patient.pk], since=since).get(patient.pk, [])
    return {f"last_{days}_days": adherence_from(schedule=schedule, enrolled_on=patient.enrolled_on, tz=tz,
                                                recorded=recorded, now=now, days=days).as_dict()
            for days in periods}


def settings_reminder_default() -> dict:
    hour, minute = (int(x) for x in settings.CADENCE_REMINDER_TIME.split(":"))
    return {"weekdays": list(settings.CADENCE_REMINDER_DAYS), "time_of_day": time(hour, minute),
            "expiry_hours": settings.CADENCE_REMINDER_EXPIRY_HOURS}


def reminder_schedule(patient: Patient) -> ReminderSchedule | None:
    return ReminderSchedule.objects.filter(patient=patient).first()


def muted_kinds(user) -> list[tuple[int, str]]:
    return list(AlertOptOut.objects.filter(membership__user=user).values_list("membership_id", "kind"))


def team_reach(care_team_id: int) -> list[dict]:
    """Each member of the team and whether alert e-mail can reach them (for the team's settings page)."""
    muted: dict[int, list[str]] = {}
    for membership_id, kind in AlertOptOut.objects.filter(membership__care_team_id=care_team_id).values_list(
            "membership_id", "kind"):
        muted.setdefault(membership_id, []).append(kind)
    return [{"membership": m, "email": bool(m.user.email), "muted": muted.get(m.pk, [])}
            for m in Membership.objects.filter(care_team_id=care_team_id, user__is_active=True).select_related("user")]


def adherence_summary(*, care_team_ids: list[int] | None, now: datetime, weeks: int = 12) -> dict:
    """Adherence by site (care team) over the last 8 weeks, and by week since enrolment (weeks 1..``weeks``), for
    the validation page: does adherence fall as patients stay in the programme?"""
    schedules = ReminderSchedule.objects.select_related("patient__care_team").filter(patient__active=True)
    if care_team_ids is not None:
        schedules = schedules.filter(patient__care_team_id__in=care_team_ids)
    schedules = list(schedules)
    recorded = recorded_times([s.patient_id for s in schedules], since=now - timedelta(days=7 * weeks + 2))
    sites: dict[str, list[int]] = {}
    by_week = [[0, 0] for _ in range(weeks)]
    for schedule in schedules:
        patient, tz = schedule.patient, patient_zone(schedule.patient)
        times = recorded.get(patient.pk, [])
        recent = adherence_from(schedule=schedule, enrolled_on=patient.enrolled_on, tz=tz, recorded=times, now=now,
                                days=56)
        site = sites.setdefault(patient.care_team.name, [0, 0, 0])
        site[0] += recent.expected
        site[1] += recent.received
        site[2] += 1
        span = adherence_from(schedule=schedule, enrolled_on=patient.enrolled_on, tz=tz, recorded=times, now=now,
                              days=7 * weeks)
        missed = set(span.missed_days)
        day = max(patient.enrolled_on, schedule.starts_on, now.astimezone(tz).date() - timedelta(days=7 * weeks - 1))
        while day <= now.astimezone(tz).date():
            week = (day - patient.enrolled_on).days // 7
            if day.isoweekday() in schedule.weekdays and week < weeks:
                start, end = slot_window(schedule, day, tz)
                done = any(start <= r < end for r in times)
                if done or day in missed:
                    by_week[week][0] += 1
                    by_week[week][1] += done
            day += timedelta(days=1)
    return {
        "sites": [{"site": name, "patients": n, "expected": e, "received": r, "rate": r / e if e else None}
                  for name, (e, r, n) in sorted(sites.items())],
        "weeks": [{"week": i + 1, "expected": e, "received": r, "rate": r / e if e else None}
                  for i, (e, r) in enumerate(by_week) if e],
    }
