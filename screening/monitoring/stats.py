"""Pure monitoring statistics: drift (PSI), category mixes, calibration, per-class recall."""

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from screening.validation.stats import repeated_measures_correlation

__all__ = ["PSI_EPSILON", "calibration_summary", "category_mix", "categorical_psi", "feature_drift",
           "per_class_recall", "psi", "summary"]

#: Floor on a bin's share, so an empty bin gives a large but finite PSI term.
PSI_EPSILON = 1e-4


def _finite(values) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return array[np.isfinite(array)]


def _psi_from_shares(expected: np.ndarray, actual: np.ndarray) -> float:
    expected, actual = np.clip(expected, PSI_EPSILON, None), np.clip(actual, PSI_EPSILON, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def psi(reference: Sequence[float], current: Sequence[float], *, bins: int = 10) -> float:
    """Population stability index of ``current`` against ``reference`` (NaN when either is empty).

    Bins are the reference's quantiles (``bins`` of equal reference mass; tied edges
    merged), plus one bin below the reference's minimum and one above its maximum, so
    values outside the reference range always count as a shift. Usual reading:
    < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 a shift worth acting on.
    """
    ref, cur = _finite(reference), _finite(current)
    if ref.size == 0 or cur.size == 0:
        return float("nan")
    inner = np.quantile(ref, np.linspace(0, 1, bins + 1))[1:-1]
    edges = np.unique(np.concatenate([[ref.min()], inner, [np.nextafter(ref.max(), np.inf)]]))
    expected = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=edges.size + 1) / ref.size
    actual = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=edges.size + 1) / cur.size
    return _psi_from_shares(expected, actual)


def feature_drift(reference: pd.DataFrame, current: pd.DataFrame, *, features: Sequence[str],
                  min_n: int = 30, bins: int = 10) -> dict[str, float]:
    """PSI of each feature present in both frames with at least ``min_n`` finite values each."""
    out = {}
    for name in features:
        if name not in reference or name not in current:
            continue
        ref, cur = _finite(reference[name]), _finite(current[name])
        if ref.size >= min_n and cur.size >= min_n:
            out[name] = psi(ref, cur, bins=bins)
    return out


def category_mix(values: Sequence[str]) -> dict[str, float]:
    """Share of each category (e.g. codec / sample rate), largest first."""
    counts = pd.Series(list(values), dtype="object").value_counts(normalize=True)
    return {str(k): float(v) for k, v in counts.items()}


def categorical_psi(reference: Mapping[str, float], current: Mapping[str, float]) -> float:
    """PSI between two category mixes (shares); a category missing on one side counts as ε."""
    keys = sorted(set(reference) | set(current))
    if not keys or not reference or not current:
        return float("nan")
    return _psi_from_shares(np.array([reference.get(k, 0.0) for k in keys]),
                            np.array([current.get(k, 0.0) for k in keys]))


def summary(values: Sequence[float]) -> dict[str, float | int | None]:
    """n, mean and the 10/50/90th percentiles (None when empty)."""
    array = _finite(values)
    if array.size == 0:
        return {"n": 0, "mean": None, "p10": None, "p50": None, "p90": None}
    p10, p50, p90 = np.percentile(array, [10, 50, 90])
    return {"n": int(array.size), "mean": float(array.mean()), "p10": float(p10), "p50": float(p50),
            "p90": float(p90)}


def calibration_summary(pairs: pd.DataFrame) -> dict:
    """Predicted PHQ-9 against the PHQ-9 it was paired with (columns patient_id, predicted_phq9, phq9_total).

    Returns the number of pairs and patients, the within-person repeated-measures
    correlation, the mean absolute error (points) and the calibration slope (observed on
    predicted; 1 is ideal, < 1 means the predictions spread too far).
    """
    data = pairs[["patient_id", "predicted_phq9", "phq9_total"]].dropna()
    result = {"n_pairs": int(len(data)), "n_patients": int(data["patient_id"].nunique()),
              "mae": None, "slope": None, "rm_corr": None}
    if len(data) == 0:
        return result
    predicted, observed = data["predicted_phq9"].to_numpy(float), data["phq9_total"].to_numpy(float)
    result["mae"] = float(np.mean(np.abs(predicted - observed)))
    if len(data) >= 3 and np.ptp(predicted) > 0:
        result["slope"] = float(np.polyfit(predicted, observed, 1)[0])
    rm = repeated_measures_correlation(data, x="predicted_phq9", y="phq9_total")
    result["rm_corr"] = rm.get("r") if rm.get("status") == "ok" else None
    return result


def per_class_recall(true_labels: Sequence[str], predicted: Sequence[str], *,
                     labels: Sequence[str]) -> dict[str, dict[str, float | int | None]]:
    """Recall of each class on labelled samples: ``{label: {"n": ..., "recall": ...}}``."""
    truth, guess = np.asarray(list(true_labels), dtype=object), np.asarray(list(predicted), dtype=object)
    out = {}
    for label in labels:
        mask = truth == label
        n = int(mask.sum())
        out[label] = {"n": n, "recall": float(np.mean(guess[mask] == label)) if n else None}
    return out
