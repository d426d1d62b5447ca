"""The alert lifecycle: opened once per episode, acknowledged, resolved with a note."""

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from screening.models import Alert

__all__ = ["AlertTransitionError", "alert_acknowledge", "alert_open", "alert_resolve"]


class AlertTransitionError(Exception):
    """The alert is not in a state that allows this action (someone else got there first)."""


def alert_open(*, patient, kind: str, priority: int, message: str, episode_key: str, **refs) -> Alert | None:
    """Open an alert unless one already exists for this episode (returns None then)."""
    try:
        with transaction.atomic():
            return Alert.objects.create(patient=patient, kind=kind, priority=priority, message=message,
                                        episode_key=episode_key, **refs)
    except IntegrityError:
        return None


def _with_note(alert: Alert, *, verb: str, user: User, note: str, at) -> str:
    note = note.strip()
    if not note:
        return alert.note
    line = f"{at:%Y-%m-%d %H:%M} {user.get_username()} ({verb}): {note}"
    return f"{alert.note}\n{line}" if alert.note else line


def alert_acknowledge(*, alert: Alert, user: User, note: str = "") -> Alert:
    """Open -> acknowledged; the conditional update makes two clicks count once."""
    now = timezone.now()
    updated = Alert.objects.filter(pk=alert.pk, state=Alert.State.OPEN).update(
        state=Alert.State.ACKNOWLEDGED, acknowledged_by=user, acknowledged_at=now,
        note=_with_note(alert, verb="acknowledged", user=user, note=note, at=now),
    )
    if updated != 1:
        raise AlertTransitionError("This alert is no longer open.")
    alert.refresh_from_db()
    return alert


def alert_resolve(*, alert: Alert, user: User, note: str = "") -> Alert:
    """Open or acknowledged -> resolved; resolving an open alert also acknowledges it."""
    now = timezone.now()
    fields = {"state": Alert.State.RESOLVED, "resolved_by": user, "resolved_at": now,
              "note": _with_note(alert, verb="resolved", user=user, note=note, at=now)}
    if alert.state == Alert.State.OPEN:
        fields |= {"acknowledged_by": user, "acknowledged_at": now}
    updated = Alert.objects.filter(pk=alert.pk, state=alert.state).exclude(state=Alert.State.RESOLVED).update(**fields)
    if updated != 1:
        raise AlertTransitionError("This alert has already been resolved or changed.")
    alert.refresh_from_db()
    return alert
