"""One stale patient's screening, a pure computation on the rows loaded for it (:mod:`screening.nightly.load`):
speaker consistency, the plan (which recordings get a new deviation), deviations and risk against the
task's and phone's own baseline, the patient's level, weekly aggregates and alert candidates. The results
go into :class:`~screening.nightly.rows.Writes`, written for the whole chunk by :mod:`screening.nightly.services`.
"""

import functools
import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from django.utils import timezone

from clinic.processing.models import FeatureSet
from screening.alerts import rules as rules_mod
from screening.alerts.services import alert_rules, alert_trigger_refs
from screening.baselines.baseline import BaselineRecording, build_baseline
from screening.baselines.planning import (
    BaselinePlan,
    baseline_candidates,
    baseline_keys,
    baseline_plan,
    baseline_record,
    baseline_records,
)
from screening.models import Alert, BaselineSnapshot, RiskScore
from screening.nightly.rows import FeatureRow, LightPatient, PatientData, ScoreRow, StoredScore, Writes, compared
from screening.risk_model.calibration import patient_calibration, phq9_residuals
from screening.risk_model.deviation import Deviation, aggregate_deviations, deviation_from_baseline
from screening.risk_model.early import (
    EARLY_PRIOR_MODEL,
    LITERATURE_NORMS_MODEL,
    PopulationNorms,
    early_level,
    early_levelled,
    early_population,
    population_early_estimate,
)
from screening.risk_model.model import (
    PredictiveNumbers,
    population_phq9,
    predict_risk,
    predictive_numbers,
    unclipped_population,
)
from screening.risk_model.model import RiskModel as ScoringModel
from voice_features.speaker import speaker_checks

__all__ = ["PatientPlan", "needs_detail", "patient_alerts", "plan_patient", "score_patient", "score_row",
           "week_start"]


def _residuals(phq9: list[tuple[int, datetime, int, int]], population) -> list[tuple[datetime, float]]:
    return phq9_residuals([(answered_at, total) for _, answered_at, total, _ in phq9], population)


def _level(residuals: list[tuple[datetime, float]], model: ScoringModel):
    """The patient's level from every PHQ-9 so far: ``Calibrations(residuals, model).latest``
    without the levels at each earlier count, which the nightly run never reads."""
    return patient_calibration([r for _, r in residuals], model=model)


def _matches(row: ScoreRow, model: ScoringModel, calibration) -> bool:
    return (row.model_version == model.version and row.n_phq9 == calibration.n
            and row.personal_offset is not None and abs(row.personal_offset - calibration.offset) < 1e-9)


def _early_populations(light: LightPatient) -> dict[int, tuple[datetime, float]]:
    """Recording id -> (time, early population PHQ-9) of the stored scores of valid recordings that keep one."""
    valid = {pk for pk, _ in light.valid}
    return {r.recording_id: (r.at, r.early_population) for r in light.scores.values()
            if r.early_population is not None and r.recording_id in valid
            and r.estimate_type in (RiskScore.EstimateType.PERSONAL, RiskScore.EstimateType.EARLY)}


def _early_level(phq9: list[tuple[int, datetime, int, int]], populations, model: ScoringModel):
    """The patient's early level from every PHQ-9 so far (:func:`screening.risk_model.early.early_level`)."""
    return early_level([(answered_at, total) for _, answered_at, total, _ in phq9], list(populations), model=model)


def _early_matches(row: ScoreRow, level) -> bool:
    return (row.early_offset is not None and row.early_n_phq9 == level.n
            and abs(row.early_offset - level.offset) < 1e-9)


def week_start(at: datetime, zone=None) -> datetime:
    zone = zone or timezone.get_current_timezone()
    return _monday(at.astimezone(zone).date(), zone)


@functools.lru_cache(maxsize=4096)
def _monday(day: date, zone) -> datetime:
    monday = day - timedelta(days=day.weekday())
    return datetime(monday.year, monday.month, monday.day, tzinfo=zone)


def needs_detail(light: LightPatient, model: ScoringModel, early_model: ScoringModel | None = None) -> bool:
    """Could anything stored for this patient be out of date? ``early_model``: the active early model (None:
    the early prior), which levels the patient's early estimates."""
    if light.speaker_check_due or any(pk not in light.scores for pk, _ in light.valid):
        return True
    early_rows = [r for r in light.scores.values() if r.estimate_type == RiskScore.EstimateType.EARLY]
    if early_rows:
        # Early estimates carry the patient's early level: stale when it moved (a new PHQ-9), or where a personal
        # score does not keep its recording's early population PHQ-9 yet (stored before early levels).
        if any(r.population_phq9 is not None and not r.early_kept for r in light.scores.values()):
            return True
        level = _early_level(light.phq9, _early_populations(light).values(),
                             early_model or EARLY_PRIOR_MODEL)
        if any(not _early_matches(r, level) for r in early_rows):
            return True
    scored = [r for r in light.scores.values() if r.population_phq9 is not None]
    level = _level(_residuals(light.phq9, [(r.at, r.population_phq9) for r in scored]), model)
    if any(not _matches(r, model, level) for r in scored):
        return True
    weeks: dict[datetime, int] = defaultdict(int)
    zone = timezone.get_current_timezone()
    for r in scored:
        weeks[week_start(r.at, zone)] += 1
    for week, n in weeks.items():
        row = light.weeks.get(week)
        if row is None or row.n_recordings != n or not _matches(row, model, level):
            return True
    return False


def _speaker_consistency(feature_sets: list[FeatureRow], segments: dict[str, tuple[int, str]], writes: Writes) -> None:
    """Enrolment centroid from the first valid recordings of each phone; later ones get a similarity.

    The mismatch threshold was calibrated for the GE2E encoder, so only its embeddings
    are compared (rows from another source keep the flag they came with). A new phone
    re-enrols (``voice_features.speaker.speaker_checks``): the channel change alone moves
    the embedding past the threshold.
    """
    with_embedding = [fs for fs in feature_sets if compared(fs)]
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
    """A recording made while its task's baseline is still being built (first recordings, new phone): said so.
    Its early estimate (:func:`_early`) is added once its features are loaded."""
    return RiskScore(patient=data.patient, recording_id=fs.recording_id, scope=RiskScore.Scope.RECORDING,
                     at=fs.recording.recorded_at, task=fs.recording.task, risk_model_version="", calibrated=False,
                     deviations=plan.pending_payload(fs.recording.task), estimate_type=RiskScore.EstimateType.PENDING)


def _early_inputs(data: PatientData, fs: FeatureRow, reference: tuple[PopulationNorms, ScoringModel]) -> dict:
    """The keyword arguments of :func:`early_estimate` and :func:`early_population` for one recording."""
    patient = data.patient
    age = None if patient.birth_year is None else fs.recording.recorded_at.year - patient.birth_year
    norms, model = reference
    return {"sex": patient.sex, "age": age, "task": fs.recording.task, "codec": fs.recording.codec,
            "norms": norms, "model": model}


def _estimate(data: PatientData, fs: FeatureRow,
              reference: tuple[PopulationNorms, ScoringModel]) -> tuple[dict, float] | None:
    """A recording's early estimate against population norms before the patient's level, and the early model's
    linear predictor that levels it (:func:`screening.risk_model.early.population_early_estimate`)."""
    return population_early_estimate(fs.features or {}, **_early_inputs(data, fs, reference))


def _population(data: PatientData, fs: FeatureRow, reference: tuple[PopulationNorms, ScoringModel]) -> dict:
    """What a personal score keeps of its recording's early estimate (its early population PHQ-9)."""
    return early_population(fs.features or {}, **_early_inputs(data, fs, reference))


def _levelled(estimate: tuple[dict, float], level, model: ScoringModel) -> dict:
    """An early estimate (:func:`_estimate`) with the patient's early level: what
    :func:`screening.risk_model.early.early_estimate` gives with that level."""
    record, linear = estimate
    return record | early_levelled(linear, level, model=model, interval_level=record["interval_level"])


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
    pending: list[tuple[FeatureRow, RiskScore]] = field(default_factory=list)  # new pending scores: early estimates
    # Stored early estimates whose baseline plan stands, re-levelled tonight if the patient's early level moved:
    # from their features (stored before early levels, or a population PHQ-9 clipped to the scale), or from their
    # stored population PHQ-9 (``early_patch``, no features read).
    early_stored: list[tuple[FeatureRow, StoredScore]] = field(default_factory=list)
    early_patch: list[StoredScore] = field(default_factory=list)
    # Stored personal scores without their recording's early population PHQ-9 (stored before early levels), of a
    # patient with early estimates: it is computed tonight, once.
    backfill: list[tuple[FeatureRow, StoredScore]] = field(default_factory=list)

    def feature_rows(self) -> list[FeatureRow]:
        """The feature sets the fresh deviations read: the recordings' own and their baselines'; and those of
        new pending scores, for their early estimates."""
        wanted = {rec.recording_id for rec, baseline, _ in self.entries if baseline is not None}
        wanted.update(str(fs.recording_id) for fs, _ in self.pending + self.early_stored + self.backfill)
        wanted.update(r.recording_id for _, baseline, _ in self.entries if baseline is not None
                      for r in baseline.chosen)
        return [fs for fs in self.data.feature_sets if str(fs.recording_id) in wanted]

    def deviation_pks(self, model: ScoringModel, zone) -> list[int]:
        """Stored scores whose deviations are read: those :func:`_needs_deviations` names, and the members
        of every week whose aggregate is rebuilt."""
        return [stored.row.pk for rec, baseline, stored in self.entries if baseline is None
                and (_needs_deviations(stored.row, model) or week_start(rec.recorded_at, zone) in self.rebuilt_weeks)]


def plan_patient(data: PatientData, model: ScoringModel, writes: Writes) -> PatientPlan:
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
                plan.pending.append((fs_by_id[rec.recording_id], pending))
                (writes.new_scores if stored is None else writes.changed_scores).append(pending)
            elif stored.row.estimate_type == RiskScore.EstimateType.EARLY:
                row = stored.row
                if row.early_offset is not None and unclipped_population(row.early_population) is not None:
                    plan.early_patch.append(stored)
                else:
                    plan.early_stored.append((fs_by_id[rec.recording_id], stored))
            continue
        week = week_start(rec.recorded_at, zone)
        members[week] += 1
        plan.entries.append((rec, None if holds else baseline, stored))
        if not holds:
            plan.rebuilt_weeks.add(week)
            plan.fresh_weeks.add(week)
    for week, n in members.items():
        row = data.light.weeks.get(week)
        if row is None or row.n_recordings != n or _needs_deviations(row, model):
            plan.rebuilt_weeks.add(week)
    if plan.pending or plan.early_stored or plan.early_patch:
        plan.backfill = [(fs_by_id[rec.recording_id], stored) for rec, baseline, stored in plan.entries
                         if baseline is None and not stored.row.early_kept]
    return plan


def score_patient(plan: PatientPlan, model: ScoringModel, writes: Writes, reliability: dict[str, dict[str, float]],
                  stored_deviations: dict[int, Deviation],
                  early: tuple[PopulationNorms, ScoringModel] | None = None) -> None:
    """Deviation and risk of the planned recordings against their own task's and phone's baseline, the
    patient's level from every PHQ-9, the stored scores it moves, and the weekly aggregates.

    The composite voice deviation weights each feature by its test–retest reliability for the
    recording's task (``reliability``: task -> factors, from ``manage.py feature_reliability``). A recording
    still waiting for its baseline gets an early estimate against ``early`` (the active early reference,
    :func:`screening.risk_model.selectors.early_reference`; None: the literature norms and the early prior),
    levelled by the patient's early level from every PHQ-9 so far (:func:`_level_early`); every new personal
    score keeps its recording's early population PHQ-9, the input of that level.
    """
    data = plan.data
    reference = early or (LITERATURE_NORMS_MODEL, EARLY_PRIOR_MODEL)
    # The early population PHQ-9 of every recording that has one (the input of the early level): stored, else
    # computed tonight from the loaded features.
    populations = _early_populations(data.light)
    for fs, _ in plan.pending:
        populations.pop(fs.recording_id, None)
    # Tonight's early estimates before the patient's level (compared with the norms once; levelled below).
    estimates: dict[int, tuple[dict, float]] = {}
    for fs, _ in plan.pending + plan.early_stored:
        estimate = _estimate(data, fs, reference)
        if estimate is not None:
            estimates[fs.recording_id] = estimate
            populations[fs.recording_id] = (fs.recording.recorded_at, estimate[0]["population_phq9"])
    for fs, stored in plan.backfill:
        record = _population(data, fs, reference)
        writes.early_estimates.append((stored.row.pk, record))
        if record["population_phq9"] is not None:
            populations[fs.recording_id] = (fs.recording.recorded_at, record["population_phq9"])
    fs_by_id = {fs.recording_id: fs for fs in plan.feature_rows()}
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
        score.early_estimate = _population(data, fs_by_id[int(rec.recording_id)], reference)
        if score.early_estimate["population_phq9"] is not None:
            populations[int(rec.recording_id)] = (rec.recorded_at, score.early_estimate["population_phq9"])
        else:
            populations.pop(int(rec.recording_id), None)
        scored.append((rec.recorded_at, population_phq9(deviation.z, model=model), deviation, score, stored))
    # One personal level for the patient's whole curve: the one from every PHQ-9 so far
    # (see screening.risk_model.calibration for why it does not step along the curve).
    calibration = _level(_residuals(data.light.phq9, [(at, population) for at, population, *_ in scored]), model)
    _level_early(plan, populations, estimates, reference, writes)
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


def _level_early(plan: PatientPlan, populations: dict[int, tuple[datetime, float]],
                 estimates: dict[int, tuple[dict, float]], reference: tuple[PopulationNorms, ScoringModel],
                 writes: Writes) -> None:
    """The patient's early estimates, levelled by their early level from every PHQ-9 so far (the early model's
    residuals over the windows of every recording with an early population PHQ-9, personal scores' included):
    tonight's new ones, and the stored ones whose level moved (re-levelled in place). ``estimates``: tonight's
    early estimates before the level (:func:`_estimate`), of the pending and the re-read stored ones.

    A pending score's early estimate never has a predicted PHQ-9 of its own in the score's columns: the personal
    level, the alerts and the validation of personal scores do not read it, and it is replaced by the personal
    score once the baseline forms."""
    if not plan.pending and not plan.early_stored and not plan.early_patch:
        return
    model = reference[1]
    level = _early_level(plan.data.light.phq9, populations.values(), model)
    for fs, pending in plan.pending:
        if fs.recording_id in estimates:
            pending.early_estimate = _levelled(estimates[fs.recording_id], level, model)
            pending.estimate_type = RiskScore.EstimateType.EARLY
    for fs, stored in plan.early_stored:
        row = stored.row
        if _early_matches(row, level) and fs.recording_id in populations \
                and populations[fs.recording_id][1] == row.early_population:
            continue
        if fs.recording_id in estimates:
            estimate = _levelled(estimates[fs.recording_id], level, model)
            writes.early_estimates.append((row.pk, estimate))
            writes.early_rows.append((plan.data.patient.pk, replace(row, early_p=estimate["p_phq9_ge10"])))
    for stored in plan.early_patch:
        row = stored.row
        if not _early_matches(row, level):
            # What early_estimate would give with this level, from the stored (unclipped) population PHQ-9.
            patch = early_levelled(row.early_population, level, model=model)
            writes.early_levels.append((row.pk, patch))
            writes.early_rows.append((plan.data.patient.pk, replace(row, early_p=patch["p_phq9_ge10"])))


def score_row(score: RiskScore) -> ScoreRow:
    early = score.early_estimate if score.estimate_type == RiskScore.EstimateType.EARLY else None
    return ScoreRow(score.pk, score.recording_id, score.at, score.risk_model_version, score.predicted_phq9,
                    score.prob_ge10, score.population_phq9, score.personal_offset, score.n_phq9, score.n_recordings,
                    estimate_type=score.estimate_type or "", early_p=early.get("p_phq9_ge10") if early else None)


def _repredict(row: ScoreRow, model: ScoringModel, calibration) -> PredictiveNumbers:
    """New numbers for a stored score whose deviations, drivers and population PHQ-9 stand (same model, an
    unclipped population PHQ-9) but whose patient level changed: ``predict_risk``'s floats, without the
    deviations."""
    return predictive_numbers(unclipped_population(row.population_phq9), model=model, calibration=calibration)


def _score_weeks(plan: PatientPlan, scored, calibration, model: ScoringModel, writes: Writes) -> None:
    """Weekly aggregates: rebuilt from their members' deviations where :func:`plan_patient` said so, re-predicted
    from their stored population PHQ-9 where only the level changed."""
    by_week: dict[datetime, list[Deviation | None]] = defaultdict(list)
    zone = timezone.get_current_timezone()
    for at, _, deviation, _, _ in scored:
        by_week[week_start(at, zone)].append(deviation)
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




def patient_alerts(light: LightPatient, scores: list[ScoreRow], model: ScoringModel, now: datetime) -> list[Alert]:
    """The patient's alert candidates (:func:`screening.alerts.rules.evaluate_alerts`) from their stored and
    tonight's scores. Early estimates take part in the threshold rule only with a probability, which only a
    calibrated (fitted) early model gives them; never in the rise rule, which needs a baseline."""
    points = [rules_mod.ScorePoint(recording_id=str(s.recording_id), recorded_at=s.at,
                                   predicted_phq9=s.predicted_phq9, p_phq9_ge10=s.prob_ge10)
              for s in scores if s.predicted_phq9 is not None]
    early = [rules_mod.ScorePoint(recording_id=str(s.recording_id), recorded_at=s.at, predicted_phq9=math.nan,
                                  p_phq9_ge10=s.early_p, early=True)
             for s in scores if s.estimate_type == RiskScore.EstimateType.EARLY and s.early_p is not None]
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
        calibrated=model.calibrated, early_scores=early,
    )
    return [Alert(patient=light.patient, kind=c.kind, priority=c.priority, message=c.message,
                  message_i18n=dict(c.message_i18n), episode_key=c.episode_key, **alert_trigger_refs(c.evidence))
            for c in candidates if c.ongoing]
