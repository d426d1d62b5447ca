"""Database side of the risk model and the validation report.

Builds the tables the pure code in :mod:`screening.scoring` and
:mod:`screening.validation` works on, fits and stores the population model, and
produces validation reports that never evaluate a model on the patients it was fitted
on: with a fitted model, predictions come from cross-validation split by patient.
"""

import math
from datetime import datetime

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clinic.models import Patient, Phq9Response
from screening.models import RiskModel, RiskScore, ValidationReport
from screening.scoring.deviation import DIRECTIONAL_FEATURES
from screening.scoring.risk import (
    PRIOR_MODEL,
    Calibrations,
    _fit_mixedlm,
    fit_population_model,
    pair_phq9_with_voice,
    phq9_residuals,
    predict_frame,
)
from screening.scoring.risk import RiskModel as ScoringModel
from screening.validation import build_report, render

MIN_FIT_PATIENTS = 10
MIN_FIT_PAIRS = 30
PRIOR_SOURCE = "literature prior, never fitted on these patients (uncalibrated)"


class NotEnoughData(Exception):
    """Too few paired voice/PHQ-9 observations for the requested computation."""


def recording_scores_frame() -> pd.DataFrame:
    """One row per scored recording: ids, time, composite, stored predictions and signed z's."""
    rows = RiskScore.objects.filter(scope=RiskScore.Scope.RECORDING).values_list(
        "patient_id", "recording_id", "at", "voice_deviation", "predicted_phq9", "prob_ge10", "deviations")
    records = [{"patient_id": p, "recording_id": r, "recorded_at": at, "voice_score": v, "predicted_phq9": y,
                "prob_ge10": prob, **{k: (d.get("z") or {}).get(k) for k in DIRECTIONAL_FEATURES}}
               for p, r, at, v, y, prob, d in rows.iterator(chunk_size=5000)]
    columns = ["patient_id", "recording_id", "recorded_at", "voice_score", "predicted_phq9", "prob_ge10",
               *DIRECTIONAL_FEATURES]
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
    rows = Patient.objects.values_list("id", "sex", "birth_year", "language")
    return pd.DataFrame.from_records(list(rows), columns=["patient_id", "sex", "birth_year", "language"])


def training_pairs(scores: pd.DataFrame, phq9: pd.DataFrame) -> pd.DataFrame:
    """Each PHQ-9 with the mean signed z's of the recordings in the 14 days before it."""
    pairs = pair_phq9_with_voice(scores, phq9.rename(columns={"total": "phq9_total"}),
                                 columns=list(DIRECTIONAL_FEATURES), window_days=14)
    return pairs[pairs["n_recordings"] >= settings.CADENCE_PAIRING_MIN_RECORDINGS].reset_index(drop=True)


def risk_model_fit() -> RiskModel:
    """Fit the population model on the clinic's paired data, store it and make it active."""
    pairs = training_pairs(recording_scores_frame(), phq9_frame())
    n_patients = pairs["patient_id"].nunique() if len(pairs) else 0
    if n_patients < MIN_FIT_PATIENTS or len(pairs) < MIN_FIT_PAIRS:
        raise NotEnoughData(f"{len(pairs)} paired PHQ-9s from {n_patients} patients; at least {MIN_FIT_PAIRS} "
                            f"pairs from {MIN_FIT_PATIENTS} patients are needed to fit a model.")
    result = fit_population_model(pairs, features=DIRECTIONAL_FEATURES)
    clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in result.cv_metrics.items()}
    with transaction.atomic():
        RiskModel.objects.filter(active=True).update(active=False)
        payload = result.model.to_dict()
        return RiskModel.objects.create(version=result.model.version, payload=payload, cv_metrics=clean, active=True)


def _prospective_offsets(model: ScoringModel, scores: pd.DataFrame, phq9: pd.DataFrame) -> np.ndarray:
    """Each recording's personal offset from that patient's PHQ-9s answered before it (as served)."""
    population = predict_frame(model, scores)["predicted_phq9"]
    offsets = pd.Series(0.0, index=scores.index)
    answers_by_patient = dict(tuple(phq9.sort_values("answered_at").groupby("patient_id")))
    for patient_id, mine in scores.groupby("patient_id"):
        answers = answers_by_patient.get(patient_id)
        if answers is None:
            continue
        times = list(mine["recorded_at"])
        residuals = phq9_residuals(list(zip(answers["answered_at"], answers["total"], strict=True)),
                                   list(zip(times, population[mine.index], strict=True)))
        calibrations = Calibrations(residuals, model)
        offsets[mine.index] = [calibrations.at(t).offset for t in times]
    return offsets.to_numpy()


def out_of_fold_scores(scores: pd.DataFrame, phq9: pd.DataFrame, *, n_splits: int = 5) -> pd.DataFrame:
    """Predictions for every recording from a model fitted without that recording's patient."""
    from sklearn.model_selection import GroupKFold

    pairs = training_pairs(scores, phq9)
    patients = pairs["patient_id"].unique()
    out = scores.copy()
    out["oof"] = False
    folds = GroupKFold(n_splits=min(n_splits, len(patients))).split(pairs, groups=pairs["patient_id"])
    for train, _ in folds:
        train_patients = set(pairs.iloc[train]["patient_id"])
        intercept, coefs, tau2, sigma2 = _fit_mixedlm(pairs.iloc[train], DIRECTIONAL_FEATURES, "phq9_total",
                                                      "patient_id")
        fold_model = ScoringModel("cv-fold", "mixedlm", intercept, coefs, tau2, sigma2)
        held_out = ~out["patient_id"].isin(train_patients) & out["patient_id"].isin(patients)
        subset = out.loc[held_out]
        offsets = _prospective_offsets(fold_model, subset, phq9[phq9["patient_id"].isin(subset["patient_id"])])
        predicted = predict_frame(fold_model, subset, offsets=offsets,
                                  offset_variances=np.full(len(subset), fold_model.tau2))
        out.loc[held_out, "predicted_phq9"] = predicted["predicted_phq9"].to_numpy()
        out.loc[held_out, "prob_ge10"] = predicted["p_phq9_ge10"].to_numpy()
        out.loc[held_out, "oof"] = True
    return out


def _active_model() -> tuple[ScoringModel, RiskModel | None]:
    row = RiskModel.objects.filter(active=True).first()
    return (ScoringModel.from_dict(row.payload), row) if row else (PRIOR_MODEL, None)


def _report_inputs() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str | None, ScoringModel]:
    """The whole clinic's scores (out-of-fold where a model was fitted), PHQ-9s and patients."""
    scores, phq9 = recording_scores_frame(), phq9_frame()
    model, row = _active_model()
    if row is None:
        scores["oof"] = True  # the prior was never fitted on any patient here
        source = PRIOR_SOURCE
    else:
        scores = out_of_fold_scores(scores, phq9) if len(scores) else scores.assign(oof=False)
        source = None
    return scores, phq9, patients_frame(), source, model


def _report_on(inputs, *, patient_ids: set[int] | None, now: datetime | None, n_bootstrap: int):
    """The report on ``patient_ids`` only (None: everyone); predictions come from the whole clinic's folds."""
    scores, phq9, patients, source, model = inputs
    if patient_ids is not None:
        scores, phq9, patients = (frame[frame["patient_id"].isin(patient_ids)] for frame in (scores, phq9, patients))
    return build_report(
        phq9=phq9, scores=scores, patients=patients, window_days=14,
        min_recordings=settings.CADENCE_PAIRING_MIN_RECORDINGS, threshold=settings.CADENCE_RISK_PROBABILITY_THRESHOLD,
        n_bootstrap=n_bootstrap, generated_at=now or timezone.now(), prediction_source=source,
        model={"version": model.version, "kind": model.kind, "calibrated": model.calibrated},
    )


def validation_report_content(*, now: datetime | None = None, n_bootstrap: int = 2000,
                              patient_ids: set[int] | None = None):
    """The report object (see :func:`screening.validation.build_report`) on the clinic's data."""
    return _report_on(_report_inputs(), patient_ids=patient_ids, now=now, n_bootstrap=n_bootstrap)


#: Bootstrap resamples of each care team's summary in a cross-team report (the summary has no intervals).
TEAM_SUMMARY_BOOTSTRAP = 20


def validation_report_build(*, trigger: str = "manual", n_bootstrap: int = 2000,
                            care_team_ids: list[int] | None = None) -> ValidationReport:
    """Build the report now and keep it (reports are history: nothing is overwritten).

    ``care_team_ids`` limits the report to those teams' patients (a clinician's scope);
    None covers every team and adds one summary per team (the research scope).
    """
    import json

    from clinic.models import CareTeam

    inputs = _report_inputs()
    teams = CareTeam.objects.order_by("name")
    if care_team_ids is not None:
        care_team_ids = sorted(set(care_team_ids))
        teams = teams.filter(pk__in=care_team_ids)
    members = {team.pk: set(team.patients.values_list("pk", flat=True)) for team in teams}
    in_scope = None if care_team_ids is None else set().union(*members.values())
    report = _report_on(inputs, patient_ids=in_scope, now=None, n_bootstrap=n_bootstrap)
    summaries = []
    if care_team_ids is None:
        for team in teams:
            team_report = _report_on(inputs, patient_ids=members[team.pk], now=None,
                                     n_bootstrap=TEAM_SUMMARY_BOOTSTRAP)
            summaries.append({"care_team": team.pk, "name": team.name,
                              "summary": json.loads(render(team_report, "json"))["summary"]})
    return ValidationReport.objects.create(trigger=trigger, payload=json.loads(render(report, "json")),
                                           html=render(report, "html"), care_team_ids=care_team_ids,
                                           team_summaries=summaries)
