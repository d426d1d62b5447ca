"""Coverage of the PHQ-9s by voice scores, and the accuracy of each kind of estimate.

A PHQ-9 asks about the two weeks before it. Of the PHQ-9s whose window holds at least one valid
recording, how many can be compared with a **personal** score (change from the patient's own
baseline), how many only with an **early** estimate (population norms, while the baseline is
being built: the first recordings, or a new phone), and how many with nothing? And how close is
each kind of estimate to the PHQ-9 it sits next to: mean absolute error, calibration slope (PHQ-9
on estimate) and, where patients have several such windows, the repeated-measures correlation.

Input: the per-recording score table of the validation report with ``estimate_type``
(``personal``, ``early``, ``pending``) and ``early_phq9`` (the early estimate's predicted PHQ-9);
without ``estimate_type`` every row with a predicted PHQ-9 counts as personal. ``early_fitted_at``, where given,
is when the clinic's early model behind an early estimate was fitted (missing: the literature prior, never fitted):
such a model was fitted on the PHQ-9s answered before then, so its estimate's accuracy is measured only against
PHQ-9s answered after it (a temporal validation); an earlier PHQ-9 still counts as covered.
Pure pandas / NumPy: no Django.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from clinic.phq9 import WINDOW_DAYS
from screening.validation import stats
from screening.validation.pairing import window_slices
from screening.validation.text import gettext_noop, ngettext

__all__ = ["coverage_section", "MIN_WINDOWS"]

#: Fewest PHQ-9 windows of a kind before its accuracy is reported.
MIN_WINDOWS = 10


def _utc(series: pd.Series) -> np.ndarray:
    return pd.to_datetime(series, utc=True).to_numpy(dtype="datetime64[ns]")


def _windows(phq9: pd.DataFrame, scores: pd.DataFrame, window_days: int) -> pd.DataFrame:
    """Per PHQ-9: recordings in its window, personal ones and their mean prediction, early ones and the mean of
    those whose model was not fitted on that PHQ-9."""
    rows = []
    by_patient = dict(tuple(scores.groupby("patient_id", sort=False)))
    for patient_id, answers in phq9.groupby("patient_id", sort=False):
        mine = by_patient.get(patient_id)
        answers = answers.sort_values("answered_at", kind="stable")
        if mine is None or mine.empty:
            rows += [{"patient_id": patient_id, "phq9_total": float(t), "n_recordings": 0, "n_personal": 0,
                      "n_early": 0, "n_early_fitted_on": 0, "personal": math.nan, "early": math.nan}
                     for t in answers["total"]]
            continue
        mine = mine.sort_values("recorded_at", kind="stable")
        lo, hi = window_slices(_utc(mine["recorded_at"]), _utc(answers["answered_at"]), float(window_days))
        kinds = mine["estimate_type"].to_numpy()
        personal = mine["predicted_phq9"].to_numpy(dtype=float)
        early = mine["early_phq9"].to_numpy(dtype=float)
        fitted = _utc(mine["early_fitted_at"])
        for total, answered, a, b in zip(answers["total"], _utc(answers["answered_at"]), lo, hi, strict=True):
            is_personal = (kinds[a:b] == "personal") & np.isfinite(personal[a:b])
            is_early = (kinds[a:b] == "early") & np.isfinite(early[a:b])
            # An early model fitted at or after this PHQ-9 may have been fitted on it.
            fitted_on = is_early & ~np.isnat(fitted[a:b]) & (fitted[a:b] >= answered)
            usable = is_early & ~fitted_on
            rows.append({"patient_id": patient_id, "phq9_total": float(total), "n_recordings": int(b - a),
                         "n_personal": int(is_personal.sum()), "n_early": int(is_early.sum()),
                         "n_early_fitted_on": int(fitted_on.sum()),
                         "personal": float(personal[a:b][is_personal].mean()) if is_personal.any() else math.nan,
                         "early": float(early[a:b][usable].mean()) if usable.any() else math.nan})
    return pd.DataFrame(rows, columns=["patient_id", "phq9_total", "n_recordings", "n_personal", "n_early",
                                       "n_early_fitted_on", "personal", "early"])


def _accuracy(windows: pd.DataFrame, column: str) -> dict[str, Any]:
    data = windows.dropna(subset=[column])
    n = len(data)
    if n < MIN_WINDOWS:
        return {"status": "insufficient data", "n_windows": n,
                "reason": gettext_noop("fewer than %(least)s PHQ-9s with this kind of estimate", least=MIN_WINDOWS)}
    error = data[column] - data["phq9_total"]
    x, y = data[column].to_numpy(), data["phq9_total"].to_numpy()
    slope = float(np.polyfit(x, y, 1)[0]) if np.var(x) > 0 else math.nan
    rm = stats.repeated_measures_correlation(data.rename(columns={column: "estimate"}), x="estimate", y="phq9_total")
    return {"status": "ok", "n_windows": n, "n_patients": int(data["patient_id"].nunique()),
            "mae": float(error.abs().mean()), "mean_error": float(error.mean()), "calibration_slope": slope,
            "rm_corr": rm.get("r") if rm.get("status") == "ok" else None}


def coverage_section(phq9: pd.DataFrame, scores: pd.DataFrame, *, window_days: int = WINDOW_DAYS) -> dict[str, Any]:
    """Coverage of the PHQ-9s by each kind of voice estimate, and each kind's accuracy.

    ``phq9``: patient_id, answered_at, total. ``scores``: one row per valid recording's score, with
    patient_id, recorded_at, predicted_phq9 and, where known, estimate_type and early_phq9.
    """
    scores = scores.copy()
    if "estimate_type" not in scores:
        scores["estimate_type"] = np.where(np.isfinite(scores["predicted_phq9"].astype(float)), "personal", "pending")
    if "early_phq9" not in scores:
        scores["early_phq9"] = math.nan
    if "early_fitted_at" not in scores:
        scores["early_fitted_at"] = pd.NaT
    windows = _windows(phq9, scores[["patient_id", "recorded_at", "predicted_phq9", "estimate_type", "early_phq9",
                                     "early_fitted_at"]], window_days)
    with_recording = windows[windows["n_recordings"] > 0]
    n = len(with_recording)
    personal = int((with_recording["n_personal"] > 0).sum())
    early_only = int(((with_recording["n_personal"] == 0) & (with_recording["n_early"] > 0)).sum())
    # Early-only windows whose every early estimate came from a model fitted on their PHQ-9: covered, not scored.
    fitted_on = int(((with_recording["n_personal"] == 0) & (with_recording["n_early"] > 0)
                     & (with_recording["n_early"] == with_recording["n_early_fitted_on"])).sum())

    def share(k: int) -> float | None:
        return k / n if n else None

    return {
        "status": "ok" if n else "insufficient data",
        **({} if n else {"message": gettext_noop("No PHQ-9 has a recording in its window yet.")}),
        "window_days": window_days,
        "n_phq9": int(len(windows)),
        "n_phq9_with_recording": n,
        "n_with_personal_score": personal,
        "n_with_early_estimate_only": early_only,
        "n_with_no_estimate": n - personal - early_only,
        "share_with_any_estimate": share(personal + early_only),
        "share_with_personal_score": share(personal),
        "share_with_early_estimate_only": share(early_only),
        "accuracy": {"personal": _accuracy(with_recording, "personal"),
                     "early": _accuracy(with_recording[with_recording["n_personal"] == 0], "early")
                     | {"n_windows_fitted_on": fitted_on}},
        "interpretation": _interpret(n, window_days, personal, early_only, fitted_on, share),
    }


def _interpret(n: int, window_days: int, personal: int, early_only: int, fitted_on: int, share) -> str:
    if not n:
        return gettext_noop("No PHQ-9 has a recording in its window yet.")
    reading = ngettext(
        "Of %(n)s PHQ-9 with a recording in the %(days)s days before, %(personal)s (%(personal_share)s) can be "
        "compared with a personal voice score and %(early)s more (%(early_share)s) only with an early estimate "
        "against population norms (no personal baseline yet: first recordings or a new phone).",
        "Of %(n)s PHQ-9s with a recording in the %(days)s days before, %(personal)s (%(personal_share)s) can be "
        "compared with a personal voice score and %(early)s more (%(early_share)s) only with an early estimate "
        "against population norms (no personal baseline yet: first recordings or a new phone).", n, n=n,
        days=window_days, personal=personal, personal_share=f"{(share(personal) or 0):.0%}", early=early_only,
        early_share=f"{(share(early_only) or 0):.0%}")
    if not fitted_on:
        return reading
    return gettext_noop("%(first)s %(second)s", first=reading, second=gettext_noop(
        "%(n)s of these are left out of the early estimates' accuracy: their estimates came from an early model "
        "fitted on the clinic's PHQ-9s when that PHQ-9 was already answered.", n=fitted_on))
