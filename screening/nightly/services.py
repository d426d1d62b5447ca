"""Screening writes: speaker consistency, baselines, risk scores, weekly scores, alerts.

One patient's screening is a pure computation on data loaded up front
(:mod:`screening.nightly.scoring`); the per-recording task and the nightly run share it, and
the nightly run loads (:mod:`screening.nightly.load`) and writes everything for all patients in a
fixed number of queries, whatever the number of patients.
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clinic.metrics import SCREENING_SECONDS
from clinic.models import Patient, Recording
from clinic.processing.models import FeatureSet
from clinic.processing.tasks import sweep_stale_recordings
from screening.alerts.services import alerts_open_or_update, overdue_resolve_ended
from screening.models import BaselineSnapshot, RiskScore
from screening.nightly.bulk import delete_by_pk, insert_ignoring_conflicts, insert_with_keys, update_by_pk
from screening.nightly.load import (
    light_load,
    load_deviations,
    load_plan_data,
    load_speaker_embeddings,
    load_values,
)
from screening.nightly.rows import ScoreRow, Writes
from screening.nightly.scoring import needs_detail, patient_alerts, plan_patient, score_patient, score_row
from screening.reliability.service import reliability_weights_by_task
from screening.risk_model.selectors import active_risk_model, early_reference

__all__ = ["chunk_screen", "patients_screen", "recording_screen", "run_screening", "screening_chunks"]

logger = logging.getLogger(__name__)




# What a new level changes in a stored score, and what a new model changes (its deviation stands).
_LEVEL_FIELDS = ["predicted_phq9", "predicted_phq9_low", "predicted_phq9_high", "prob_ge10", "personal_offset",
                 "n_phq9", "scored_at"]
_PREDICTION_FIELDS = ["risk_model_version", "calibrated", "predicted_phq9", "predicted_phq9_low", "predicted_phq9_high",
                      "prob_ge10", "population_phq9", "personal_offset", "n_phq9", "drivers"]


def apply_writes(writes: Writes) -> dict[str, int]:
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
        update_by_pk(RiskScore, [(pk, estimate, stamp) for pk, estimate in writes.early_estimates],
                     ["early_estimate", "scored_at"])
        update_by_pk(RiskScore, [(pk, patch, stamp) for pk, patch in writes.early_levels],
                     ["early_estimate", "scored_at"], merge=["early_estimate"])
        fresh, updated = alerts_open_or_update(writes.alerts)
        ended = overdue_resolve_ended(patient_ids=writes.screened, candidates=writes.alerts)
    return {"overdue_resolved": ended, "speaker_updates": len(writes.feature_sets), "baselines": len(writes.snapshots),
            "new_scores": len(writes.new_scores),
            "rescored": len(writes.changed_scores) + len(writes.repredicted) + len(writes.refilled),
            "early_relevelled": len(writes.early_estimates) + len(writes.early_levels), "alerts_opened": len(fresh),
            "alerts_updated": len(updated)}


def patients_screen(*, patient_ids: list[int], now: datetime | None = None) -> dict[str, int]:
    """Screen these patients in a fixed number of queries, whatever their number."""
    now = now or timezone.now()
    model = active_risk_model()
    lights = light_load(patient_ids)
    # The early reference is read only where a patient has early estimates (their level) or a recording waits for
    # its baseline (one query).
    early = (early_reference() if any(r.estimate_type == RiskScore.EstimateType.EARLY
                                      for light in lights.values() for r in light.scores.values()) else None)
    stale = [light for light in lights.values() if needs_detail(light, model, None if early is None else early[1])]
    writes = Writes(screened=list(lights))
    if stale:
        reliability = reliability_weights_by_task()
        patients = load_plan_data(stale)
        load_speaker_embeddings(patients)
        plans = [plan_patient(data, model, writes) for data in patients]
        load_values([fs for plan in plans for fs in plan.feature_rows()])
        zone = timezone.get_current_timezone()
        deviations = load_deviations([pk for plan in plans for pk in plan.deviation_pks(model, zone)])
        if early is None and any(plan.pending for plan in plans):
            early = early_reference()
        for plan in plans:
            score_patient(plan, model, writes, reliability, deviations, early)
    fresh_rows: dict[int, list[ScoreRow]] = defaultdict(list)
    for score in writes.new_scores + writes.changed_scores + writes.refilled:
        if score.scope == RiskScore.Scope.RECORDING:
            fresh_rows[score.patient_id].append(score_row(score))
    for patient_id, row, numbers in writes.repredicted:
        if row.recording_id is not None:
            fresh_rows[patient_id].append(replace(row, predicted_phq9=numbers.predicted_phq9,
                                                      prob_ge10=numbers.p_phq9_ge10,
                                                      personal_offset=numbers.personal_offset,
                                                      n_phq9=numbers.n_phq9))
    for patient_id, row in writes.early_rows:
        fresh_rows[patient_id].append(row)
    for light in lights.values():
        if light.patient.active:
            rows = {r.recording_id: r for r in light.scores.values()} | {r.recording_id: r for r in
                                                                          fresh_rows[light.patient.pk]}
            writes.alerts += patient_alerts(light, list(rows.values()), model, now)
    return apply_writes(writes) | {"patients_rescored": len(stale)}


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
