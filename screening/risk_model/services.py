"""Database side of the risk model: the tables the pure code of :mod:`screening.risk_model` and
:mod:`screening.validation` works on, the fitting and storing of the population model, and the
out-of-fold scores with which the validation report (:mod:`screening.reports.services`) never evaluates a
model on the patients it was fitted on; and the clinic's early reference (population norms and the early model,
:mod:`screening.risk_model.early`) for estimates made before a personal baseline.
"""

from datetime import datetime

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import transaction
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce
from django.utils import timezone

from clinic.models import Patient, Phq9Response
from clinic.phq9 import WINDOW_DAYS as PHQ9_WINDOW_DAYS
from clinic.processing.models import FeatureSet
from screening.baselines.segments import codec_family
from screening.models import Alert, EarlyReference, RiskModel, RiskScore
from screening.numbers import json_ready
from screening.risk_model.calibration import Calibrations, phq9_residuals
from screening.risk_model.deviation import DIRECTIONAL_FEATURES
from screening.risk_model.early import early_z, fit_early_model, learn_norms
from screening.risk_model.fitting import (
    ModelNotBetter,
    fit_mixedlm,
    fit_population_model,
    group_folds,
    improvement_over,
)
from screening.risk_model.model import RiskModel as ScoringModel
from screening.risk_model.model import predict_frame
from screening.risk_model.selectors import active_risk_model_row
from screening.validation import pair_phq9_with_voice
from screening.validation.text import gettext_noop

__all__ = ["ModelNotBetter", "NotEnoughData", "risk_model_fit", "out_of_fold_scores", "prospective_scores",
           "recording_scores_frame",
           "phq9_frame", "patients_frame", "alerts_frame", "early_reference_fit", "PRIOR_SOURCE"]

MIN_FIT_PATIENTS = 10
MIN_FIT_PAIRS = 30
PRIOR_SOURCE = gettext_noop("literature prior, never fitted on these patients (uncalibrated)")


class NotEnoughData(Exception):
    """Too few paired voice/PHQ-9 observations for the requested computation."""


RECORDING_CONDITIONS = ("codec", "bit_rate", "device_model", "task")


def recording_scores_frame() -> pd.DataFrame:
    """One row per scored recording: ids, time, composite, stored predictions, signed z's and the
    recording conditions (codec, bit rate, device, task) of the subgroup breakdown."""
    rows = RiskScore.objects.filter(scope=RiskScore.Scope.RECORDING).annotate(
        # The early estimate before the patient's early level (levelled from PHQ-9s, its window's own included):
        # the validation report levels nothing from a PHQ-9 it compares with. Estimates stored before early
        # levels have only their (unlevelled) predicted PHQ-9.
        early_phq9=Coalesce(KT("early_estimate__population_phq9"), KT("early_estimate__predicted_phq9")),
        early_model=KT("early_estimate__model_version")).values_list(
        "patient_id", "recording_id", "at", "voice_deviation", "predicted_phq9", "prob_ge10", "deviations",
        "estimate_type", "early_phq9", "early_model", *(f"recording__{c}" for c in RECORDING_CONDITIONS))
    # When the clinic's early model behind an early estimate was fitted (on the PHQ-9s answered before then); none
    # for the literature prior, which was never fitted on these patients.
    fitted = {row["payload__model__version"]: row["fitted_at"] for row in
              EarlyReference.objects.exclude(payload__model=None).values("payload__model__version", "fitted_at")}
    records = [{"patient_id": p, "recording_id": r, "recorded_at": at, "voice_score": v, "predicted_phq9": y,
                "prob_ge10": prob, **{k: (d.get("z") or {}).get(k) for k in DIRECTIONAL_FEATURES},
                "estimate_type": kind, "early_phq9": early, "early_fitted_at": fitted.get(early_model),
                **dict(zip(RECORDING_CONDITIONS, conditions, strict=True))}
               for p, r, at, v, y, prob, d, kind, early, early_model, *conditions in rows.iterator(chunk_size=5000)]
    columns = ["patient_id", "recording_id", "recorded_at", "voice_score", "predicted_phq9", "prob_ge10",
               *DIRECTIONAL_FEATURES, "estimate_type", "early_phq9", "early_fitted_at", *RECORDING_CONDITIONS]
    frame = pd.DataFrame.from_records(records, columns=columns)
    for key in (*DIRECTIONAL_FEATURES, "voice_score", "predicted_phq9", "prob_ge10", "early_phq9"):
        frame[key] = frame[key].astype(float)
    frame["recorded_at"] = pd.to_datetime(frame["recorded_at"], utc=True)
    frame["early_fitted_at"] = pd.to_datetime(frame["early_fitted_at"], utc=True)
    return frame


def phq9_frame() -> pd.DataFrame:
    rows = Phq9Response.objects.values_list("patient_id", "id", "answered_at", "total", "item9")
    frame = pd.DataFrame.from_records(list(rows), columns=["patient_id", "phq9_id", "answered_at", "total", "item9"])
    frame["answered_at"] = pd.to_datetime(frame["answered_at"], utc=True)
    return frame


def patients_frame() -> pd.DataFrame:
    rows = Patient.objects.values_list("id", "sex", "birth_year", "language", "care_team__name", "enrolled_on")
    return pd.DataFrame.from_records(list(rows), columns=["patient_id", "sex", "birth_year", "language", "care_team",
                                                          "enrolled_on"])


def alerts_frame() -> pd.DataFrame:
    """Every alert's patient, kind and trigger time: the triggering recording's or PHQ-9's time, else when
    it was opened."""
    rows = Alert.objects.values_list("patient_id", "kind", "recording__recorded_at", "phq9__answered_at",
                                     "created_at")
    records = [(p, kind, recorded or answered or created) for p, kind, recorded, answered, created in rows]
    frame = pd.DataFrame.from_records(records, columns=["patient_id", "kind", "at"])
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def training_pairs(scores: pd.DataFrame, phq9: pd.DataFrame) -> pd.DataFrame:
    """Each PHQ-9 with the mean signed z's of its window (the one pairing rule)."""
    return pair_phq9_with_voice(phq9, scores.assign(oof=False), columns=DIRECTIONAL_FEATURES, window_days=PHQ9_WINDOW_DAYS,
                                min_recordings=settings.CADENCE_PAIRING_MIN_RECORDINGS).pairs


def risk_model_fit() -> RiskModel:
    """Fit the population model on the clinic's paired data; store it and make it active if it is better.

    Raises NotEnoughData, or ModelNotBetter when its out-of-fold error is not lower than the active model's
    on the same PHQ-9s (nothing is stored then).
    """
    pairs = training_pairs(recording_scores_frame(), phq9_frame())
    n_patients = pairs["patient_id"].nunique() if len(pairs) else 0
    if n_patients < MIN_FIT_PATIENTS or len(pairs) < MIN_FIT_PAIRS:
        raise NotEnoughData(f"{len(pairs)} paired PHQ-9s from {n_patients} patients; at least {MIN_FIT_PAIRS} "
                            f"pairs from {MIN_FIT_PATIENTS} patients are needed to fit a model.")
    result = fit_population_model(pairs, features=DIRECTIONAL_FEATURES)
    active, _ = active_risk_model_row()
    comparison = improvement_over(result, active, pairs)
    with transaction.atomic():
        RiskModel.objects.filter(active=True).update(active=False)
        return RiskModel.objects.create(version=result.model.version, payload=result.model.to_dict(),
                                        cv_metrics=json_ready({**result.cv_metrics, "compared_with": comparison}),
                                        active=True)


def early_reference_fit(*, now: datetime | None = None) -> EarlyReference:
    """Learn population norms from the clinic's valid recordings and fit the early model on its PHQ-9s; store both
    as the active early reference (``screening.risk_model.early``). With too few PHQ-9 windows for the early model
    (see :func:`screening.risk_model.early.fit_early_model`) the norms are still stored, with the uncalibrated prior
    model (``model`` null): its estimates then give no probability."""
    now = now or timezone.now()
    rows = (FeatureSet.objects.filter(recording__status="done").exclude(speaker_mismatch=True)
            .order_by("recording_id", "-computed_at")
            .values_list("recording_id", "recording__patient_id", "recording__recorded_at", "recording__task",
                         "recording__codec", "recording__patient__sex", "recording__patient__birth_year", "features"))
    records, seen = [], set()
    for recording_id, patient_id, recorded_at, task, codec, sex, birth_year, features in rows.iterator(chunk_size=5000):
        if recording_id in seen:
            continue
        seen.add(recording_id)
        records.append({"recording_id": recording_id, "patient_id": patient_id, "recorded_at": recorded_at,
                        "task": task, "family": codec_family(codec), "sex": sex,
                        "age": None if birth_year is None else recorded_at.year - birth_year,
                        **{k: (features or {}).get(k) for k in DIRECTIONAL_FEATURES}})
    frame = pd.DataFrame.from_records(records, columns=["recording_id", "patient_id", "recorded_at", "task", "family",
                                                        "sex", "age", *DIRECTIONAL_FEATURES])
    for key in DIRECTIONAL_FEATURES:
        frame[key] = frame[key].astype(float)
    norms = learn_norms(frame.assign(age=frame["age"].astype(float)), version=f"norms-{now:%Y%m%dT%H%M%S}")
    z = pd.DataFrame([early_z(row, norms.reference(sex=row["sex"], age=row["age"], task=row["task"],
                                                   family=row["family"]))
                      for row in frame.to_dict("records")], columns=list(DIRECTIONAL_FEATURES))
    scores = frame[["recording_id", "patient_id", "recorded_at"]].join(z).assign(voice_score=0.0)
    scores["recorded_at"] = pd.to_datetime(scores["recorded_at"], utc=True)
    phq9 = phq9_frame()
    pairs = (pair_phq9_with_voice(phq9, scores, columns=DIRECTIONAL_FEATURES, window_days=PHQ9_WINDOW_DAYS,
                                 min_recordings=1).pairs
             if len(scores) and len(phq9) else pd.DataFrame(columns=["patient_id", "phq9_total"]))
    model = fit_early_model(pairs, version=f"early-{now:%Y%m%dT%H%M%S}")
    version = f"early-reference-{now:%Y%m%dT%H%M%S}"
    payload = {"norms": norms.to_dict(), "model": None if model is None else model.to_dict(),
               "n_recordings": len(frame), "n_patients": int(frame["patient_id"].nunique()), "n_pairs": len(pairs)}
    with transaction.atomic():
        EarlyReference.objects.filter(active=True).update(active=False)
        return EarlyReference.objects.create(version=version, payload=json_ready(payload), active=True)


def out_of_fold_scores(scores: pd.DataFrame, phq9: pd.DataFrame, *, n_splits: int = 5) -> pd.DataFrame:
    """Each recording's score from a model fitted without its patient, served as it was at the time.

    The patient's level comes from their PHQ-9s answered before the recording, with its own posterior variance
    (the posterior the served scores use, :mod:`screening.risk_model.calibration`); never from the PHQ-9 it is
    compared with. Only the recordings the service scored against a personal baseline (a stored predicted PHQ-9)
    are re-scored and level the patient, as in :func:`screening.nightly.scoring.score_patient`.
    """
    pairs = training_pairs(scores, phq9)
    out = scores.copy()
    out["oof"] = False
    if pairs["patient_id"].nunique() < 2:
        return out
    scored = _scored(out)
    answers = dict(tuple(phq9.sort_values("answered_at").groupby("patient_id")))
    for train, test in group_folds(pairs["patient_id"], n_splits):
        fold_model = fit_mixedlm(pairs.iloc[train], DIRECTIONAL_FEATURES, version="cv-fold")
        held_out = out["patient_id"].isin(set(pairs.iloc[test]["patient_id"])) & scored
        _relevel(out, held_out, fold_model, answers)
        out.loc[held_out, "oof"] = True
    return out


def prospective_scores(scores: pd.DataFrame, phq9: pd.DataFrame, model: ScoringModel) -> pd.DataFrame:
    """The stored scores of a model never fitted on these patients (the literature prior), each with the patient's
    level from the PHQ-9s answered before the recording instead of the stored level.

    A stored score carries the level from *every* PHQ-9 so far (:mod:`screening.risk_model.calibration`), the one it
    is paired with included; the validation report must not compare it with that PHQ-9. One level per patient is
    invisible to a within-patient correlation, but not to the error, the calibration or the probability.
    """
    out = scores.copy()
    answers = dict(tuple(phq9.sort_values("answered_at").groupby("patient_id")))
    _relevel(out, out["patient_id"].notna() & _scored(out), model, answers)
    return out


def _scored(scores: pd.DataFrame) -> pd.Series:
    """The recordings the service scored against a personal baseline (early estimates and pending ones are not)."""
    return pd.Series(np.isfinite(scores["predicted_phq9"].to_numpy(dtype=float)), index=scores.index)


def _relevel(out: pd.DataFrame, rows: pd.Series, model: ScoringModel, answers: dict) -> None:
    """Predicted PHQ-9 and probability of ``out[rows]`` from ``model``, each with the patient's level from the
    PHQ-9s answered before it (in place)."""
    subset = out.loc[rows]
    if subset.empty:
        return
    offsets, variances = _prospective_levels(model, subset, answers)
    predicted = predict_frame(model, subset, offsets=offsets, offset_variances=variances)
    out.loc[rows, "predicted_phq9"] = predicted["predicted_phq9"].to_numpy()
    out.loc[rows, "prob_ge10"] = predicted["p_phq9_ge10"].to_numpy()


def _prospective_levels(model: ScoringModel, scores: pd.DataFrame, answers: dict) -> tuple[np.ndarray, np.ndarray]:
    """Each score's level from its patient's PHQ-9s answered strictly before it was recorded: a PHQ-9 answered at
    that very instant has the recording in its window (:meth:`Calibrations.before`)."""
    population = predict_frame(model, scores)["predicted_phq9"]
    offsets = pd.Series(0.0, index=scores.index)
    variances = pd.Series(model.tau2, index=scores.index)
    for patient_id, mine in scores.groupby("patient_id"):
        mine_answers = answers.get(patient_id)
        if mine_answers is None:
            continue
        times = list(mine["recorded_at"])
        residuals = phq9_residuals(list(zip(mine_answers["answered_at"], mine_answers["total"], strict=True)),
                                   list(zip(times, population[mine.index], strict=True)))
        calibrations = Calibrations(residuals, model)
        levels = [calibrations.before(t) for t in times]
        offsets[mine.index] = [c.offset for c in levels]
        variances[mine.index] = [c.variance for c in levels]
    return offsets.to_numpy(), variances.to_numpy()
