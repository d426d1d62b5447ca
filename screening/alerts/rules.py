"""Alert rules: pure functions from a patient's recent history to alert candidates.

The caller (a Celery task) owns alert state (open, acknowledged, resolved). Each
candidate carries an ``episode_key`` that is the same on every evaluation of one
ongoing episode, so the caller opens an alert only for a key it has not seen.
Each candidate's kind, priority and episode-key prefix come from the kind's one declaration
(:mod:`screening.alerts.kinds`). No Django here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from clinic.phq9 import is_safety_signal
from screening.alerts.kinds import Priority, gettext_noop, kind_spec

__all__ = [
    "HIGH",
    "MEDIUM",
    "LOW",
    "AlertRules",
    "ScorePoint",
    "Phq9Point",
    "RecordingPoint",
    "AlertCandidate",
    "phq9_rise_alerts",
    "threshold_crossing_alerts",
    "item9_alerts",
    "overdue_alert",
    "speaker_mismatch_alerts",
    "evaluate_alerts",
]

HIGH, MEDIUM, LOW = Priority.HIGH, Priority.MEDIUM, Priority.LOW
_SELF_HARM, _RISE, _CROSSING = kind_spec("self_harm"), kind_spec("phq9_rise"), kind_spec("risk_threshold")
_OVERDUE, _SPEAKER = kind_spec("overdue"), kind_spec("speaker_mismatch")

# Each alert's message is one of these English templates filled with pre-formatted values: the message is stored
# in English (the API's and the audit's language), and the template with its values beside it, so the
# dashboard shows the same sentence in the clinician's language (the templates are in the translation catalogues).
_MSG_RISE = gettext_noop(
    "Change from this patient's own baseline: voice-predicted PHQ-9 %(current)s on %(current_on)s, %(change)s "
    "points from their usual %(baseline)s; first %(first_change)s over consecutive recordings since %(first_on)s.")
_MSG_CROSSING = gettext_noop(
    "Probability of PHQ-9 >= 10 is %(p)s%% on %(current_on)s; it first crossed the clinic threshold of "
    "%(threshold)s%% at %(first_p)s%% on %(first_on)s.")
_MSG_CROSSING_EARLY = gettext_noop(
    "Probability of PHQ-9 >= 10 is %(p)s%% on %(current_on)s (early estimate against population norms: no personal "
    "baseline yet); it first crossed the clinic threshold of %(threshold)s%% at %(first_p)s%% on %(first_on)s.")
_MSG_SELF_HARM = gettext_noop(
    "PHQ-9 item 9 (thoughts of being better off dead or of self-harm) answered %(item9)s of 3 on %(answered_on)s "
    "(PHQ-9 total %(total)s). Follow the clinic's safety protocol now.")
_MSG_OVERDUE_RECORDING = gettext_noop("No recording for %(days)s days (since last recording on %(since_on)s).")
_MSG_OVERDUE_ENROLMENT = gettext_noop(
    "No recording for %(days)s days (since enrolment (no recording yet) on %(since_on)s).")
_MSG_SPEAKER = gettext_noop(
    "%(n)s recording(s) since %(first_on)s do not sound like this patient; they are kept out of the baseline and "
    "the risk score.")


def localizable_message(template: str, **params: str) -> dict[str, Any]:
    """The English message and what re-renders it in another language: ``{"message", "message_i18n"}`` (an
    alert's, and an operator alert's: screening.monitoring.service)."""
    return {"message": template % params, "message_i18n": {"msgid": template, "params": params}}


_message = localizable_message


def _percent(p: float) -> str:
    return f"{p * 100:.0f}"  # what f"{p:.0%}" prints, without the sign (a language places it)


@dataclass(frozen=True)
class AlertRules:
    """The clinic's alert settings.

    Parameters
    ----------
    rise_points : float
        PHQ-9 points above the patient's baseline level that count as worsening
        (5 = the usual minimal important difference).
    rise_consecutive : int
        Consecutive scored recordings that must stay at least ``rise_points`` up.
    rise_hysteresis : float
        An open rise episode ends only when a score falls below
        ``rise_points - rise_hysteresis`` above baseline, so a score wavering at the
        boundary does not open a new episode each time.
    p_threshold : float
        The clinic's threshold on P(PHQ-9 >= 10), 0-1.
    p_hysteresis : float
        A crossing episode ends when the probability falls below
        ``p_threshold - p_hysteresis``.
    overdue_days : float
        No recording for this many days raises an overdue alert.
    """

    rise_points: float = 5.0
    rise_consecutive: int = 2
    rise_hysteresis: float = 1.0
    p_threshold: float = 0.5
    p_hysteresis: float = 0.05
    overdue_days: float = 7.0


@dataclass(frozen=True)
class ScorePoint:
    """The risk score of one recording."""

    recording_id: str
    recorded_at: datetime
    predicted_phq9: float
    p_phq9_ge10: float
    #: An early estimate against population norms (no personal baseline yet), not a personal score.
    early: bool = False


@dataclass(frozen=True)
class Phq9Point:
    """One PHQ-9 response: ``total`` (0-27) and the ``item9`` answer (0-3)."""

    response_id: str
    answered_at: datetime
    total: int
    item9: int


@dataclass(frozen=True)
class RecordingPoint:
    """One uploaded recording and whether its speaker matched the patient."""

    recording_id: str
    recorded_at: datetime
    speaker_mismatch: bool


@dataclass(frozen=True)
class AlertCandidate:
    """An alert the caller should open unless ``episode_key`` is already known.

    ``ongoing`` is False for an episode that already ended within the history given
    (the caller may still want to record it if it was never seen).
    """

    kind: str            # the stored name (screening.alerts.kinds)
    priority: Priority
    message: str
    episode_key: str
    triggered_at: datetime
    ongoing: bool = True
    evidence: Mapping[str, Any] = field(default_factory=dict)
    #: ``{"msgid": English template, "params": {name: text}}``: ``message`` is ``msgid % params``.
    message_i18n: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "priority": int(self.priority),
            "message": self.message,
            "message_i18n": dict(self.message_i18n),
            "episode_key": self.episode_key,
            "triggered_at": self.triggered_at.isoformat(),
            "ongoing": self.ongoing,
            "evidence": dict(self.evidence),
        }


def _sorted_scores(scores: Iterable[ScorePoint], attr: str) -> list[ScorePoint]:
    usable = (s for s in scores if math.isfinite(getattr(s, attr)))
    return sorted(usable, key=lambda s: s.recorded_at)


def phq9_rise_alerts(
    scores: Sequence[ScorePoint],
    *,
    patient_id: str,
    baseline_phq9: float,
    rules: AlertRules = AlertRules(),
) -> list[AlertCandidate]:
    """Predicted PHQ-9 up >= ``rise_points`` over >= ``rise_consecutive`` recordings.

    Parameters
    ----------
    scores : sequence of ScorePoint
        The patient's recent scores (any order; NaN predictions are skipped).
    baseline_phq9 : float
        The patient's level at their own baseline voice (model intercept plus personal
        offset), PHQ-9 points.

    Returns
    -------
    list of AlertCandidate
        One per episode, keyed by the first recording of the run that opened it.
    """
    alerts: list[AlertCandidate] = []
    run: list[ScorePoint] = []
    episode: dict[str, Any] | None = None
    for score in _sorted_scores(scores, "predicted_phq9"):
        rise = score.predicted_phq9 - baseline_phq9
        if episode is not None:
            if rise >= rules.rise_points - rules.rise_hysteresis:
                episode["current"] = score
                continue
            alerts.append(_rise_alert(patient_id, episode, baseline_phq9, ongoing=False))
            episode = None
        run = run + [score] if rise >= rules.rise_points else []
        if len(run) >= rules.rise_consecutive:
            episode = {"first": run[0], "trigger": score, "current": score,
                       "peak": max(s.predicted_phq9 for s in run)}
            run = []
    if episode is not None:
        alerts.append(_rise_alert(patient_id, episode, baseline_phq9, ongoing=True))
    return alerts


def _rise_alert(patient_id: str, episode: Mapping[str, Any], baseline: float, *,
                ongoing: bool) -> AlertCandidate:
    trigger: ScorePoint = episode["trigger"]
    first: ScorePoint = episode["first"]
    current: ScorePoint = episode["current"]
    return AlertCandidate(
        kind=_RISE.name,
        priority=_RISE.priority,
        **_message(_MSG_RISE, current=f"{current.predicted_phq9:.0f}", current_on=f"{current.recorded_at:%Y-%m-%d}",
                   change=f"{current.predicted_phq9 - baseline:+.0f}", baseline=f"{baseline:.0f}",
                   first_change=f"{trigger.predicted_phq9 - baseline:+.0f}", first_on=f"{first.recorded_at:%Y-%m-%d}"),
        episode_key=f"{_RISE.rule}:{patient_id}:{first.recording_id}",
        triggered_at=trigger.recorded_at,
        ongoing=ongoing,
        evidence={"first_recording_id": first.recording_id,
                  "trigger_recording_id": trigger.recording_id,
                  "current_recording_id": current.recording_id,
                  "baseline_phq9": baseline, "predicted_phq9": current.predicted_phq9,
                  "first_predicted_phq9": trigger.predicted_phq9},
    )


def threshold_crossing_alerts(
    scores: Sequence[ScorePoint],
    *,
    patient_id: str,
    rules: AlertRules = AlertRules(),
) -> list[AlertCandidate]:
    """P(PHQ-9 >= 10) crossing the clinic's threshold from below.

    The state before the first score counts as below, so a first score above the
    threshold opens an episode. The episode lasts while the probability stays at or
    above ``p_threshold - p_hysteresis``.
    """
    alerts: list[AlertCandidate] = []
    episode: ScorePoint | None = None
    current: ScorePoint | None = None
    for score in _sorted_scores(scores, "p_phq9_ge10"):
        if episode is not None:
            if score.p_phq9_ge10 >= rules.p_threshold - rules.p_hysteresis:
                current = score
                continue
            alerts.append(_crossing_alert(patient_id, episode, current, rules, ongoing=False))
            episode = None
        if score.p_phq9_ge10 >= rules.p_threshold:
            episode = current = score
    if episode is not None:
        alerts.append(_crossing_alert(patient_id, episode, current, rules, ongoing=True))
    return alerts


def _crossing_alert(patient_id: str, first: ScorePoint, current: ScorePoint, rules: AlertRules, *,
                    ongoing: bool) -> AlertCandidate:
    return AlertCandidate(
        kind=_CROSSING.name,
        priority=_CROSSING.priority,
        **_message(_MSG_CROSSING_EARLY if current.early else _MSG_CROSSING, p=_percent(current.p_phq9_ge10),
                   current_on=f"{current.recorded_at:%Y-%m-%d}",
                   threshold=_percent(rules.p_threshold), first_p=_percent(first.p_phq9_ge10),
                   first_on=f"{first.recorded_at:%Y-%m-%d}"),
        episode_key=f"{_CROSSING.rule}:{patient_id}:{first.recording_id}",
        triggered_at=first.recorded_at,
        ongoing=ongoing,
        evidence={"recording_id": first.recording_id, "p_phq9_ge10": current.p_phq9_ge10,
                  "first_p_phq9_ge10": first.p_phq9_ge10, "current_recording_id": current.recording_id,
                  "threshold": rules.p_threshold, "early": current.early, "first_early": first.early},
    )


def item9_alerts(phq9s: Sequence[Phq9Point], *, patient_id: str) -> list[AlertCandidate]:
    """Any PHQ-9 item 9 answer above 0: high priority, whatever the voice says.

    Every positive response is its own episode (a new answer is a new safety signal
    that needs its own review).
    """
    return [
        AlertCandidate(
            kind=_SELF_HARM.name,
            priority=_SELF_HARM.priority,
            **_message(_MSG_SELF_HARM, item9=str(p.item9), answered_on=f"{p.answered_at:%Y-%m-%d}", total=str(p.total)),
            episode_key=f"{_SELF_HARM.rule}:{patient_id}:{p.response_id}",
            triggered_at=p.answered_at,
            evidence={"response_id": p.response_id, "item9": p.item9, "total": p.total},
        )
        for p in sorted(phq9s, key=lambda p: p.answered_at)
        if is_safety_signal(p.item9)
    ]


def overdue_alert(
    *,
    patient_id: str,
    last_recording_at: datetime | None,
    now: datetime,
    enrolled_at: datetime | None = None,
    rules: AlertRules = AlertRules(),
) -> list[AlertCandidate]:
    """No recording for ``overdue_days`` (counted from enrolment if none ever came).

    The key is tied to the last recording, so the episode ends when a new one arrives.
    """
    since = last_recording_at or enrolled_at
    if since is None or now - since < timedelta(days=rules.overdue_days):
        return []
    days = (now - since).total_seconds() / 86400
    template = _MSG_OVERDUE_RECORDING if last_recording_at else _MSG_OVERDUE_ENROLMENT
    return [AlertCandidate(
        kind=_OVERDUE.name,
        priority=_OVERDUE.priority,
        **_message(template, days=f"{days:.0f}", since_on=f"{since:%Y-%m-%d}"),
        episode_key=f"{_OVERDUE.rule}:{patient_id}:{since.isoformat()}",
        triggered_at=since + timedelta(days=rules.overdue_days),
        evidence={"since": since.isoformat(), "days": days},
    )]


def speaker_mismatch_alerts(
    recordings: Sequence[RecordingPoint], *, patient_id: str
) -> list[AlertCandidate]:
    """Recordings whose voice is not the patient's; consecutive ones are one episode."""
    alerts: list[AlertCandidate] = []
    run: list[RecordingPoint] = []
    for rec in sorted(recordings, key=lambda r: r.recorded_at) + [None]:
        if rec is not None and rec.speaker_mismatch:
            run.append(rec)
            continue
        if run:
            alerts.append(AlertCandidate(
                kind=_SPEAKER.name,
                priority=_SPEAKER.priority,
                **_message(_MSG_SPEAKER, n=str(len(run)), first_on=f"{run[0].recorded_at:%Y-%m-%d}"),
                episode_key=f"{_SPEAKER.rule}:{patient_id}:{run[0].recording_id}",
                triggered_at=run[0].recorded_at,
                ongoing=rec is None,
                evidence={"recording_ids": [r.recording_id for r in run]},
            ))
            run = []
    return alerts


def evaluate_alerts(
    *,
    patient_id: str,
    now: datetime,
    scores: Sequence[ScorePoint] = (),
    phq9s: Sequence[Phq9Point] = (),
    recordings: Sequence[RecordingPoint] = (),
    baseline_phq9: float | None = None,
    last_recording_at: datetime | None = None,
    enrolled_at: datetime | None = None,
    rules: AlertRules = AlertRules(),
    calibrated: bool = True,
    early_scores: Sequence[ScorePoint] = (),
) -> list[AlertCandidate]:
    """All alert candidates for one patient, highest priority first.

    ``last_recording_at`` defaults to the latest of ``recordings``. The rise rule
    runs only when ``baseline_phq9`` is known. Under an uncalibrated model
    (``calibrated=False``, the literature prior) an absolute probability means little,
    so there are no threshold alerts: only change from the patient's own baseline.
    ``early_scores`` are early estimates (against population norms, before a personal baseline) that carry a
    probability, which only a calibrated early model gives: they take part in the threshold rule with the personal
    scores (whatever ``calibrated`` says of the personal model), never in the rise rule.
    """
    if last_recording_at is None and recordings:
        last_recording_at = max(r.recorded_at for r in recordings)
    alerts = item9_alerts(phq9s, patient_id=patient_id)
    if baseline_phq9 is not None and math.isfinite(baseline_phq9):
        alerts += phq9_rise_alerts(scores, patient_id=patient_id,
                                   baseline_phq9=baseline_phq9, rules=rules)
    absolute = [*(scores if calibrated else ()), *(s for s in early_scores if s.early)]
    if absolute:
        alerts += threshold_crossing_alerts(absolute, patient_id=patient_id, rules=rules)
    alerts += speaker_mismatch_alerts(recordings, patient_id=patient_id)
    alerts += overdue_alert(patient_id=patient_id, last_recording_at=last_recording_at,
                            now=now, enrolled_at=enrolled_at, rules=rules)
    return sorted(alerts, key=lambda a: (a.priority, a.triggered_at))
