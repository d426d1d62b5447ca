"""The daily model-monitoring run of a care team: load, compute, store a snapshot, raise operator alerts.

Windows: the *current* window is the last ``CADENCE_MONITORING_WINDOW_DAYS`` (7) days; the
*reference* is the ``CADENCE_MONITORING_REFERENCE_DAYS`` (28) days before it, so a shift
is compared with the month before it. Calibration uses the PHQ-9s of the last
``CADENCE_MONITORING_CALIBRATION_DAYS`` (90) days, each paired with the predictions of
the 14 days it asks about (the one PHQ-9↔voice pairing of screening.validation).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from clinic.models import CareTeam, EmotionLabel, Phq9Response, Recording
from clinic.phq9 import WINDOW_DAYS
from clinic.processing.models import FeatureSet
from screening.alerts.rules import localizable_message as _message
from screening.baselines.baseline import FEATURE_KEYS
from screening.models import MonitoringSnapshot, OperatorAlert, RiskScore
from screening.monitoring import stats
from screening.selectors import emotion_top_class
from screening.validation.pairing import pair_phq9_with_voice

__all__ = ["monitoring_run", "monitoring_run_all"]

Kind = OperatorAlert.Kind
MIN_N = 30  # fewest values per window before a PSI is computed


@dataclass(frozen=True)
class Windows:
    reference_start: datetime
    current_start: datetime
    end: datetime

    @classmethod
    def ending(cls, now: datetime) -> "Windows":
        current = now - timedelta(days=settings.CADENCE_MONITORING_WINDOW_DAYS)
        return cls(current - timedelta(days=settings.CADENCE_MONITORING_REFERENCE_DAYS), current, now)

    def split(self, frame: pd.DataFrame, column: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        at = frame[column]
        return frame[at < self.current_start], frame[at >= self.current_start]


def _recordings(team: CareTeam, w: Windows) -> pd.DataFrame:
    rows = Recording.objects.filter(patient__care_team=team, recorded_at__gte=w.reference_start,
                                    recorded_at__lt=w.end).values_list("pk", "recorded_at", "status", "codec",
                                                                       "sample_rate")
    frame = pd.DataFrame.from_records(list(rows), columns=["recording_id", "at", "status", "codec", "sample_rate"])
    frame["device"] = [f"{c or 'unknown'} {int(r) // 1000 if r else '?'} kHz" for c, r in
                       zip(frame["codec"], frame["sample_rate"], strict=True)]
    return frame


def _features(team: CareTeam, w: Windows) -> pd.DataFrame:
    """Latest feature set of each processed recording in both windows, with its emotion top class."""
    latest: dict[int, tuple] = {}
    for rid, at, features, emotion in FeatureSet.objects.filter(
            recording__patient__care_team=team, recording__status=Recording.Status.DONE,
            recording__recorded_at__gte=w.reference_start, recording__recorded_at__lt=w.end,
    ).order_by("computed_at").values_list("recording_id", "recording__recorded_at", "features", "emotion"):
        latest[rid] = (at, features, emotion)
    records = [{"recording_id": rid, "at": at, "emotion": emotion_top_class(emotion),
                **{k: features.get(k) for k in FEATURE_KEYS}} for rid, (at, features, emotion) in latest.items()]
    frame = pd.DataFrame.from_records(records, columns=["recording_id", "at", "emotion", *FEATURE_KEYS])
    frame[list(FEATURE_KEYS)] = frame[list(FEATURE_KEYS)].astype(float)
    return frame


def _scores(team: CareTeam, since: datetime, until: datetime) -> pd.DataFrame:
    rows = RiskScore.objects.filter(patient__care_team=team, scope=RiskScore.Scope.RECORDING, at__gte=since,
                                    at__lt=until).values_list("patient_id", "recording_id", "at", "voice_deviation",
                                                              "predicted_phq9", "prob_ge10")
    frame = pd.DataFrame.from_records(list(rows), columns=["patient_id", "recording_id", "recorded_at", "voice_score",
                                                           "predicted_phq9", "prob_ge10"])
    frame["recorded_at"] = pd.to_datetime(frame["recorded_at"], utc=True)
    for column in ("voice_score", "predicted_phq9", "prob_ge10"):
        frame[column] = frame[column].astype(float)
    return frame


def _calibration(team: CareTeam, now: datetime) -> dict:
    since = now - timedelta(days=settings.CADENCE_MONITORING_CALIBRATION_DAYS)
    phq9 = pd.DataFrame.from_records(list(Phq9Response.objects.filter(
        patient__care_team=team, answered_at__gte=since, answered_at__lt=now,
    ).values_list("patient_id", "pk", "answered_at", "total", "item9")),
        columns=["patient_id", "phq9_id", "answered_at", "total", "item9"])
    phq9["answered_at"] = pd.to_datetime(phq9["answered_at"], utc=True)
    scores = _scores(team, since - timedelta(days=WINDOW_DAYS), now)
    if phq9.empty or scores.empty:
        return stats.calibration_summary(pd.DataFrame(columns=["patient_id", "predicted_phq9", "phq9_total"]))
    pairs = pair_phq9_with_voice(phq9, scores, min_recordings=settings.CADENCE_PAIRING_MIN_RECORDINGS).pairs
    return stats.calibration_summary(pairs)


def _labelled_predictions(team: CareTeam, *, since: datetime, until: datetime) -> list[tuple[str, str]]:
    """(clinician label, model top class) of every label on the team's recordings made in [since, until).

    The prediction is the top class of the recording's *latest* feature set with an emotion result (a
    recording re-processed under a newer feature-set version counts once, with its newest prediction);
    recordings without one are left out. Each rater's label counts (one per rater and recording).
    """
    labels = list(EmotionLabel.objects.filter(
        recording__patient__care_team=team, recording__recorded_at__gte=since, recording__recorded_at__lt=until,
    ).values_list("recording_id", "label"))
    latest: dict[int, str | None] = {}
    for rid, emotion in FeatureSet.objects.filter(
            recording_id__in={rid for rid, _ in labels}, emotion__isnull=False,
    ).order_by("computed_at", "pk").values_list("recording_id", "emotion"):
        latest[rid] = emotion_top_class(emotion)
    return [(label, latest[rid]) for rid, label in labels if latest.get(rid)]


def _emotion(team: CareTeam, features: pd.DataFrame, w: Windows, now: datetime) -> dict | None:
    predicted = features.dropna(subset=["emotion"])
    if predicted.empty:
        return None  # no emotion model active in this period
    ref, cur = w.split(predicted, "at")
    ref_mix, cur_mix = stats.category_mix(ref["emotion"]), stats.category_mix(cur["emotion"])
    since = now - timedelta(days=settings.CADENCE_MONITORING_CALIBRATION_DAYS)
    labelled = _labelled_predictions(team, since=since, until=now)
    labels = sorted({*ref_mix, *cur_mix, *(label for label, _ in labelled)})
    recall = stats.per_class_recall([t for t, _ in labelled], [p for _, p in labelled], labels=labels)
    enough = len(ref) >= MIN_N and len(cur) >= MIN_N
    return {"reference_mix": ref_mix, "current_mix": cur_mix,
            "psi": stats.categorical_psi(ref_mix, cur_mix) if enough else None,
            "recall": recall, "n_labelled": len(labelled)}


def _finite_or_none(value):
    return value if value is not None and np.isfinite(value) else None


def monitoring_compute(*, team: CareTeam, now: datetime) -> dict:
    """Everything the Monitoring page shows for a team, as plain JSON."""
    w = Windows.ending(now)
    recordings, features = _recordings(team, w), _features(team, w)
    ref_rec, cur_rec = w.split(recordings, "at")
    ref_feat, cur_feat = w.split(features, "at")
    finished = cur_rec[cur_rec["status"].isin([Recording.Status.DONE, Recording.Status.REJECTED])]
    scores = _scores(team, w.reference_start, w.end)
    ref_scores, cur_scores = w.split(scores, "recorded_at")
    ref_mix, cur_mix = stats.category_mix(ref_rec["device"]), stats.category_mix(cur_rec["device"])
    score_n = min(ref_scores["predicted_phq9"].notna().sum(), cur_scores["predicted_phq9"].notna().sum())
    return {
        "windows": {"reference_start": w.reference_start.isoformat(), "current_start": w.current_start.isoformat(),
                    "end": w.end.isoformat()},
        "n": {"reference": int(len(ref_feat)), "current": int(len(cur_feat))},
        "feature_psi": {k: _finite_or_none(v) for k, v in stats.feature_drift(
            ref_feat, cur_feat, features=FEATURE_KEYS, min_n=MIN_N).items()},
        "rejection": {"n": int(len(finished)),
                      "rate": float((finished["status"] == Recording.Status.REJECTED).mean()) if len(finished)
                      else None},
        "device_mix": {"reference": ref_mix, "current": cur_mix,
                       "psi": _finite_or_none(stats.categorical_psi(ref_mix, cur_mix))},
        "scores": {"reference": stats.summary(ref_scores["predicted_phq9"]),
                   "current": stats.summary(cur_scores["predicted_phq9"]),
                   "psi": _finite_or_none(stats.psi(ref_scores["predicted_phq9"], cur_scores["predicted_phq9"]))
                   if score_n >= MIN_N else None},
        "calibration": _calibration(team, now),
        "emotion": _emotion(team, features, w, now),
    }


_MSG_FEATURE_DRIFT = gettext_noop("%(n)s input feature(s) drifted from the reference period: %(features)s. Device mix "
                                  "PSI %(device_psi)s.")
_MSG_REJECTION_RATE = gettext_noop("%(rate)s%% of the last %(n)s recordings were rejected by the quality gate.")
_MSG_SCORE_DRIFT = gettext_noop("The predicted PHQ-9 distribution shifted (PSI %(psi)s).")
_MSG_CALIBRATION = gettext_noop("Predicted PHQ-9 is off by %(mae)s points on average over %(n)s PHQ-9s.")
_MSG_EMOTION_RECALL = gettext_noop("Low recall on clinician-labelled samples: %(classes)s.")
_MSG_EMOTION_DRIFT = gettext_noop("The emotion predictions' class mix shifted (PSI %(psi)s).")


def _findings(payload: dict) -> dict[str, tuple[dict, dict]]:
    """Operator-alert kinds raised by a snapshot, with their message (English, and its template and values:
    ``{"message", "message_i18n"}`` as an alert's, screening.alerts.rules) and the figures behind them."""
    psi_limit = settings.CADENCE_MONITORING_PSI_THRESHOLD
    found = {}
    drifted = sorted(((v, k) for k, v in payload["feature_psi"].items() if v is not None and v >= psi_limit),
                     reverse=True)
    if drifted:
        names = ", ".join(f"{k} (PSI {v:.2f})" for v, k in drifted[:5])
        found[Kind.FEATURE_DRIFT] = (_message(_MSG_FEATURE_DRIFT, n=str(len(drifted)), features=names,
                                              device_psi=f"{payload['device_mix']['psi'] or 0:.2f}"),
                                     {"features": {k: v for v, k in drifted}})
    rejection = payload["rejection"]
    if rejection["n"] >= 20 and rejection["rate"] >= settings.CADENCE_MONITORING_REJECTION_THRESHOLD:
        found[Kind.REJECTION_RATE] = (_message(_MSG_REJECTION_RATE, rate=f"{rejection['rate'] * 100:.0f}",
                                               n=str(rejection["n"])), rejection)
    if (payload["scores"]["psi"] or 0) >= psi_limit:
        found[Kind.SCORE_DRIFT] = (_message(_MSG_SCORE_DRIFT, psi=f"{payload['scores']['psi']:.2f}"),
                                   payload["scores"])
    calibration = payload["calibration"]
    if calibration["n_pairs"] >= 10 and calibration["mae"] >= settings.CADENCE_MONITORING_MAE_THRESHOLD:
        found[Kind.CALIBRATION] = (_message(_MSG_CALIBRATION, mae=f"{calibration['mae']:.1f}",
                                            n=str(calibration["n_pairs"])), calibration)
    emotion = payload["emotion"] or {}
    low = {k: v for k, v in (emotion.get("recall") or {}).items()
           if v["n"] >= 10 and v["recall"] < settings.CADENCE_MONITORING_EMOTION_RECALL_THRESHOLD}
    if low:
        found[Kind.EMOTION_RECALL] = (_message(_MSG_EMOTION_RECALL, classes=", ".join(
            f"{k} {v['recall']:.0%} (n={v['n']})" for k, v in low.items())), low)
    if (emotion.get("psi") or 0) >= psi_limit:
        found[Kind.EMOTION_DRIFT] = (_message(_MSG_EMOTION_DRIFT, psi=f"{emotion['psi']:.2f}"),
                                     {"reference": emotion["reference_mix"], "current": emotion["current_mix"]})
    return found


def monitoring_run(*, team: CareTeam, now: datetime | None = None) -> MonitoringSnapshot:
    """Compute, store the snapshot, open one operator alert per finding and week, resolve what has cleared."""
    now = now or timezone.now()
    payload = monitoring_compute(team=team, now=now)
    findings = _findings(payload)
    w = Windows.ending(now)
    with transaction.atomic():
        snapshot = MonitoringSnapshot.objects.create(care_team=team, computed_at=now, window_start=w.current_start,
                                                     window_end=now, payload=payload)
        for kind, (message, details) in findings.items():
            OperatorAlert.objects.get_or_create(
                care_team=team, kind=kind, episode_key=f"{now:%G-W%V}",
                defaults={**message, "details": details, "snapshot": snapshot})
        OperatorAlert.objects.filter(care_team=team, state=OperatorAlert.State.OPEN).exclude(
            kind__in=list(findings)).update(state=OperatorAlert.State.RESOLVED, resolved_at=now)
    return snapshot


def monitoring_run_all(*, now: datetime | None = None) -> int:
    """The daily beat task's body: every care team with patients."""
    teams = CareTeam.objects.filter(patients__isnull=False).distinct()
    for team in teams:
        monitoring_run(team=team, now=now)
    return teams.count()
