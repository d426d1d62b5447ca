"""Screening writes: speaker consistency, baselines, risk scores, weekly scores, alerts.

One patient's screening is a pure computation on data loaded up front
(:func:`_screen_patient`); the per-recording task and the nightly run share it, and
the nightly run loads and writes everything for all patients in a fixed number of
queries, whatever the number of patients.
"""

import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from clinic.models import Patient, Phq9Response, Recording
from screening.models import Alert, BaselineSnapshot, RiskModel, RiskScore
from screening.scoring import alerts as rules_mod
from screening.scoring.baseline import BaselineRecording, build_baseline
from screening.scoring.deviation import Deviation, aggregate_deviations, deviation_from_baseline
from screening.scoring.risk import PRIOR_MODEL, RiskModel as ScoringModel
from screening.scoring.risk import patient_calibration, predict_risk
from voice_features.models import FeatureSet

logger = logging.getLogger(__name__)

PHQ9_WINDOW = timedelta(days=14)
_KIND = {"phq9_item9": Alert.Kind.SELF_HARM, "phq9_rise": Alert.Kind.PHQ9_RISE,
         "p_phq9_ge10": Alert.Kind.RISK_THRESHOLD, "overdue": Alert.Kind.OVERDUE,
         "speaker_mismatch": Alert.Kind.SPEAKER_MISMATCH}
_PRIORITY = {rules_mod.HIGH: Alert.Priority.HIGH, rules_mod.MEDIUM: Alert.Priority.MEDIUM,
             rules_mod.LOW: Alert.Priority.LOW}


# ---------------------------------------------------------------- alerts from PHQ-9


def alert_open(*, patient, kind: str, priority: int, message: str, episode_key: str, **refs) -> Alert | None:
    """Open an alert unless one already exists for this episode (returns None then)."""
    try:
        with transaction.atomic():
            return Alert.objects.create(patient=patient, kind=kind, priority=priority, message=message,
                                        episode_key=episode_key, **refs)
    except IntegrityError:
        return None


def _phq9_point(response: Phq9Response) -> rules_mod.Phq9Point:
    return rules_mod.Phq9Point(response_id=str(response.pk), answered_at=response.answered_at,
                               total=response.total, item9=response.item9)


def phq9_response_screen(*, response_id: int) -> Alert | None:
    """Item 9 above 0 opens a high-priority alert at once, whatever the voice says."""
    response = Phq9Response.objects.select_related("patient").get(pk=response_id)
    candidates = rules_mod.item9_alerts([_phq9_point(response)], patient_id=str(response.patient_id))
    if not candidates:
        return None
    candidate = candidates[0]
    return alert_open(patient=response.patient, kind=Alert.Kind.SELF_HARM, priority=Alert.Priority.HIGH,
                      message=candidate.message, episode_key=candidate.episode_key, phq9=response)


# ---------------------------------------------------------------- the active model


def active_risk_model() -> ScoringModel:
    """The fitted population model marked active, else the documented (uncalibrated) prior."""
    row = RiskModel.objects.filter(active=True).first()
    return ScoringModel.from_dict(row.payload) if row else PRIOR_MODEL


def alert_rules() -> rules_mod.AlertRules:
    return rules_mod.AlertRules(p_threshold=settings.CADENCE_RISK_PROBABILITY_THRESHOLD,
                                overdue_days=settings.CADENCE_OVERDUE_DAYS)


# ---------------------------------------------------------------- loading


@dataclass
class PatientData:
    patient: Patient
    feature_sets: list[FeatureSet]          # of processed recordings, oldest first
    rejected: list[Recording]
    phq9: list[Phq9Response]
    scores: dict[int, RiskScore]            # recording id -> recording-scope score
    week_scores: dict[datetime, RiskScore]
    last_recording_at: datetime | None = None


def _load(patient_ids: list[int]) -> dict[int, PatientData]:
    """Everything screening needs for these patients, in a fixed number of queries."""
    patients = {p.pk: p for p in Patient.objects.filter(pk__in=patient_ids)}
    data = {pid: PatientData(p, [], [], [], {}, {}) for pid, p in patients.items()}
    feature_sets = (FeatureSet.objects.filter(recording__patient_id__in=patient_ids, recording__status="done")
                    .select_related("recording").order_by("recording__recorded_at", "-computed_at"))
    seen = set()
    for fs in feature_sets.iterator(chunk_size=5000):
        if fs.recording_id not in seen:  # newest feature-set version of each recording
            seen.add(fs.recording_id)
            data[fs.recording.patient_id].feature_sets.append(fs)
    for rec in Recording.objects.filter(patient_id__in=patient_ids, status="rejected").only(
            "id", "patient_id", "recorded_at"):
        data[rec.patient_id].rejected.append(rec)
    for response in Phq9Response.objects.filter(patient_id__in=patient_ids).order_by("answered_at"):
        data[response.patient_id].phq9.append(response)
    for score in RiskScore.objects.filter(patient_id__in=patient_ids).iterator(chunk_size=5000):
        target = data[score.patient_id]
        if score.scope == RiskScore.Scope.RECORDING:
            target.scores[score.recording_id] = score
        else:
            target.week_scores[score.at] = score
    last = Recording.objects.filter(patient_id__in=patient_ids).values("patient_id").order_by()
    for row in last.annotate(latest=Max("recorded_at")):
        data[row["patient_id"]].last_recording_at = row["latest"]
    return data


# ---------------------------------------------------------------- one patient, pure


@dataclass
class Writes:
    feature_sets: list[FeatureSet] = field(default_factory=list)
    snapshots: list[tuple[BaselineSnapshot, list[RiskScore]]] = field(default_factory=list)
    new_scores: list[RiskScore] = field(default_factory=list)
    changed_scores: list[RiskScore] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)


def _embedding(fs: FeatureSet) -> list[float] | None:
    return (fs.embedding or {}).get("vector") if fs.embedding else None


def _speaker_consistency(feature_sets: list[FeatureSet], writes: Writes) -> None:
    """Enrolment centroid from the first valid recordings; later ones get a similarity.

    The mismatch threshold was calibrated for the GE2E encoder, so only its embeddings
    are compared (rows from another source keep the flag they came with).
    """
    from voice_features.embedding import EMBEDDING_MODEL_NAME
    from voice_features.speaker import (MIN_ENROLMENT_RECORDINGS, enrolment_centroid, is_speaker_mismatch,
                                        speaker_similarity)

    with_embedding = [fs for fs in feature_sets
                      if _embedding(fs) and fs.embedding.get("model") == EMBEDDING_MODEL_NAME]
    enrolment = with_embedding[:MIN_ENROLMENT_RECORDINGS]
    if len(enrolment) < MIN_ENROLMENT_RECORDINGS:
        return
    centroid = enrolment_centroid([np.asarray(_embedding(fs)) for fs in enrolment])
    for fs in with_embedding[MIN_ENROLMENT_RECORDINGS:]:
        similarity = speaker_similarity(np.asarray(_embedding(fs)), centroid)
        mismatch = is_speaker_mismatch(similarity)
        if fs.speaker_mismatch != mismatch or fs.speaker_similarity is None:
            fs.speaker_similarity, fs.speaker_mismatch = similarity, mismatch
            writes.feature_sets.append(fs)


def _baseline_records(data: PatientData) -> list[BaselineRecording]:
    records = [BaselineRecording(recording_id=str(fs.recording_id), recorded_at=fs.recording.recorded_at,
                                 features=fs.features, embedding=_embedding(fs),
                                 speaker_mismatch=bool(fs.speaker_mismatch)) for fs in data.feature_sets]
    records += [BaselineRecording(recording_id=str(r.pk), recorded_at=r.recorded_at, features={}, rejected=True)
                for r in data.rejected]
    return records


def _population_point(deviation: Deviation, model: ScoringModel) -> float:
    """The population model's predicted PHQ-9 (no personal offset), without the interval."""
    total = model.intercept
    for feature, coefficient in model.coefficients.items():
        z = deviation.z.get(feature, math.nan)
        total += coefficient * z if math.isfinite(z) else 0.0
    return min(max(total, 0.0), 27.0)


def _phq9_residuals(data: PatientData, deviations, model: ScoringModel) -> list[tuple[datetime, float]]:
    """Each PHQ-9 minus the population prediction of its 14-day voice aggregate."""
    residuals = []
    for response in data.phq9:
        window = [d for t, d in deviations if response.answered_at - PHQ9_WINDOW < t <= response.answered_at]
        if window:
            residuals.append((response.answered_at,
                              response.total - _population_point(aggregate_deviations(window), model)))
    return residuals


def _calibration(residuals: list[tuple[datetime, float]], model: ScoringModel, at: datetime):
    """Personal offset from the PHQ-9s answered up to ``at`` (shrunk toward the population)."""
    return patient_calibration([r for t, r in residuals if t <= at], model=model)


def _unchanged(score: RiskScore, model: ScoringModel, calibration) -> bool:
    stored = score.deviations
    return (score.risk_model_version == model.version and stored.get("n_phq9") == calibration.n
            and abs(stored.get("personal_offset", math.nan) - calibration.offset) < 1e-9)


def _fill_score(score: RiskScore, deviation: Deviation, prediction, model: ScoringModel) -> None:
    score.risk_model_version = model.version
    score.calibrated = model.calibrated
    score.predicted_phq9 = prediction.predicted_phq9
    score.predicted_phq9_low = prediction.interval_low
    score.predicted_phq9_high = prediction.interval_high
    score.prob_ge10 = prediction.p_phq9_ge10
    score.voice_deviation = None if math.isnan(deviation.composite) else deviation.composite
    score.deviations = deviation.to_dict() | {"personal_offset": prediction.personal_offset,
                                               "n_phq9": prediction.n_phq9}
    score.drivers = [d.to_dict() for d in prediction.drivers]


def _score_recordings(data: PatientData, model: ScoringModel, writes: Writes):
    """Deviation and risk of every valid processed recording; new baselines for new ones."""
    records = _baseline_records(data)
    fs_by_id = {str(fs.recording_id): fs for fs in data.feature_sets}
    deviations: list[tuple[datetime, Deviation, FeatureSet]] = []
    pending_snapshot: dict[tuple, tuple[BaselineSnapshot, list[RiskScore]]] = {}
    for rec in sorted(records, key=lambda r: r.recorded_at):
        if not rec.valid:
            continue
        fs = fs_by_id[rec.recording_id]
        existing = data.scores.get(fs.recording_id)
        if existing is not None and existing.deviations.get("z") is not None:
            deviation = Deviation.from_dict(existing.deviations)
        else:
            baseline = build_baseline(records, at=rec.recorded_at)
            if baseline is None:
                continue
            deviation = deviation_from_baseline(rec.features, baseline, embedding=rec.embedding)
            existing = RiskScore(patient=data.patient, recording_id=fs.recording_id, scope=RiskScore.Scope.RECORDING,
                                 at=rec.recorded_at)
            key = baseline.recording_ids
            if key not in pending_snapshot:
                snapshot = BaselineSnapshot(patient=data.patient, built_at=baseline.built_at, payload=baseline.to_dict(),
                                            n_recordings=len(baseline.recording_ids))
                pending_snapshot[key] = (snapshot, [])
                writes.snapshots.append(pending_snapshot[key])
            pending_snapshot[key][1].append(existing)
            existing._is_new = True
        deviations.append((rec.recorded_at, deviation, existing))
    plain = [(t, d) for t, d, _ in deviations]
    residuals = _phq9_residuals(data, plain, model)
    for at, deviation, score in deviations:
        calibration = _calibration(residuals, model, at)
        is_new = getattr(score, "_is_new", False)
        if not is_new and _unchanged(score, model, calibration):
            continue
        _fill_score(score, deviation, predict_risk(deviation, model=model, calibration=calibration), model)
        (writes.new_scores if is_new else writes.changed_scores).append(score)
    return plain, residuals


def _week_start(at: datetime) -> datetime:
    day = at.astimezone(timezone.get_current_timezone()).date()
    monday = day - timedelta(days=day.weekday())
    return datetime(monday.year, monday.month, monday.day, tzinfo=timezone.get_current_timezone())


def _score_weeks(data: PatientData, deviations, residuals, model: ScoringModel, writes: Writes) -> None:
    by_week: dict[datetime, list[Deviation]] = defaultdict(list)
    for at, deviation in deviations:
        by_week[_week_start(at)].append(deviation)
    for week, members in by_week.items():
        calibration = _calibration(residuals, model, week + timedelta(days=7))
        score = data.week_scores.get(week)
        if score is not None and _unchanged(score, model, calibration) and \
                score.deviations.get("n_recordings") == len(members):
            continue
        aggregate = aggregate_deviations(members)
        prediction = predict_risk(aggregate, model=model, calibration=calibration)
        if score is None:
            score = RiskScore(patient=data.patient, scope=RiskScore.Scope.WEEK, at=week)
            _fill_score(score, aggregate, prediction, model)
            writes.new_scores.append(score)
        else:
            _fill_score(score, aggregate, prediction, model)
            writes.changed_scores.append(score)


def _alerts(data: PatientData, model: ScoringModel, now: datetime, writes: Writes) -> None:
    scores = [s for s in list(data.scores.values()) + [s for s in writes.new_scores if s.scope == "recording"]
              if s.patient_id == data.patient.pk and s.predicted_phq9 is not None]
    points = [rules_mod.ScorePoint(recording_id=str(s.recording_id), recorded_at=s.at,
                                   predicted_phq9=s.predicted_phq9, p_phq9_ge10=s.prob_ge10) for s in scores]
    latest_offset = max(scores, key=lambda s: s.at).deviations.get("personal_offset", 0.0) if scores else 0.0
    recordings = [rules_mod.RecordingPoint(recording_id=str(fs.recording_id), recorded_at=fs.recording.recorded_at,
                                           speaker_mismatch=bool(fs.speaker_mismatch)) for fs in data.feature_sets]
    enrolled = datetime.combine(data.patient.enrolled_on, datetime.min.time(), tzinfo=timezone.get_current_timezone())
    candidates = rules_mod.evaluate_alerts(
        patient_id=str(data.patient.pk), now=now, scores=points, phq9s=[_phq9_point(p) for p in data.phq9],
        recordings=recordings, baseline_phq9=model.intercept + latest_offset,
        last_recording_at=data.last_recording_at, enrolled_at=enrolled, rules=alert_rules(),
    )
    for candidate in candidates:
        if candidate.ongoing or candidate.kind == "phq9_item9":
            writes.alerts.append(Alert(patient=data.patient, kind=_KIND[candidate.kind],
                                       priority=_PRIORITY[candidate.priority], message=candidate.message,
                                       episode_key=candidate.episode_key))


def _screen_patient(data: PatientData, *, model: ScoringModel, now: datetime) -> Writes:
    writes = Writes()
    _speaker_consistency(data.feature_sets, writes)
    deviations, residuals = _score_recordings(data, model, writes)
    _score_weeks(data, deviations, residuals, model, writes)
    if data.patient.active:
        _alerts(data, model, now, writes)
    return writes


# ---------------------------------------------------------------- writing


_SCORE_FIELDS = ["risk_model_version", "calibrated", "predicted_phq9", "predicted_phq9_low", "predicted_phq9_high",
                 "prob_ge10", "voice_deviation", "deviations", "drivers"]


def _apply(all_writes: list[Writes]) -> dict[str, int]:
    feature_sets = [fs for w in all_writes for fs in w.feature_sets]
    snapshots = [pair for w in all_writes for pair in w.snapshots]
    new_scores = [s for w in all_writes for s in w.new_scores]
    changed = [s for w in all_writes for s in w.changed_scores]
    alerts = [a for w in all_writes for a in w.alerts]
    with transaction.atomic():
        FeatureSet.objects.bulk_update(feature_sets, ["speaker_similarity", "speaker_mismatch"], batch_size=2000)
        created = BaselineSnapshot.objects.bulk_create([s for s, _ in snapshots], batch_size=2000)
        for snapshot, (_, scores) in zip(created, snapshots, strict=True):
            for score in scores:
                score.baseline = snapshot
        RiskScore.objects.bulk_create(new_scores, batch_size=2000, ignore_conflicts=True)
        RiskScore.objects.bulk_update(changed, _SCORE_FIELDS, batch_size=2000)
        known = set(Alert.objects.filter(patient_id__in={a.patient_id for a in alerts})
                    .values_list("patient_id", "kind", "episode_key"))
        fresh = [a for a in alerts if (a.patient_id, a.kind, a.episode_key) not in known]
        Alert.objects.bulk_create(fresh, batch_size=2000, ignore_conflicts=True)
        opened = len(fresh)
    return {"speaker_updates": len(feature_sets), "baselines": len(snapshots), "new_scores": len(new_scores),
            "rescored": len(changed), "alerts_opened": opened}


def patients_screen(*, patient_ids: list[int], now: datetime | None = None) -> dict[str, int]:
    """Screen these patients: a fixed number of queries for any number of them."""
    now = now or timezone.now()
    model = active_risk_model()
    data = _load(patient_ids)
    return _apply([_screen_patient(d, model=model, now=now) for d in data.values()])


def recording_screen(*, recording_id: int) -> dict[str, int]:
    """After a recording's features are stored: its baseline, score and the patient's alerts."""
    patient_id = Recording.objects.values_list("patient_id", flat=True).get(pk=recording_id)
    return patients_screen(patient_ids=[patient_id])


def run_screening(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic screening: re-score every active patient, weekly scores, overdue and other alerts."""
    from voice_features.services import recordings_sweep_stale
    from voice_features.tasks import process_recording

    swept = recordings_sweep_stale()
    for recording_id in swept:
        process_recording.delay(recording_id)
    ids = list(Patient.objects.filter(active=True).values_list("pk", flat=True))
    summary = patients_screen(patient_ids=ids, now=now) | {"requeued_recordings": len(swept)}
    summary["patients"] = len(ids)
    logger.info("screening: %s", summary)
    return summary


def validation_report_build(*, trigger: str = "manual"):
    """Build and keep a PHQ-9 validation report (see :mod:`screening.modeling`)."""
    from screening.modeling import validation_report_build as build

    return build(trigger=trigger)
