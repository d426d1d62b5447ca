"""Screening writes: speaker consistency, baselines, risk scores, weekly scores, alerts.

One patient's screening is a pure computation on data loaded up front
(:func:`_screen_patient`); the per-recording task and the nightly run share it, and
the nightly run loads and writes everything for all patients in a fixed number of
queries, whatever the number of patients.
"""

import functools
import logging
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import numpy as np
import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, TextField, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from clinic.metrics import SCREENING_SECONDS
from clinic.models import Patient, Phq9Response, Recording
from clinic.processing.models import FeatureSet, vector_from_bytes
from clinic.processing.tasks import sweep_stale_recordings
from screening.alerts import alert_open, alert_trigger_refs, alerts_open_or_update, overdue_resolve_ended
from screening.baselines import (
    BaselinePlan,
    baseline_candidates,
    baseline_keys,
    baseline_plan,
    baseline_record,
    baseline_records,
    phone_segments,
)
from screening.bulk import among, delete_by_pk, insert_ignoring_conflicts, insert_with_keys, update_by_pk
from screening.models import Alert, BaselineSnapshot, RiskModel, RiskScore
from screening.reliability.service import reliability_weights_by_task
from screening.scoring import alerts as rules_mod
from screening.scoring.baseline import BaselineRecording, build_baseline
from screening.scoring.calibration import patient_calibration, phq9_residuals
from screening.scoring.deviation import Deviation, aggregate_deviations, deviation_from_baseline
from screening.scoring.model import (
    PRIOR_MODEL,
    PredictiveNumbers,
    population_phq9,
    predict_risk,
    predictive_numbers,
    unclipped_population,
)
from screening.scoring.model import RiskModel as ScoringModel
from voice_features.embedding import EMBEDDING_MODEL_NAME

logger = logging.getLogger(__name__)

_KIND = {"phq9_item9": Alert.Kind.SELF_HARM, "phq9_rise": Alert.Kind.PHQ9_RISE,
         "p_phq9_ge10": Alert.Kind.RISK_THRESHOLD, "overdue": Alert.Kind.OVERDUE,
         "speaker_mismatch": Alert.Kind.SPEAKER_MISMATCH}
_PRIORITY = {rules_mod.HIGH: Alert.Priority.HIGH, rules_mod.MEDIUM: Alert.Priority.MEDIUM,
             rules_mod.LOW: Alert.Priority.LOW}


# ---------------------------------------------------------------- alerts from PHQ-9


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


def active_risk_model_row() -> tuple[ScoringModel, RiskModel | None]:
    """The fitted population model marked active and its row, else the documented prior and None."""
    row = RiskModel.objects.filter(active=True).first()
    return (ScoringModel.from_dict(row.payload), row) if row else (PRIOR_MODEL, None)


def active_risk_model() -> ScoringModel:
    """The fitted population model marked active, else the documented (uncalibrated) prior."""
    return active_risk_model_row()[0]


def alert_rules() -> rules_mod.AlertRules:
    return rules_mod.AlertRules(p_threshold=settings.CADENCE_RISK_PROBABILITY_THRESHOLD,
                                overdue_days=settings.CADENCE_OVERDUE_DAYS)


# ---------------------------------------------------------------- loading
#
# The nightly run reads every patient in a light form first (scalars only, no JSON),
# decides per patient whether anything can have changed (a new recording, a new PHQ-9
# that moves the personal offset, a new model, a speaker check due), and loads the
# detail (features, deviations, embeddings) only for those patients. Both steps take a
# fixed number of queries whatever the number of patients.


@dataclass
class ScoreRow:
    pk: int
    recording_id: int | None
    at: datetime
    model_version: str
    predicted_phq9: float | None
    prob_ge10: float | None
    population_phq9: float | None
    personal_offset: float | None
    n_phq9: int | None
    n_recordings: int


@dataclass
class LightPatient:
    patient: Patient
    valid: list[tuple[int, datetime]] = field(default_factory=list)       # processed, accepted, same speaker
    scores: dict[int, ScoreRow] = field(default_factory=dict)
    weeks: dict[datetime, ScoreRow] = field(default_factory=dict)
    phq9: list[tuple[int, datetime, int, int]] = field(default_factory=list)  # id, answered_at, total, item9
    mismatched: list[tuple[int, datetime]] = field(default_factory=list)
    last_recording_at: datetime | None = None
    speaker_check_due: bool = False


_SCORE_VALUES = ("pk", "recording_id", "at_text", "risk_model_version", "predicted_phq9", "prob_ge10", "population_phq9",
                 "personal_offset", "n_phq9", "n_recordings")


def _timestamp(name: str):
    """A timestamp column read as text: a light load reads over a million of them a night, and
    ``datetime.fromisoformat`` parses one in a fraction of the time the database driver's Python
    loader takes (the same aware datetimes: the connection's time zone is UTC)."""
    return Cast(name, output_field=TextField()) if connection.vendor == "postgresql" else F(name)


def _text(name: str) -> Cast:
    """A JSON column read as its text, for :func:`_json`."""
    return Cast(name, output_field=TextField())


def _json(text: str):
    """JSON text as Python values: orjson gives the same values as the standard library (floats correctly
    rounded both ways) in an eighth of the time, and a catch-up night decodes the features of some 250,000
    recordings and the baseline recording ids of some 450,000 stored scores."""
    return orjson.loads(text)


def _datetime(value) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _light_load(patient_ids: list[int]) -> dict[int, LightPatient]:
    data = {p.pk: LightPatient(p) for p in Patient.objects.filter(pk__in=patient_ids)}
    # Rows that go into sets and dicts are read without the models' default ordering: a sort of a chunk's
    # rows that nothing reads.
    mismatched = set(FeatureSet.objects.filter(recording__patient_id__in=patient_ids, speaker_mismatch=True)
                     .order_by().values_list("recording_id", flat=True))
    recordings = (Recording.objects.filter(patient_id__in=patient_ids)
                  .annotate(at_text=_timestamp("recorded_at")).values_list("pk", "patient_id", "at_text", "status"))
    parse = _datetime
    for pk, patient_id, recorded_at, status in recordings.order_by("recorded_at").iterator(chunk_size=20000):
        light = data[patient_id]
        light.last_recording_at = recorded_at = parse(recorded_at)
        if status == Recording.Status.DONE:
            (light.mismatched if pk in mismatched else light.valid).append((pk, recorded_at))
    due = (FeatureSet.objects.filter(recording__patient_id__in=patient_ids, recording__status="done",
                                     speaker_similarity__isnull=True, embedding_vector__isnull=False,
                                     embedding_model=EMBEDDING_MODEL_NAME)
           .order_by().values_list("recording__patient_id", flat=True).distinct())
    for patient_id in due:
        data[patient_id].speaker_check_due = True
    scores = (RiskScore.objects.filter(patient_id__in=patient_ids).annotate(at_text=_timestamp("at"))
              .values_list("patient_id", "scope", *_SCORE_VALUES))
    for patient_id, scope, pk, recording_id, at, *values in scores.iterator(chunk_size=20000):
        row = ScoreRow(pk, recording_id, parse(at), *values)
        if scope == RiskScore.Scope.RECORDING:
            data[patient_id].scores[row.recording_id] = row
        else:
            data[patient_id].weeks[row.at] = row
    answers = (Phq9Response.objects.filter(patient_id__in=patient_ids).annotate(at_text=_timestamp("answered_at"))
               .order_by("answered_at").values_list("patient_id", "pk", "at_text", "total", "item9"))
    for patient_id, pk, answered_at, total, item9 in answers:
        data[patient_id].phq9.append((pk, parse(answered_at), total, item9))
    return data


def _residuals(phq9: list[tuple[int, datetime, int, int]], population) -> list[tuple[datetime, float]]:
    return phq9_residuals([(answered_at, total) for _, answered_at, total, _ in phq9], population)


def _level(residuals: list[tuple[datetime, float]], model: ScoringModel):
    """The patient's level from every PHQ-9 so far: ``Calibrations(residuals, model).latest``
    without the levels at each earlier count, which the nightly run never reads."""
    return patient_calibration([r for _, r in residuals], model=model)


def _matches(row: ScoreRow, model: ScoringModel, calibration) -> bool:
    return (row.model_version == model.version and row.n_phq9 == calibration.n
            and row.personal_offset is not None and abs(row.personal_offset - calibration.offset) < 1e-9)


def _week_start(at: datetime, zone=None) -> datetime:
    zone = zone or timezone.get_current_timezone()
    return _monday(at.astimezone(zone).date(), zone)


@functools.lru_cache(maxsize=4096)
def _monday(day: date, zone) -> datetime:
    monday = day - timedelta(days=day.weekday())
    return datetime(monday.year, monday.month, monday.day, tzinfo=zone)


def _needs_detail(light: LightPatient, model: ScoringModel) -> bool:
    """Could anything stored for this patient be out of date?"""
    if light.speaker_check_due or any(pk not in light.scores for pk, _ in light.valid):
        return True
    scored = [r for r in light.scores.values() if r.population_phq9 is not None]
    level = _level(_residuals(light.phq9, [(r.at, r.population_phq9) for r in scored]), model)
    if any(not _matches(r, model, level) for r in scored):
        return True
    weeks: dict[datetime, int] = defaultdict(int)
    zone = timezone.get_current_timezone()
    for r in scored:
        weeks[_week_start(r.at, zone)] += 1
    for week, n in weeks.items():
        row = light.weeks.get(week)
        if row is None or row.n_recordings != n or not _matches(row, model, level):
            return True
    return False


# ---------------------------------------------------------------- detail: plan, then load what the plan reads
#
# A stale patient is screened in two steps. Planning reads plain columns only: each processed
# recording's time, task and phone, and what each stored score says about the baseline it was
# scored against. It decides which recordings get a new score (and so which feature sets their
# baselines read), which stored scores keep their deviations and only need the patient's new level,
# and which need their stored deviations again. Then one query reads those feature sets and one
# those deviations, for every patient of the chunk at once. A catch-up night thus reads the
# features of tonight's recordings and their baselines, not every feature set of every patient.


@dataclass
class RecordingRow:
    """What screening reads of a processed recording (its task, time and phone)."""

    patient_id: int
    recorded_at: datetime
    device_model: str
    codec: str
    task: str
    language: str


@dataclass
class FeatureRow:
    """The newest feature set of a processed recording: the attributes of :class:`FeatureSet` that screening
    reads, as plain values. ``features``, ``vector`` (the voice embedding, from ``FeatureSet.embedding_vector``)
    and ``emotion`` are None until loaded; the embedding's model ("" without one) is read with the plan,
    for the speaker check."""

    pk: int
    recording_id: int
    speaker_similarity: float | None
    speaker_mismatch: bool | None
    embedding_model: str
    recording: RecordingRow
    features: dict | None = None
    vector: np.ndarray | None = None
    emotion: dict | None = None

    @property
    def has_embedding(self) -> bool:
        return bool(self.embedding_model)


@dataclass
class StoredScore:
    """A stored recording score as planning reads it: its light row, and from its deviations only what
    says which baseline it was scored against (``summary``, the keys :meth:`BaselinePlan.holds_for` reads;
    the baseline's recording ids as a tuple of strings)."""

    row: ScoreRow
    task: str
    baseline_id: int | None
    summary: dict


@dataclass
class PatientData:
    light: LightPatient
    feature_sets: list[FeatureRow] = field(default_factory=list)   # newest version of each recording, oldest first
    stored: dict[int, StoredScore] = field(default_factory=dict)   # recording id -> recording-scope score

    @property
    def patient(self) -> Patient:
        return self.light.patient

    @functools.cached_property
    def segments(self) -> dict[str, tuple[int, str]]:
        """One cut of the recordings into phone segments, for the speaker check and the baselines."""
        return phone_segments(self.feature_sets)

    def by_segment(self, keep) -> dict[int, list[FeatureRow]]:
        """The feature sets ``keep`` accepts, in time order, by phone segment."""
        groups: dict[int, list[FeatureRow]] = defaultdict(list)
        for fs in self.feature_sets:
            if keep(fs):
                groups[self.segments[str(fs.recording_id)][0]].append(fs)
        return groups


_META_VALUES = ("pk", "recording_id", "speaker_similarity", "speaker_mismatch", "embedding_model",
                "recording__patient_id", "at_text", "recording__device_model", "recording__codec", "recording__task",
                "recording__language")


def _load_plan_data(lights: list[LightPatient]) -> list[PatientData]:
    """The stale patients' processed recordings and stored scores, without their JSON: two queries."""
    data = {light.patient.pk: PatientData(light) for light in lights}
    ids = list(data)
    feature_sets = (FeatureSet.objects.filter(recording__patient_id__in=ids, recording__status="done")
                    .annotate(at_text=_timestamp("recording__recorded_at"))
                    .order_by("recording__recorded_at", "-computed_at").values_list(*_META_VALUES))
    seen = set()
    parse = _datetime
    for *values, patient_id, recorded_at, device_model, codec, task, language in feature_sets.iterator(
            chunk_size=20000):
        if values[1] not in seen:
            seen.add(values[1])
            data[patient_id].feature_sets.append(
                FeatureRow(*values, RecordingRow(patient_id, parse(recorded_at), device_model, codec, task, language)))
    stored = (RiskScore.objects.filter(patient_id__in=ids, scope=RiskScore.Scope.RECORDING).order_by()
              .annotate(status=KT("deviations__status"), reason=KT("deviations__reason"),
                        baseline_ids=KT("deviations__baseline_recording_ids"),
                        has_z=Case(When(deviations__has_key="z", then=Value(True)), default=Value(False)))
              .values_list("patient_id", "recording_id", "task", "baseline_id", "status", "reason", "baseline_ids",
                           "has_z"))
    for patient_id, recording_id, task, baseline_id, status, reason, baseline_ids, has_z in stored.iterator(
            chunk_size=20000):
        row = data[patient_id].light.scores.get(recording_id)
        if row is None:  # scored after the light load (a concurrent task): planned as unscored
            continue
        summary = {"status": status, "reason": reason, "z": {} if has_z else None,
                   "baseline_recording_ids": tuple(map(str, _json(baseline_ids))) if baseline_ids else ()}
        data[patient_id].stored[recording_id] = StoredScore(row, task, baseline_id, summary)
    return list(data.values())


def _load_values(rows: list[FeatureRow], *, embeddings_only: bool = False) -> None:
    """Fill in these feature sets (one query): features, embedding vector and emotion, or the vector. The
    vector is read from its float64 column, not from the embedding's JSON (the same numbers, decoded in a
    fraction of the time)."""
    if not rows:
        return
    by_pk = {row.pk: row for row in rows}
    queryset = FeatureSet.objects.filter(among("pk", list(by_pk))).order_by()
    if embeddings_only:
        for pk, vector in queryset.values_list("pk", "embedding_vector").iterator(chunk_size=5000):
            by_pk[pk].vector = vector_from_bytes(vector)
        return
    # The JSON is read as text and decoded here (:func:`_json`), not by the field's converter.
    queryset = queryset.annotate(features_text=_text("features"), emotion_text=_text("emotion"))
    loads = _json
    for pk, features, vector, emotion in queryset.values_list(
            "pk", "features_text", "embedding_vector", "emotion_text").iterator(chunk_size=5000):
        row = by_pk[pk]
        row.features, row.vector = loads(features), vector_from_bytes(vector)
        row.emotion = None if emotion is None else loads(emotion)


def _compared(fs: FeatureRow) -> bool:
    """Does the speaker check compare this feature set? Its vector is loaded and comes from the encoder the
    mismatch threshold was calibrated for."""
    return fs.vector is not None and fs.embedding_model == EMBEDDING_MODEL_NAME


def _speaker_rows(data: PatientData) -> list[FeatureRow]:
    """The feature sets whose embeddings a patient's speaker check reads: the recordings not checked yet, and
    each phone segment's enrolment (its first checked recordings; all of a segment with fewer). The check
    of the others stands while the enrolment does (:func:`_load_speaker_embeddings`)."""
    from voice_features.speaker import MIN_ENROLMENT_RECORDINGS

    rows = []
    for members in data.by_segment(lambda fs: fs.has_embedding).values():
        checked = [fs for fs in members if fs.speaker_similarity is not None]
        if len(checked) < MIN_ENROLMENT_RECORDINGS:
            rows += members
        else:
            enrolment = {fs.pk for fs in checked[:MIN_ENROLMENT_RECORDINGS]}
            rows += [fs for fs in members if fs.pk in enrolment or fs.speaker_similarity is None]
    return rows


def _load_speaker_embeddings(patients: list[PatientData]) -> None:
    """Embeddings for the speaker check of the patients who have a recording waiting for it (two queries at
    most). A new recording is compared with its segment's enrolment, so only the enrolment's embeddings and
    the unchecked ones are read; where an unchecked recording is itself part of an enrolment (uploaded late,
    or the first of a new phone), the enrolment changes and every embedding of the patient is read."""
    from voice_features.speaker import MIN_ENROLMENT_RECORDINGS

    due = [data for data in patients if data.light.speaker_check_due]
    _load_values([fs for data in due for fs in _speaker_rows(data)], embeddings_only=True)
    everything = [data for data in due if any(
        fs.speaker_similarity is None
        for members in data.by_segment(_compared)
        .values() for fs in members[:MIN_ENROLMENT_RECORDINGS])]
    _load_values([fs for data in everything for fs in data.feature_sets if fs.has_embedding and fs.vector is None],
                 embeddings_only=True)


def _load_deviations(pks: list[int]) -> dict[int, Deviation]:
    """The stored deviations of these scores (one query)."""
    if not pks:
        return {}
    rows = (RiskScore.objects.filter(among("pk", pks)).order_by().annotate(text=_text("deviations"))
            .values_list("pk", "text").iterator(chunk_size=5000))
    return {pk: Deviation.from_dict(_json(text)) for pk, text in rows}


@dataclass
class Writes:
    feature_sets: list[FeatureSet] = field(default_factory=list)
    snapshots: list[tuple[BaselineSnapshot, list[RiskScore]]] = field(default_factory=list)
    new_scores: list[RiskScore] = field(default_factory=list)
    changed_scores: list[RiskScore] = field(default_factory=list)
    # Stored scores whose deviations and drivers stand and whose level changed: (patient id, row, new numbers).
    repredicted: list[tuple[int, ScoreRow, PredictiveNumbers]] = field(default_factory=list)
    # Stored scores predicted again with their stored deviation (a new model): updated in place.
    refilled: list[RiskScore] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    screened: list[int] = field(default_factory=list)


def _speaker_consistency(feature_sets: list[FeatureRow], segments: dict[str, tuple[int, str]], writes: Writes) -> None:
    """Enrolment centroid from the first valid recordings of each phone; later ones get a similarity.

    The mismatch threshold was calibrated for the GE2E encoder, so only its embeddings
    are compared (rows from another source keep the flag they came with). A new phone
    re-enrols (``voice_features.speaker.speaker_checks``): the channel change alone moves
    the embedding past the threshold.
    """
    from voice_features.speaker import speaker_checks

    with_embedding = [fs for fs in feature_sets if _compared(fs)]
    if not with_embedding:
        return
    checks = speaker_checks([fs.vector for fs in with_embedding],
                            [segments[str(fs.recording_id)][0] for fs in with_embedding])
    for fs, (similarity, mismatch) in zip(with_embedding, checks, strict=True):
        if similarity is None:
            continue
        if fs.speaker_mismatch != mismatch or fs.speaker_similarity is None:
            fs.speaker_similarity, fs.speaker_mismatch = similarity, mismatch
            writes.feature_sets.append(FeatureSet(pk=fs.pk, speaker_similarity=similarity, speaker_mismatch=mismatch))


def _fill_score(score: RiskScore, deviation: Deviation, prediction, model: ScoringModel,
                population: float | None = None) -> None:
    score.risk_model_version = model.version
    score.calibrated = model.calibrated
    score.predicted_phq9 = prediction.predicted_phq9
    score.predicted_phq9_low = prediction.interval_low
    score.predicted_phq9_high = prediction.interval_high
    score.prob_ge10 = prediction.p_phq9_ge10
    score.population_phq9 = population_phq9(deviation.z, model=model) if population is None else population
    score.personal_offset = prediction.personal_offset
    score.n_phq9 = prediction.n_phq9
    score.n_recordings = deviation.n_recordings
    score.voice_deviation = None if math.isnan(deviation.composite) else deviation.composite
    score.deviations = deviation.to_dict()
    score.drivers = [d.to_dict() for d in prediction.drivers]


def _pending(data: PatientData, fs: FeatureRow, plan: BaselinePlan) -> RiskScore:
    """A recording made while its task's baseline is still being built (first recordings, new phone): said so."""
    return RiskScore(patient=data.patient, recording_id=fs.recording_id, scope=RiskScore.Scope.RECORDING,
                     at=fs.recording.recorded_at, task=fs.recording.task, risk_model_version="", calibrated=False,
                     deviations=plan.pending_payload(fs.recording.task))


def _needs_deviations(row: ScoreRow, model: ScoringModel) -> bool:
    """Can this stored score be re-predicted without its deviations? Not after a model change (the drivers
    and the population PHQ-9 change) nor where its population PHQ-9 was clipped to the scale."""
    return row.model_version != model.version or unclipped_population(row.population_phq9) is None


@dataclass
class PatientPlan:
    """One stale patient's screening, decided from plain columns (see the section's comment)."""

    data: PatientData
    # The valid recordings that have a baseline, in time order: (record, its baseline plan if it gets a new
    # deviation tonight else None, its stored score or None).
    entries: list[tuple[BaselineRecording, BaselinePlan | None, StoredScore | None]] = field(default_factory=list)
    rebuilt_weeks: set[datetime] = field(default_factory=set)
    fresh_weeks: set[datetime] = field(default_factory=set)      # weeks with a member scored afresh tonight

    def feature_rows(self) -> list[FeatureRow]:
        """The feature sets the fresh deviations read: the recordings' own and their baselines'."""
        wanted = {rec.recording_id for rec, baseline, _ in self.entries if baseline is not None}
        wanted.update(r.recording_id for _, baseline, _ in self.entries if baseline is not None
                      for r in baseline.chosen)
        return [fs for fs in self.data.feature_sets if str(fs.recording_id) in wanted]

    def deviation_pks(self, model: ScoringModel, zone) -> list[int]:
        """Stored scores whose deviations are read: those :func:`_needs_deviations` names, and the members
        of every week whose aggregate is rebuilt."""
        return [stored.row.pk for rec, baseline, stored in self.entries if baseline is None
                and (_needs_deviations(stored.row, model) or _week_start(rec.recorded_at, zone) in self.rebuilt_weeks)]


def _plan(data: PatientData, model: ScoringModel, writes: Writes) -> PatientPlan:
    """Which recordings get a new deviation (the baseline they would get now is not the one their stored
    score was scored against: a new recording, a late upload with an earlier ``recorded_at``, a phone change
    found in between), which scores stand, and which weeks' aggregates are rebuilt (new or re-scored
    members, another count of members, or an aggregate that needs its members' deviations)."""
    if data.light.speaker_check_due:
        _speaker_consistency(data.feature_sets, data.segments, writes)
    records, segment_index = baseline_records(data.feature_sets, data.segments, with_values=False)
    plan = PatientPlan(data)
    candidates = baseline_candidates(records)
    fs_by_id = {str(fs.recording_id): fs for fs in data.feature_sets}
    members: dict[datetime, int] = defaultdict(int)
    zone = timezone.get_current_timezone()
    for rec in records:
        if not rec.valid:
            continue
        stored = data.stored.get(int(rec.recording_id))
        baseline = baseline_plan(rec, segment_index[rec.recording_id], candidates)
        holds = stored is not None and baseline.holds_for(stored.summary)
        if not baseline.recording_ids:
            if not holds:
                pending = _pending(data, fs_by_id[rec.recording_id], baseline)
                pending.pk = stored.row.pk if stored is not None else None
                (writes.new_scores if stored is None else writes.changed_scores).append(pending)
            continue
        week = _week_start(rec.recorded_at, zone)
        members[week] += 1
        plan.entries.append((rec, None if holds else baseline, stored))
        if not holds:
            plan.rebuilt_weeks.add(week)
            plan.fresh_weeks.add(week)
    for week, n in members.items():
        row = data.light.weeks.get(week)
        if row is None or row.n_recordings != n or _needs_deviations(row, model):
            plan.rebuilt_weeks.add(week)
    return plan


def _score(plan: PatientPlan, model: ScoringModel, writes: Writes, reliability: dict[str, dict[str, float]],
           stored_deviations: dict[int, Deviation]) -> None:
    """Deviation and risk of the planned recordings against their own task's and phone's baseline, the
    patient's level from every PHQ-9, the stored scores it moves, and the weekly aggregates.

    The composite voice deviation weights each feature by its test–retest reliability for the
    recording's task (``reliability``: task -> factors, from ``manage.py feature_reliability``).
    """
    data = plan.data
    full = {str(fs.recording_id): baseline_record(fs, data.segments) for fs in plan.feature_rows()}
    snapshots: dict[tuple, tuple[BaselineSnapshot, list[RiskScore]]] = {}
    # (recorded_at, population PHQ-9, deviation (None where not read), new score or None, stored score or None)
    scored: list[tuple[datetime, float, Deviation | None, RiskScore | None, StoredScore | None]] = []
    for rec, baseline_plan_, stored in plan.entries:
        if baseline_plan_ is None:  # the stored score's deviation stands
            deviation = stored_deviations.get(stored.row.pk)
            population = (stored.row.population_phq9 if not _needs_deviations(stored.row, model)
                          else population_phq9(deviation.z, model=model))
            scored.append((rec.recorded_at, population, deviation, None, stored))
            continue
        chosen = [full[r.recording_id] for r in baseline_plan_.chosen]
        baseline = build_baseline(chosen, at=rec.recorded_at, feature_keys=baseline_keys(chosen), task=rec.task,
                                  segment=rec.segment, chosen=(chosen, baseline_plan_.kind))
        score = RiskScore(pk=stored.row.pk if stored is not None else None, patient=data.patient,
                          recording_id=int(rec.recording_id), scope=RiskScore.Scope.RECORDING, at=rec.recorded_at,
                          task=rec.task)
        key = (rec.task, baseline.recording_ids)
        if key not in snapshots:
            snapshots[key] = (BaselineSnapshot(patient=data.patient, built_at=baseline.built_at, task=rec.task,
                                               payload=baseline.to_dict(), n_recordings=len(baseline.recording_ids)),
                              [])
            writes.snapshots.append(snapshots[key])
        snapshots[key][1].append(score)
        record = full[rec.recording_id]
        deviation = deviation_from_baseline(record.features, baseline, embedding=record.embedding,
                                            reliability=reliability.get(rec.task))
        scored.append((rec.recorded_at, population_phq9(deviation.z, model=model), deviation, score, stored))
    # One personal level for the patient's whole curve: the one from every PHQ-9 so far
    # (see screening.scoring.calibration for why it does not step along the curve).
    calibration = _level(_residuals(data.light.phq9, [(at, population) for at, population, *_ in scored]), model)
    for _, population, deviation, score, stored in scored:
        if score is not None:
            _fill_score(score, deviation, predict_risk(deviation, model=model, calibration=calibration), model,
                        population)
            (writes.new_scores if stored is None else writes.changed_scores).append(score)
        elif _matches(stored.row, model, calibration):
            continue
        elif not _needs_deviations(stored.row, model):
            writes.repredicted.append((data.patient.pk, stored.row, _repredict(stored.row, model, calibration)))
        else:  # another model (or a clipped population PHQ-9): its deviation stands, its prediction is new
            score = RiskScore(pk=stored.row.pk, patient=data.patient, recording_id=stored.row.recording_id,
                              scope=RiskScore.Scope.RECORDING, at=stored.row.at, task=stored.task,
                              baseline_id=stored.baseline_id)
            _fill_score(score, deviation, predict_risk(deviation, model=model, calibration=calibration), model,
                        population)
            writes.refilled.append(score)
    _score_weeks(plan, scored, calibration, model, writes)


def _row(score: RiskScore) -> ScoreRow:
    return ScoreRow(score.pk, score.recording_id, score.at, score.risk_model_version, score.predicted_phq9,
                    score.prob_ge10, score.population_phq9, score.personal_offset, score.n_phq9, score.n_recordings)


def _repredict(row: ScoreRow, model: ScoringModel, calibration) -> PredictiveNumbers:
    """New numbers for a stored score whose deviations, drivers and population PHQ-9 stand (same model, an
    unclipped population PHQ-9) but whose patient level changed: ``predict_risk``'s floats, without the
    deviations."""
    return predictive_numbers(unclipped_population(row.population_phq9), model=model, calibration=calibration)


def _score_weeks(plan: PatientPlan, scored, calibration, model: ScoringModel, writes: Writes) -> None:
    """Weekly aggregates: rebuilt from their members' deviations where :func:`_plan` said so, re-predicted
    from their stored population PHQ-9 where only the level changed."""
    by_week: dict[datetime, list[Deviation | None]] = defaultdict(list)
    zone = timezone.get_current_timezone()
    for at, _, deviation, _, _ in scored:
        by_week[_week_start(at, zone)].append(deviation)
    for week, members in by_week.items():
        row = plan.data.light.weeks.get(week)
        if week not in plan.rebuilt_weeks:
            if not _matches(row, model, calibration):
                writes.repredicted.append((plan.data.patient.pk, row, _repredict(row, model, calibration)))
            continue
        if week not in plan.fresh_weeks and row is not None and row.n_recordings == len(members) and \
                _matches(row, model, calibration):
            continue
        score = RiskScore(pk=None if row is None else row.pk, patient=plan.data.patient, scope=RiskScore.Scope.WEEK,
                          at=week)
        aggregate = aggregate_deviations(members)
        _fill_score(score, aggregate, predict_risk(aggregate, model=model, calibration=calibration), model)
        (writes.new_scores if row is None else writes.changed_scores).append(score)


# ---------------------------------------------------------------- alerts


def _alerts(light: LightPatient, scores: list[ScoreRow], model: ScoringModel, now: datetime) -> list[Alert]:
    points = [rules_mod.ScorePoint(recording_id=str(s.recording_id), recorded_at=s.at,
                                   predicted_phq9=s.predicted_phq9, p_phq9_ge10=s.prob_ge10)
              for s in scores if s.predicted_phq9 is not None]
    latest = max((s for s in scores if s.personal_offset is not None), key=lambda s: s.at, default=None)
    recordings = [rules_mod.RecordingPoint(recording_id=str(pk), recorded_at=at, speaker_mismatch=mismatch)
                  for items, mismatch in ((light.valid, False), (light.mismatched, True)) for pk, at in items]
    enrolled = datetime.combine(light.patient.enrolled_on, datetime.min.time(), tzinfo=timezone.get_current_timezone())
    candidates = rules_mod.evaluate_alerts(
        patient_id=str(light.patient.pk), now=now, scores=points,
        phq9s=[rules_mod.Phq9Point(response_id=str(pk), answered_at=at, total=total, item9=item9)
               for pk, at, total, item9 in light.phq9],
        recordings=recordings, baseline_phq9=model.intercept + (latest.personal_offset if latest else 0.0),
        last_recording_at=light.last_recording_at, enrolled_at=enrolled, rules=alert_rules(),
        calibrated=model.calibrated,
    )
    return [Alert(patient=light.patient, kind=_KIND[c.kind], priority=_PRIORITY[c.priority], message=c.message,
                  episode_key=c.episode_key, **alert_trigger_refs(c.evidence))
            for c in candidates if c.ongoing or c.kind == "phq9_item9"]



# ---------------------------------------------------------------- writing


# What a new level changes in a stored score, and what a new model changes (its deviation stands).
_LEVEL_FIELDS = ["predicted_phq9", "predicted_phq9_low", "predicted_phq9_high", "prob_ge10", "personal_offset",
                 "n_phq9", "scored_at"]
_PREDICTION_FIELDS = ["risk_model_version", "calibrated", "predicted_phq9", "predicted_phq9_low", "predicted_phq9_high",
                      "prob_ge10", "population_phq9", "personal_offset", "n_phq9", "drivers"]


def _apply(writes: Writes) -> dict[str, int]:
    with transaction.atomic():
        update_by_pk(FeatureSet, [(fs.pk, fs.speaker_similarity, fs.speaker_mismatch) for fs in writes.feature_sets],
                     ["speaker_similarity", "speaker_mismatch"])
        created = insert_with_keys(BaselineSnapshot, [s for s, _ in writes.snapshots])
        for snapshot, (_, scores) in zip(created, writes.snapshots, strict=True):
            for score in scores:
                score.baseline = snapshot
        # Re-scored rows are replaced rather than updated: Django's bulk_update builds one
        # CASE expression per field and row, which costs minutes for a whole clinic.
        delete_by_pk(RiskScore, [s.pk for s in writes.changed_scores])
        for score in writes.changed_scores:
            score.pk = None
        insert_ignoring_conflicts(RiskScore, writes.new_scores + writes.changed_scores)
        stamp = timezone.now()
        update_by_pk(RiskScore, [(row.pk, n.predicted_phq9, n.interval_low, n.interval_high, n.p_phq9_ge10,
                                  n.personal_offset, n.n_phq9, stamp) for _, row, n in writes.repredicted],
                     _LEVEL_FIELDS)
        update_by_pk(RiskScore, [(s.pk, *(getattr(s, f) for f in _PREDICTION_FIELDS), stamp) for s in writes.refilled],
                     [*_PREDICTION_FIELDS, "scored_at"])
        fresh, updated = alerts_open_or_update(writes.alerts)
        ended = overdue_resolve_ended(patient_ids=writes.screened, candidates=writes.alerts)
    return {"overdue_resolved": ended, "speaker_updates": len(writes.feature_sets), "baselines": len(writes.snapshots),
            "new_scores": len(writes.new_scores),
            "rescored": len(writes.changed_scores) + len(writes.repredicted) + len(writes.refilled), "alerts_opened": len(fresh),
            "alerts_updated": len(updated)}


def patients_screen(*, patient_ids: list[int], now: datetime | None = None) -> dict[str, int]:
    """Screen these patients in a fixed number of queries, whatever their number."""
    now = now or timezone.now()
    model = active_risk_model()
    lights = _light_load(patient_ids)
    stale = [light for light in lights.values() if _needs_detail(light, model)]
    writes = Writes(screened=list(lights))
    if stale:
        reliability = reliability_weights_by_task()
        patients = _load_plan_data(stale)
        _load_speaker_embeddings(patients)
        plans = [_plan(data, model, writes) for data in patients]
        _load_values([fs for plan in plans for fs in plan.feature_rows()])
        zone = timezone.get_current_timezone()
        deviations = _load_deviations([pk for plan in plans for pk in plan.deviation_pks(model, zone)])
        for plan in plans:
            _score(plan, model, writes, reliability, deviations)
    fresh_rows: dict[int, list[ScoreRow]] = defaultdict(list)
    for score in writes.new_scores + writes.changed_scores + writes.refilled:
        if score.scope == RiskScore.Scope.RECORDING:
            fresh_rows[score.patient_id].append(_row(score))
    for patient_id, row, numbers in writes.repredicted:
        if row.recording_id is not None:
            fresh_rows[patient_id].append(replace(row, predicted_phq9=numbers.predicted_phq9,
                                                      prob_ge10=numbers.p_phq9_ge10,
                                                      personal_offset=numbers.personal_offset,
                                                      n_phq9=numbers.n_phq9))
    for light in lights.values():
        if light.patient.active:
            rows = {r.recording_id: r for r in light.scores.values()} | {r.recording_id: r for r in
                                                                          fresh_rows[light.patient.pk]}
            writes.alerts += _alerts(light, list(rows.values()), model, now)
    return _apply(writes) | {"patients_rescored": len(stale)}


def recording_screen(*, recording_id: int) -> dict[str, int]:
    """After a recording's features are stored: its baseline, score and the patient's alerts."""
    patient_id = Recording.objects.values_list("patient_id", flat=True).get(pk=recording_id)
    with SCREENING_SECONDS.labels(kind="recording").time():
        return patients_screen(patient_ids=[patient_id])


def screening_chunks() -> list[list[int]]:
    """The active patients in chunks of ``CADENCE_SCREENING_CHUNK_PATIENTS``, the unit of nightly work."""
    ids = list(Patient.objects.filter(active=True).order_by("pk").values_list("pk", flat=True))
    size = max(1, settings.CADENCE_SCREENING_CHUNK_PATIENTS)
    return [ids[start:start + size] for start in range(0, len(ids), size)]


def chunk_screen(*, patient_ids: list[int], now: datetime) -> dict[str, int]:
    """One chunk of the periodic screening (the ``screening.tasks.screen_patients`` task): its own
    transaction and the fixed number of queries of :func:`patients_screen`."""
    with SCREENING_SECONDS.labels(kind="chunk").time():
        summary = patients_screen(patient_ids=patient_ids, now=now)
    logger.info("screening chunk: %s", summary | {"patients": len(patient_ids)})
    return summary


def run_screening(*, now: datetime | None = None,
                  dispatch: Callable[[list[int], datetime], object] | None = None) -> dict[str, int]:
    """The periodic screening: sweep stuck recordings, re-score active patients, weekly scores, alerts.

    Patients are screened in chunks of ``CADENCE_SCREENING_CHUNK_PATIENTS`` (each its own
    transaction, with the fixed number of queries of :func:`patients_screen`), so memory stays
    bounded whatever the size of the clinic; a patient's screening never reads another's data, so
    chunking changes nothing in the results, and chunks may run at the same time. With ``dispatch``
    (the Celery task sends each chunk to the ``screening`` queue as its own task, so that every
    screening worker, on every machine, takes a share of the night) the chunks are handed to it;
    without, they run here one after another and their summaries are added up.
    """
    requeued = sweep_stale_recordings()
    now = now or timezone.now()
    chunks = screening_chunks()
    summary: dict[str, int] = defaultdict(int)
    if dispatch is not None:
        for ids in chunks:
            dispatch(ids, now)
    else:
        with SCREENING_SECONDS.labels(kind="nightly").time():
            for ids in chunks:
                for key, value in patients_screen(patient_ids=ids, now=now).items():
                    summary[key] += value
    summary = dict(summary) | {"requeued_recordings": requeued, "patients": sum(map(len, chunks)),
                               "chunks": len(chunks)}
    logger.info("screening %s: %s", "dispatched" if dispatch is not None else "done", summary)
    return summary
