"""The alert lifecycle: opened once per episode, acknowledged, resolved with a note; the clinic's rule settings
and the immediate alert of a PHQ-9 answer."""

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.models import Phq9Response
from screening.alerts.kinds import ALERT_KINDS, Merge
from screening.alerts.rules import AlertRules, Phq9Point, item9_alerts
from screening.models import Alert
from screening.signals import alert_opened

__all__ = ["AlertTransitionError", "alert_acknowledge", "alert_open", "alert_resolve", "alert_rules",
           "alerts_open_or_update", "overdue_resolve_ended", "alert_trigger_refs", "phq9_response_screen"]

#: Kinds whose new trigger updates the patient's unresolved alert of the kind (screening.alerts.kinds.Merge).
_MERGED = frozenset(kind.name for kind in ALERT_KINDS if kind.merge is Merge.UNRESOLVED)
#: Kinds tied to the last recording, resolved when a new one arrives.
_UNTIL_RECORDING = frozenset(kind.name for kind in ALERT_KINDS if kind.merge is Merge.UNTIL_RECORDING)


class AlertTransitionError(Exception):
    """The alert is not in a state that allows this action (someone else got there first)."""


def alert_open(*, patient, kind: str, priority: int, message: str, episode_key: str, message_i18n: dict | None = None,
               **refs) -> Alert | None:
    """Open an alert unless one already exists for this episode (returns None then)."""
    try:
        with transaction.atomic():
            alert = Alert.objects.create(patient=patient, kind=kind, priority=priority, message=message,
                                         message_i18n=message_i18n or {}, episode_key=episode_key, **refs)
    except IntegrityError:
        return None
    _announce([patient.pk])
    return alert


def _announce(patient_ids: list[int]) -> None:
    """Tell the layers above (outreach) once the new alerts are committed."""
    transaction.on_commit(lambda: alert_opened.send(sender=Alert, patient_ids=patient_ids))


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
        raise AlertTransitionError(_("This alert is no longer open."))
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
        raise AlertTransitionError(_("This alert has already been resolved or changed."))
    alert.refresh_from_db()
    return alert


def alerts_open_or_update(candidates: list[Alert]) -> tuple[list[Alert], list[Alert]]:
    """One unresolved alert per patient and kind (``Merge.UNRESOLVED`` kinds): a new trigger updates it rather
    than opening another.

    The episode's first recording can move when scores are re-levelled (a new PHQ-9), which changes its key;
    the clinician still has one alert to read, with the current value. Self-harm answers are each their own
    alert (``Merge.EACH``); an overdue alert is tied to its last recording and resolves itself
    (``Merge.UNTIL_RECORDING``, :func:`overdue_resolve_ended`).
    An episode already resolved is not re-opened. Writes both; returns (opened, updated).
    """
    patients = {a.patient_id for a in candidates}
    existing = list(Alert.objects.filter(patient_id__in=patients).only("pk", "patient_id", "kind", "episode_key",
                                                                        "state", "message", "message_i18n",
                                                                        "priority"))
    known = {(a.patient_id, a.kind, a.episode_key) for a in existing}
    merged = _MERGED
    unresolved = {(a.patient_id, a.kind): a for a in existing if a.state != Alert.State.RESOLVED and a.kind in merged}
    fresh, updated = [], []
    for candidate in candidates:
        current = unresolved.get((candidate.patient_id, candidate.kind))
        if current is not None:
            if current.message != candidate.message:
                current.message, current.message_i18n = candidate.message, candidate.message_i18n
                if current.pk is not None:
                    updated.append(current)
        elif (candidate.patient_id, candidate.kind, candidate.episode_key) not in known:
            fresh.append(candidate)
            if candidate.kind in merged:
                unresolved[(candidate.patient_id, candidate.kind)] = candidate
    Alert.objects.bulk_create(fresh, batch_size=2000, ignore_conflicts=True)
    if fresh:
        _announce(sorted({a.patient_id for a in fresh}))
    Alert.objects.bulk_update(updated, ["message", "message_i18n", "priority"], batch_size=2000)
    return fresh, updated


def overdue_resolve_ended(*, patient_ids: list[int], candidates: list[Alert]) -> int:
    """An open overdue alert (``Merge.UNTIL_RECORDING``) of these patients whose episode has ended (a recording
    arrived) resolves itself."""
    current = {(a.patient_id, a.episode_key) for a in candidates if a.kind in _UNTIL_RECORDING}
    open_overdue = Alert.objects.filter(patient_id__in=patient_ids, kind__in=_UNTIL_RECORDING).exclude(
        state=Alert.State.RESOLVED).values_list("pk", "patient_id", "episode_key")
    ended = [pk for pk, patient_id, key in open_overdue if (patient_id, key) not in current]
    Alert.objects.filter(pk__in=ended).update(state=Alert.State.RESOLVED, resolved_at=timezone.now(),
                                              note="Resolved automatically: a new recording arrived.")
    return len(ended)


def alert_trigger_refs(evidence: dict) -> dict[str, int]:
    """The recording or PHQ-9 that triggered an alert candidate (screening.alerts.rules evidence), as FK ids:
    its time is the alert's trigger time in the validation report (burden, PPV), however late the batch ran."""
    recording = evidence.get("trigger_recording_id") or evidence.get("recording_id") or next(
        iter(evidence.get("recording_ids") or ()), None)
    refs = {"recording_id": int(recording)} if recording is not None else {}
    if evidence.get("response_id") is not None:
        refs["phq9_id"] = int(evidence["response_id"])
    return refs


def alert_rules() -> AlertRules:
    """The clinic's alert settings (``CADENCE_RISK_PROBABILITY_THRESHOLD``, ``CADENCE_OVERDUE_DAYS``)."""
    return AlertRules(p_threshold=settings.CADENCE_RISK_PROBABILITY_THRESHOLD,
                      overdue_days=settings.CADENCE_OVERDUE_DAYS)


def phq9_response_screen(*, response_id: int) -> Alert | None:
    """Item 9 above 0 opens a high-priority alert at once, whatever the voice says."""
    response = Phq9Response.objects.select_related("patient").get(pk=response_id)
    point = Phq9Point(response_id=str(response.pk), answered_at=response.answered_at, total=response.total,
                      item9=response.item9)
    candidates = item9_alerts([point], patient_id=str(response.patient_id))
    if not candidates:
        return None
    candidate = candidates[0]
    return alert_open(patient=response.patient, kind=candidate.kind, priority=candidate.priority,
                      message=candidate.message, message_i18n=dict(candidate.message_i18n),
                      episode_key=candidate.episode_key, phq9=response)
