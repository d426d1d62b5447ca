"""Database side of the risk model: the tables the pure code of :mod:`screening.risk_model` and
:mod:`screening.validation` works on, the fitting and storing of the population model, and the
out-of-fold scores with which the validation report (:mod:`screening.reports.services`) never evaluates a
model on the patients it was fitted on.
"""

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import transaction

from clinic.models import Patient, Phq9Response
from clinic.phq9 import WINDOW_DAYS as PHQ9_WINDOW_DAYS
from screening.models import Alert, RiskModel, RiskScore
from screening.numbers import json_ready
from screening.risk_model.calibration import Calibrations, phq9_residuals
from screening.risk_model.deviation import DIRECTIONAL_FEATURES
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

__all__ = ["ModelNotBetter", "NotEnoughData", "risk_model_fit", "out_of_fold_scores", "recording_scores_frame",
           "phq9_frame", "patients_frame", "alerts_frame", "PRIOR_SOURCE"]

MIN_FIT_PATIENTS = 10
MIN_FIT_PAIRS = 30
PRIOR_SOURCE = "literature prior, never fitted on these patients (uncalibrated)"


class NotEnoughData(Exception):
    """Too few paired voice/PHQ-9 observations for the requested computation."""


RECORDING_CONDITIONS = ("codec", "bit_rate", "device_model", "task")


def recording_scores_frame() -> pd.DataFrame:
    """One row per scored recording: ids, time, composite, stored predictions, signed z's and the
    recording conditions (codec, bit rate, device, task) of the subgroup breakdown."""
    rows = RiskScore.objects.filter(scope=RiskScore.Scope.RECORDING).values_list(
        "patient_id", "recording_id", "at", "voice_deviation", "predicted_phq9", "prob_ge10", "deviations",
        *(f"recording__{c}" for c in RECORDING_CONDITIONS))
    records = [{"patient_id": p, "recording_id": r, "recorded_at": at, "voice_score": v, "predicted_phq9": y,
                "prob_ge10": prob, **{k: (d.get("z") or {}).get(k) for k in DIRECTIONAL_FEATURES},
                **dict(zip(RECORDING_CONDITIONS, conditions, strict=True))}
               for p, r, at, v, y, prob, d, *conditions in rows.iterator(chunk_size=5000)]
    columns = ["patient_id", "recording_id", "recorded_at", "voice_score", "predicted_phq9", "prob_ge10",
               *DIRECTIONAL_FEATURES, *RECORDING_CONDITIONS]
    frame = pd.DataFrame.from_records(records, columns=columns)
    for key in (*DIRECTIONAL_FEATURES, "voice_score", "predicted_phq9", "prob_ge10"):
        frame[key] = frame[key].astype(float)
    frame["recorded_at"] = pd.to_datetime(frame["recorded_at"], utc=True)
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


def out_of_fold_scores(scores: pd.DataFrame, phq9: pd.DataFrame, *, n_splits: int = 5) -> pd.DataFrame:
    """Each recording's score from a model fitted without its patient, served as it was at the time.

    The patient's level comes from their PHQ-9s answered before the recording, with its own posterior variance
    (the posterior the served scores use, :mod:`screening.risk_model.calibration`); never from the PHQ-9 it is
    compared with.
    """
    pairs = training_pairs(scores, phq9)
    out = scores.copy()
    out["oof"] = False
    if pairs["patient_id"].nunique() < 2:
        return out
    answers = dict(tuple(phq9.sort_values("answered_at").groupby("patient_id")))
    for train, test in group_folds(pairs["patient_id"], n_splits):
        fold_model = fit_mixedlm(pairs.iloc[train], DIRECTIONAL_FEATURES, version="cv-fold")
        held_out = out["patient_id"].isin(set(pairs.iloc[test]["patient_id"]))
        subset = out.loc[held_out]
        offsets, variances = _prospective_levels(fold_model, subset, answers)
        predicted = predict_frame(fold_model, subset, offsets=offsets, offset_variances=variances)
        out.loc[held_out, "predicted_phq9"] = predicted["predicted_phq9"].to_numpy()
        out.loc[held_out, "prob_ge10"] = predicted["p_phq9_ge10"].to_numpy()
        out.loc[held_out, "oof"] = True
    return out


def _prospective_levels(model: ScoringModel, scores: pd.DataFrame, answers: dict) -> tuple[np.ndarray, np.ndarray]:
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
        levels = [calibrations.at(t) for t in times]
        offsets[mine.index] = [c.offset for c in levels]
        variances[mine.index] = [c.variance for c in levels]
    return offsets.to_numpy(), variances.to_numpy()
