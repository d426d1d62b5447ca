"""Statistics of the PHQ-9 validation report, respecting repeated measures.

Every function takes the pairs DataFrame of :func:`~screening.validation.pairing.
pair_phq9_with_voice` (one row per PHQ-9 with its window's mean scores) and returns a
JSON-ready dict with ``status`` ("ok" or "insufficient data"), ``n_patients``, ``n_pairs``
and, for each estimate, a 95 % interval. Between-person and within-person associations
are kept apart; no correlation pooled over all pairs is ever computed, because with
repeated measures it mixes the two and can show an effect of the wrong sign.

Too little data gives ``{"status": "insufficient data", "message": "insufficient data:
..."}`` instead of numbers. The limits below are the documented floor; they are low on
purpose (a report on a small clinic should still say what it can) and the intervals
carry the rest of the uncertainty.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from screening.validation.pairing import PATIENT_COLUMNS, require_columns

__all__ = [
    "CONFIDENCE",
    "MIN_PATIENTS",
    "MIN_PAIRS",
    "MIN_CHANGES",
    "MIN_PATIENTS_RANDOM_SLOPE",
    "MIN_PAIRS_PER_PATIENT_RANDOM_SLOPE",
    "OUT_OF_FOLD_LABEL",
    "IN_SAMPLE_LABEL",
    "fisher_ci",
    "wilson_ci",
    "auc_mann_whitney",
    "roc_points",
    "patient_means",
    "between_person_correlation",
    "repeated_measures_correlation",
    "mixed_model",
    "screening_accuracy",
    "calibration",
    "bland_altman_repeated",
    "change_detection",
    "age_band",
    "subgroup_breakdown",
    "prediction_provenance",
]

CONFIDENCE = 0.95
#: Fewest patients for any estimate; the Fisher z interval of a correlation needs n > 3.
MIN_PATIENTS = 4
#: Fewest pairs for any estimate.
MIN_PAIRS = 10
#: Fewest >= MID PHQ-9 changes for the change-detection proportion.
MIN_CHANGES = 5
#: A random slope on voice_within is tried only with at least this many patients ...
MIN_PATIENTS_RANDOM_SLOPE = 10
#: ... each having at least this many pairs (two points always fit a line exactly).
MIN_PAIRS_PER_PATIENT_RANDOM_SLOPE = 3

OUT_OF_FOLD_LABEL = "out-of-fold (cross-validated by patient)"
IN_SAMPLE_LABEL = "in-sample: not an honest estimate"

PHQ9 = "phq9_total"
VOICE = "voice_score"
SUBJECT = "patient_id"


# --------------------------------------------------------------------------- helpers
def _z(confidence: float) -> float:
    return float(sps.norm.ppf(0.5 + confidence / 2))


def _counts(pairs: pd.DataFrame) -> dict[str, int]:
    return {"n_patients": int(pairs[SUBJECT].nunique()), "n_pairs": int(len(pairs))}


def _insufficient(reason: str, pairs: pd.DataFrame) -> dict[str, Any]:
    return {
        "status": "insufficient data",
        "message": f"insufficient data: {reason}",
        **_counts(pairs),
    }


def _too_little(pairs: pd.DataFrame, *, repeats: bool = False) -> dict[str, Any] | None:
    counts = _counts(pairs)
    patients = "patients with two or more pairs" if repeats else "patients with pairs"
    pairs_of = "pairs from patients with two or more pairs" if repeats else "pairs"
    if counts["n_patients"] < MIN_PATIENTS:
        return _insufficient(
            f"{counts['n_patients']} {patients} (at least {MIN_PATIENTS} needed)", pairs
        )
    if counts["n_pairs"] < MIN_PAIRS:
        return _insufficient(f"{counts['n_pairs']} {pairs_of} (at least {MIN_PAIRS} needed)", pairs)
    return None


def fisher_ci(r: float, n: int, *, confidence: float = CONFIDENCE) -> list[float]:
    """Interval for a correlation by Fisher's z, standard error 1/sqrt(n - 3)."""
    half = _z(confidence) / np.sqrt(n - 3)
    z = np.arctanh(np.clip(r, -1.0, 1.0))
    return [float(np.tanh(z - half)), float(np.tanh(z + half))]


def wilson_ci(successes: int, n: int, *, confidence: float = CONFIDENCE) -> list[float]:
    """Wilson score interval of a proportion (no continuity correction)."""
    if n == 0:
        return [float("nan"), float("nan")]
    z = _z(confidence)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [float(centre - half), float(centre + half)]


def _correlation(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Pearson r and its two-sided t-test p-value (n - 2 degrees of freedom)."""
    n = len(x)
    r = float(np.clip(np.corrcoef(x, y)[0, 1], -1.0, 1.0))
    t = r * np.sqrt((n - 2) / max(1.0 - r * r, np.finfo(float).tiny))
    return r, float(2 * sps.t.sf(abs(t), n - 2))


# ------------------------------------------------------------------ between-person
def patient_means(pairs: pd.DataFrame, *, columns: tuple[str, ...] = (VOICE, PHQ9)) -> pd.DataFrame:
    """One row per patient: the mean of ``columns`` over their pairs, and ``n_pairs``."""
    grouped = pairs.groupby(SUBJECT, sort=True)
    return grouped[list(columns)].mean().assign(n_pairs=grouped.size())


def between_person_correlation(
    pairs: pd.DataFrame, *, x: str = VOICE, y: str = PHQ9, confidence: float = CONFIDENCE
) -> dict[str, Any]:
    """Pearson and Spearman correlation of patient means (each patient counts once).

    Spearman is Pearson on mid-ranks, with a t-test p-value as in scipy; both intervals
    use Fisher's z with standard error 1/sqrt(n - 3).
    """
    data = pairs[[SUBJECT, x, y]].dropna()
    short = _too_little(data)
    if short:
        return short
    means = patient_means(data, columns=(x, y))
    if means[x].nunique() < 2 or means[y].nunique() < 2:
        return _insufficient("the patient means do not vary", data)
    n = len(means)
    result: dict[str, Any] = {"status": "ok", **_counts(data), "x": x, "y": y}
    for name, (a, b) in {
        "pearson": (means[x].to_numpy(), means[y].to_numpy()),
        "spearman": (sps.rankdata(means[x]), sps.rankdata(means[y])),
    }.items():
        r, p = _correlation(np.asarray(a, float), np.asarray(b, float))
        result[name] = {"r": r, "p": p, "ci95": fisher_ci(r, n, confidence=confidence)}
    return result


# ------------------------------------------------------------------- within-person
def _with_repeats(pairs: pd.DataFrame) -> pd.DataFrame:
    """Only patients with two or more pairs say anything about change within a person."""
    sizes = pairs.groupby(SUBJECT)[SUBJECT].transform("size")
    return pairs[sizes >= 2]


def _centred(data: pd.DataFrame, column: str) -> np.ndarray:
    values = data[column].astype(float)
    return (values - values.groupby(data[SUBJECT]).transform("mean")).to_numpy()


def repeated_measures_correlation(
    pairs: pd.DataFrame, *, x: str = VOICE, y: str = PHQ9, confidence: float = CONFIDENCE
) -> dict[str, Any]:
    """Repeated-measures correlation (Bakdash & Marusich 2017), ANCOVA formulation.

    ``y ~ patient + x`` with a common slope: the covariate's sum of squares against the
    residual one gives r = sign(b) sqrt(SS_x / (SS_x + SS_error)), the F test of the
    covariate gives p, dof = N - k - 1 (N pairs, k patients), and Fisher's z with
    n = dof + 2 gives the interval, as ``pingouin.rm_corr`` does. Patients with one pair
    are left out: they carry no within-person information.
    """
    data = _with_repeats(pairs[[SUBJECT, x, y]].dropna())
    short = _too_little(data, repeats=True)
    if short:
        return short
    xc, yc = _centred(data, x), _centred(data, y)
    sxx, syy, sxy = float(xc @ xc), float(yc @ yc), float(xc @ yc)
    if sxx == 0.0 or syy == 0.0:
        return _insufficient("no within-person variation", data)
    dof = len(data) - data[SUBJECT].nunique() - 1
    ss_covariate = sxy * sxy / sxx
    ss_error = syy - ss_covariate
    r = float(np.sign(sxy) * np.sqrt(ss_covariate / (ss_covariate + ss_error)))
    f_value = ss_covariate / max(ss_error / dof, np.finfo(float).tiny)
    return {
        "status": "ok",
        **_counts(data),
        "x": x,
        "y": y,
        "r": r,
        "dof": int(dof),
        "p": float(sps.f.sf(f_value, 1, dof)),
        "ci95": fisher_ci(r, dof + 2, confidence=confidence),
        "slope": sxy / sxx,
    }


# --------------------------------------------------------------------- mixed model
def _mixed_model_frame(pairs: pd.DataFrame, *, x: str, y: str) -> pd.DataFrame:
    data = pairs[[SUBJECT, x, y]].dropna().rename(columns={y: "phq9", x: "voice"})
    between = data["voice"].groupby(data[SUBJECT]).transform("mean")
    return data.assign(voice_between=between, voice_within=data["voice"] - between)


def _fit_mixed(data: pd.DataFrame, re_formula: str | None):
    """Fit by REML; returns (result or None, list of convergence problems)."""
    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    model = smf.mixedlm(
        "phq9 ~ voice_within + voice_between", data, groups=data[SUBJECT], re_formula=re_formula
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = model.fit(reml=True)
        except (np.linalg.LinAlgError, ValueError) as error:
            return None, [f"fit failed: {error}"]
    # dict.fromkeys: statsmodels repeats the same warning for each optimiser it retries.
    problems = list(
        dict.fromkeys(
            str(w.message).strip() for w in caught if issubclass(w.category, ConvergenceWarning)
        )
    )
    if not result.converged:
        problems.append("the optimiser did not converge")
    return result, problems


def _coefficients(result, confidence: float) -> dict[str, dict[str, Any]]:
    names = ["Intercept", "voice_within", "voice_between"]
    bounds = result.conf_int(alpha=1 - confidence)
    return {
        name: {
            "estimate": float(result.fe_params[name]),
            "se": float(result.bse_fe[name]),
            "ci95": [float(bounds.loc[name, 0]), float(bounds.loc[name, 1])],
            "p": float(result.pvalues[name]),
        }
        for name in names
    }


def _slope_is_feasible(data: pd.DataFrame) -> bool:
    sizes = data.groupby(SUBJECT).size()
    return int((sizes >= MIN_PAIRS_PER_PATIENT_RANDOM_SLOPE).sum()) >= MIN_PATIENTS_RANDOM_SLOPE


def mixed_model(
    pairs: pd.DataFrame, *, x: str = VOICE, y: str = PHQ9, confidence: float = CONFIDENCE
) -> dict[str, Any]:
    """Linear mixed model ``phq9 ~ voice_within + voice_between`` (statsmodels MixedLM).

    voice_between is the patient's mean voice score, voice_within the pair's deviation
    from it, so the two coefficients separate the within- and between-person effects.
    Random intercept per patient; a random slope on voice_within is tried when at least
    :data:`MIN_PATIENTS_RANDOM_SLOPE` patients have :data:`MIN_PAIRS_PER_PATIENT_RANDOM_SLOPE`
    pairs, and kept only if the fit converges without warnings. Coefficients are REML
    estimates with Wald intervals.
    """
    data = _mixed_model_frame(pairs, x=x, y=y)
    short = _too_little(data) or _too_little(_with_repeats(data), repeats=True)
    if short:
        return short
    notes: list[str] = []
    result, problems = None, ["not attempted"]
    if _slope_is_feasible(data):
        result, problems = _fit_mixed(data, "~voice_within")
        if problems:
            notes.append(
                "a random slope on voice_within was tried but did not converge ("
                + "; ".join(problems)
                + "); the model below has a random intercept only"
            )
    else:
        notes.append(
            "too few patients with three or more pairs for a random slope; " "random intercept only"
        )
    random_slope = not problems
    if problems:
        result, problems = _fit_mixed(data, None)
    if result is None:
        return _insufficient("the mixed model could not be fitted: " + "; ".join(problems), data)
    if problems:
        notes.append(
            "the model did not converge ("
            + "; ".join(problems)
            + "); its estimates may be unreliable"
        )
    return {
        "status": "ok",
        **_counts(data),
        "formula": "phq9 ~ voice_within + voice_between",
        "random_effects": "intercept + slope on voice_within" if random_slope else "intercept",
        "converged": not problems,
        "coefficients": _coefficients(result, confidence),
        "random_effects_cov": [[float(v) for v in row] for row in np.asarray(result.cov_re)],
        "residual_variance": float(result.scale),
        "notes": notes,
    }


# --------------------------------------------------------------- screening accuracy
def auc_mann_whitney(
    y_true: np.ndarray, score: np.ndarray, weights: np.ndarray | None = None
) -> float:
    """ROC AUC as the (weighted) probability a positive outranks a negative, ties 1/2."""
    y = np.asarray(y_true, bool)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, float)
    levels, level_of = np.unique(np.asarray(score, float), return_inverse=True)
    pos = np.bincount(level_of, weights=w * y, minlength=len(levels))
    neg = np.bincount(level_of, weights=w * ~y, minlength=len(levels))
    total_pos, total_neg = pos.sum(), neg.sum()
    if total_pos == 0 or total_neg == 0:
        return float("nan")
    below = np.cumsum(neg) - neg
    return float(pos @ (below + 0.5 * neg) / (total_pos * total_neg))


def roc_points(y_true: np.ndarray, score: np.ndarray) -> dict[str, list[float]]:
    """False- and true-positive rates calling ``score >= t`` positive, t from high to low."""
    y = np.asarray(y_true, bool)
    s = np.asarray(score, float)
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    last_of_level = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]
    tpr = np.cumsum(y)[last_of_level] / y.sum()
    fpr = np.cumsum(~y)[last_of_level] / (~y).sum()
    return {
        "fpr": [0.0, *map(float, fpr)],
        "tpr": [0.0, *map(float, tpr)],
        "thresholds": [float("inf"), *map(float, s[last_of_level])],
    }


def _cluster_weights(codes: np.ndarray, n_boot: int, seed: int | None):
    """Yield pair weights of patient-level bootstrap resamples (patients drawn with
    replacement; a patient drawn twice counts twice)."""
    rng = np.random.default_rng(seed)
    n_patients = int(codes.max()) + 1
    for _ in range(n_boot):
        drawn = np.bincount(rng.integers(0, n_patients, n_patients), minlength=n_patients)
        yield drawn[codes].astype(float)


def _percentile_ci(values: np.ndarray, confidence: float) -> list[float]:
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return [float("nan"), float("nan")]
    tail = (1 - confidence) / 2
    return [float(np.quantile(values, tail)), float(np.quantile(values, 1 - tail))]


def _rate(hits: int, n: int, confidence: float) -> dict[str, Any]:
    return {
        "value": hits / n if n else float("nan"),
        "successes": int(hits),
        "n": int(n),
        "ci95": wilson_ci(hits, n, confidence=confidence),
    }


def _scored(pairs: pd.DataFrame, column: str, cutoff: int) -> pd.DataFrame:
    data = pairs[[SUBJECT, PHQ9, column]].dropna()
    return data.assign(
        positive=data[PHQ9] >= cutoff, code=pd.factorize(data[SUBJECT], sort=True)[0]
    )


def screening_accuracy(
    pairs: pd.DataFrame,
    *,
    cutoff: int = 10,
    threshold: float = 0.5,
    n_bootstrap: int = 2000,
    seed: int | None = 0,
    confidence: float = CONFIDENCE,
    score: str = "prob_ge10",
) -> dict[str, Any]:
    """Accuracy of ``score`` for PHQ-9 >= ``cutoff``.

    AUC with a percentile interval from a bootstrap that resamples patients (resamples
    with one class only are skipped and counted); sensitivity and specificity of
    ``score >= threshold`` with Wilson intervals. The Wilson intervals treat pairs as
    independent, so with several pairs per patient they are somewhat too narrow.
    """
    data = _scored(pairs, score, cutoff)
    short = _too_little(data)
    if short:
        return short
    y, s = data["positive"].to_numpy(), data[score].to_numpy(float)
    if y.all() or not y.any():
        return _insufficient(f"all pairs are on one side of PHQ-9 >= {cutoff}", data)
    boot = np.array(
        [
            auc_mann_whitney(y, s, w)
            for w in _cluster_weights(data["code"].to_numpy(), n_bootstrap, seed)
        ]
    )
    called = s >= threshold
    return {
        "status": "ok",
        **_counts(data),
        "cutoff": cutoff,
        "threshold": threshold,
        "n_positive": int(y.sum()),
        "n_negative": int((~y).sum()),
        "auc": auc_mann_whitney(y, s),
        "auc_ci95": _percentile_ci(boot, confidence),
        "n_bootstrap": int(n_bootstrap),
        "n_bootstrap_used": int(np.isfinite(boot).sum()),
        "sensitivity": _rate(int((called & y).sum()), int(y.sum()), confidence),
        "specificity": _rate(int((~called & ~y).sum()), int((~y).sum()), confidence),
        "roc": roc_points(y, s),
    }


# --------------------------------------------------------------------- calibration
def _reliability(y: np.ndarray, p: np.ndarray, n_bins: int) -> list[dict[str, float]]:
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # Same binning as sklearn.calibration.calibration_curve(strategy="uniform").
    bins = np.searchsorted(edges[1:-1], p)
    rows = []
    for b in np.unique(bins):
        inside = bins == b
        rows.append(
            {
                "bin_low": float(edges[b]),
                "bin_high": float(edges[b + 1]),
                "mean_predicted": float(p[inside].mean()),
                "observed_fraction": float(y[inside].mean()),
                "n": int(inside.sum()),
            }
        )
    return rows


def calibration(
    pairs: pd.DataFrame,
    *,
    cutoff: int = 10,
    n_bins: int = 10,
    n_bootstrap: int = 2000,
    seed: int | None = 0,
    confidence: float = CONFIDENCE,
    score: str = "prob_ge10",
) -> dict[str, Any]:
    """Brier score of ``score`` for PHQ-9 >= ``cutoff`` (patient-bootstrap interval) and
    a reliability curve over ``n_bins`` equal-width bins (empty bins left out)."""
    data = _scored(pairs, score, cutoff)
    short = _too_little(data)
    if short:
        return short
    y, p = data["positive"].to_numpy(float), data[score].to_numpy(float)
    if p.min() < 0 or p.max() > 1:
        return _insufficient(f"{score} has values outside 0-1", data)
    squared = (p - y) ** 2
    boot = np.array(
        [
            squared @ w / w.sum()
            for w in _cluster_weights(data["code"].to_numpy(), n_bootstrap, seed)
        ]
    )
    return {
        "status": "ok",
        **_counts(data),
        "cutoff": cutoff,
        "brier": float(squared.mean()),
        "brier_ci95": _percentile_ci(boot, confidence),
        "n_bootstrap": int(n_bootstrap),
        "reliability": _reliability(y, p, n_bins),
    }


def bland_altman_repeated(
    pairs: pd.DataFrame,
    *,
    predicted: str = "predicted_phq9",
    observed: str = PHQ9,
    confidence: float = CONFIDENCE,
) -> dict[str, Any]:
    """Bland-Altman agreement of predicted and observed PHQ-9 with repeated measures.

    Bland & Altman (2007), multiple observations per individual where the true value
    varies: the differences d = predicted - observed go into a one-way ANOVA by patient;
    s2_within = MSW, s2_between = max(0, (MSB - MSW) / lambda) with
    lambda = (N^2 - sum m_i^2) / ((k - 1) N); limits of agreement are
    mean(d) +/- z sqrt(s2_between + s2_within). The bias interval uses
    var(mean d) = s2_between sum m_i^2 / N^2 + s2_within / N.
    """
    data = pairs[[SUBJECT, predicted, observed]].dropna()
    short = _too_little(data)
    if short:
        return short
    diff = (data[predicted] - data[observed]).astype(float)
    groups = diff.groupby(data[SUBJECT])
    m, k, n = groups.size().to_numpy(), groups.ngroups, len(diff)
    if n == k:
        return _insufficient("no patient has two or more pairs", data)
    bias = float(diff.mean())
    ms_between = float((m * (groups.mean().to_numpy() - bias) ** 2).sum() / (k - 1))
    ms_within = float(((diff - groups.transform("mean")) ** 2).sum() / (n - k))
    divisor = (n * n - float((m * m).sum())) / ((k - 1) * n)
    var_between = max(0.0, (ms_between - ms_within) / divisor)
    sd_total = float(np.sqrt(var_between + ms_within))
    z = _z(confidence)
    bias_se = float(np.sqrt(var_between * (m * m).sum() / n**2 + ms_within / n))
    return {
        "status": "ok",
        **_counts(data),
        "difference": f"{predicted} - {observed}",
        "method": "Bland & Altman 2007, multiple observations per individual, true value varying",
        "bias": bias,
        "bias_ci95": [bias - z * bias_se, bias + z * bias_se],
        "loa_low": bias - z * sd_total,
        "loa_high": bias + z * sd_total,
        "sd_total": sd_total,
        "var_between": var_between,
        "var_within": ms_within,
    }


# ----------------------------------------------------------------- change detection
def change_detection(
    pairs: pd.DataFrame,
    *,
    mid: int = 5,
    score: str = VOICE,
    direction: int = 1,
    confidence: float = CONFIDENCE,
) -> dict[str, Any]:
    """How often a PHQ-9 change of at least ``mid`` points between a patient's consecutive
    pairs is matched by ``score`` moving the same way.

    ``direction`` is +1 when a higher score means worse, -1 when it means better.
    A score that does not move counts as a miss. Chance agreement is one half.
    """
    data = (
        pairs[[SUBJECT, "answered_at", PHQ9, score]]
        .dropna()
        .sort_values([SUBJECT, "answered_at"], kind="stable")
    )
    steps = data.groupby(SUBJECT)[[PHQ9, score]].diff().dropna()
    steps[SUBJECT] = data.loc[steps.index, SUBJECT]
    large = steps[steps[PHQ9].abs() >= mid]
    if len(large) < MIN_CHANGES:
        return _insufficient(
            f"{len(large)} PHQ-9 changes of {mid} points or more "
            f"(at least {MIN_CHANGES} needed)",
            data,
        )
    matched = np.sign(large[PHQ9]) == np.sign(direction * large[score])
    return {
        "status": "ok",
        **_counts(data),
        "score": score,
        "mid": mid,
        "n_changes": int(len(large)),
        "n_patients_with_changes": int(large[SUBJECT].nunique()),
        "n_worsened": int((large[PHQ9] > 0).sum()),
        "n_improved": int((large[PHQ9] < 0).sum()),
        "matched": _rate(int(matched.sum()), int(len(large)), confidence),
    }


# ------------------------------------------------------------------------ subgroups
AGE_BANDS = ((18, 29, "18-29"), (30, 44, "30-44"), (45, 64, "45-64"), (65, 200, "65+"))


def age_band(birth_year: float | None, *, reference_date: pd.Timestamp) -> str:
    """Age band from the birth year, age taken as reference year - birth year
    (birthdays are not stored, so a patient may be one year younger than counted)."""
    if birth_year is None or pd.isna(birth_year):
        return "unknown"
    age = reference_date.year - int(birth_year)
    for low, high, label in AGE_BANDS:
        if low <= age <= high:
            return label
    return "under 18" if age < 18 else "unknown"


def _group_row(
    group: str, pairs: pd.DataFrame, *, cutoff: int, n_bootstrap: int, seed: int | None
) -> dict[str, Any]:
    accuracy = screening_accuracy(pairs, cutoff=cutoff, n_bootstrap=n_bootstrap, seed=seed)
    return {
        "group": group,
        **_counts(pairs),
        "n_positive": int((pairs[PHQ9] >= cutoff).sum()),
        "auc": (
            {k: accuracy[k] for k in ("status", "auc", "auc_ci95")}
            if accuracy["status"] == "ok"
            else accuracy
        ),
        "rm_corr": repeated_measures_correlation(pairs),
    }


def subgroup_breakdown(
    pairs: pd.DataFrame,
    patients: pd.DataFrame,
    *,
    reference_date: pd.Timestamp,
    cutoff: int = 10,
    n_bootstrap: int = 2000,
    seed: int | None = 0,
) -> dict[str, list[dict[str, Any]]]:
    """Per sex, age band and language: counts, AUC and rm-corr where there is data.

    Patients missing from ``patients`` (or with a missing field) go to "unknown".
    """
    require_columns(patients, PATIENT_COLUMNS, "patients")
    info = patients.drop_duplicates(SUBJECT).set_index(SUBJECT)
    info = info.assign(
        age_band=[age_band(y, reference_date=reference_date) for y in info["birth_year"]]
    )
    joined = pairs.join(info[["sex", "age_band", "language"]], on=SUBJECT)
    breakdown = {}
    for facet in ("sex", "age_band", "language"):
        labels = joined[facet].astype(object).where(joined[facet].notna(), "unknown")
        breakdown[facet] = [
            _group_row(str(label), group, cutoff=cutoff, n_bootstrap=n_bootstrap, seed=seed)
            for label, group in joined.groupby(labels.astype(str), sort=True)
        ]
    return breakdown


# ----------------------------------------------------------------------- provenance
def prediction_provenance(pairs: pd.DataFrame) -> dict[str, Any]:
    """Whether every prediction used was out-of-fold; anything else is in-sample."""
    out_of_fold = bool(len(pairs) > 0 and pairs["oof"].astype(bool).all())
    return {
        "out_of_fold": out_of_fold,
        "label": OUT_OF_FOLD_LABEL if out_of_fold else IN_SAMPLE_LABEL,
        "n_pairs_in_sample": int((~pairs["oof"].astype(bool)).sum()),
    }
