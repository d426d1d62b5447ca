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

import re
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from clinic.phq9 import MINIMAL_IMPORTANT_DIFFERENCE
from screening.validation.text import Text, gettext_noop, ngettext, patient_count

__all__ = [
    "CONFIDENCE",
    "MIN_PATIENTS",
    "MIN_PAIRS",
    "MIN_CHANGES",
    "MIN_PATIENTS_RANDOM_SLOPE",
    "MIN_PAIRS_PER_PATIENT_RANDOM_SLOPE",
    "fisher_ci",
    "wilson_ci",
    "patient_means",
    "between_person_correlation",
    "repeated_measures_correlation",
    "mixed_model",
    "bland_altman_repeated",
    "change_detection",
    "reliable_change",
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


PHQ9 = "phq9_total"
VOICE = "voice_score"
SUBJECT = "patient_id"


# --------------------------------------------------------------------------- helpers
def _z(confidence: float) -> float:
    return float(sps.norm.ppf(0.5 + confidence / 2))


def _counts(pairs: pd.DataFrame) -> dict[str, int]:
    return {"n_patients": int(pairs[SUBJECT].nunique()), "n_pairs": int(len(pairs))}


def _insufficient(reason: Text, pairs: pd.DataFrame) -> dict[str, Any]:
    return {
        "status": "insufficient data",
        "message": gettext_noop("insufficient data: %(reason)s", reason=reason),
        **_counts(pairs),
    }


def _too_little(pairs: pd.DataFrame, *, repeats: bool = False) -> dict[str, Any] | None:
    counts = _counts(pairs)
    if counts["n_patients"] < MIN_PATIENTS:
        n, least = counts["n_patients"], MIN_PATIENTS
        return _insufficient(
            ngettext("%(n)s patient with two or more pairs (at least %(least)s needed)",
                     "%(n)s patients with two or more pairs (at least %(least)s needed)", n, n=n, least=least)
            if repeats else
            ngettext("%(n)s patient with pairs (at least %(least)s needed)",
                     "%(n)s patients with pairs (at least %(least)s needed)", n, n=n, least=least), pairs)
    if counts["n_pairs"] < MIN_PAIRS:
        n, least = counts["n_pairs"], MIN_PAIRS
        return _insufficient(
            ngettext("%(n)s pair from patients with two or more pairs (at least %(least)s needed)",
                     "%(n)s pairs from patients with two or more pairs (at least %(least)s needed)", n,
                     n=n, least=least)
            if repeats else ngettext("%(n)s pair (at least %(least)s needed)",
                                     "%(n)s pairs (at least %(least)s needed)", n, n=n, least=least), pairs)
    return None


def fisher_ci(r: float, n: int, *, confidence: float = CONFIDENCE) -> list[float]:
    """Interval for a correlation by Fisher's z, standard error 1/sqrt(n - 3) (pingouin)."""
    import pingouin  # loaded for a report, not with the module

    return [float(v) for v in pingouin.compute_esci(r, nx=n, eftype="pearson", confidence=confidence,
                                                    decimals=15)]


def wilson_ci(successes: int, n: int, *, confidence: float = CONFIDENCE) -> list[float]:
    """Wilson score interval of a proportion (statsmodels)."""
    from statsmodels.stats.proportion import proportion_confint  # loaded for a report, not with the module

    if n == 0:
        return [float("nan"), float("nan")]
    return [float(v) for v in proportion_confint(successes, n, alpha=1 - confidence, method="wilson")]


def _rate(hits: int, n: int, confidence: float = CONFIDENCE) -> dict[str, Any]:
    return {"value": hits / n if n else float("nan"), "successes": int(hits), "n": int(n),
            "ci95": wilson_ci(hits, n, confidence=confidence)}


# ------------------------------------------------------------------ between-person
def patient_means(pairs: pd.DataFrame, *, columns: tuple[str, ...] = (VOICE, PHQ9)) -> pd.DataFrame:
    """One row per patient: the mean of ``columns`` over their pairs, and ``n_pairs``."""
    grouped = pairs.groupby(SUBJECT, sort=True)
    return grouped[list(columns)].mean().assign(n_pairs=grouped.size())


def between_person_correlation(
    pairs: pd.DataFrame, *, x: str = VOICE, y: str = PHQ9, confidence: float = CONFIDENCE
) -> dict[str, Any]:
    """Pearson and Spearman correlation of patient means (each patient counts once), by scipy.

    Both intervals use Fisher's z with standard error 1/sqrt(n - 3).
    """
    data = pairs[[SUBJECT, x, y]].dropna()
    short = _too_little(data)
    if short:
        return short
    means = patient_means(data, columns=(x, y))
    if means[x].nunique() < 2 or means[y].nunique() < 2:
        return _insufficient(gettext_noop("the patient means do not vary"), data)
    n = len(means)
    pearson = sps.pearsonr(means[x], means[y])
    spearman = sps.spearmanr(means[x], means[y])
    return {
        "status": "ok", **_counts(data), "x": x, "y": y,
        "pearson": {"r": float(pearson.statistic), "p": float(pearson.pvalue),
                    "ci95": [float(v) for v in pearson.confidence_interval(confidence)]},
        "spearman": {"r": float(spearman.statistic), "p": float(spearman.pvalue),
                     "ci95": fisher_ci(float(spearman.statistic), n, confidence=confidence)},
    }


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

    The one rm-corr of Cadence (model fitting, calibration checks and this report). It is
    ``pingouin.rm_corr``'s model, ``y ~ patient + x`` with a common slope, solved in closed
    form from patient-centred sums of squares: r = sign(b) sqrt(SS_x / (SS_x + SS_error)),
    the F test of the covariate gives p, dof = N - k - 1 (N pairs, k patients), Fisher's z
    with n = dof + 2 the interval (pingouin's, unrounded). The tests check it against
    pingouin to 1e-6; pingouin itself builds an N x k dummy matrix, which for a large clinic
    (100,000 patients) needs 75 GiB. Patients with one pair are left out: they carry no
    within-person information.
    """
    data = _with_repeats(pairs[[SUBJECT, x, y]].dropna())
    short = _too_little(data, repeats=True)
    if short:
        return short
    xc, yc = _centred(data, x), _centred(data, y)
    sxx, syy, sxy = float(xc @ xc), float(yc @ yc), float(xc @ yc)
    if sxx == 0.0 or syy == 0.0:
        return _insufficient(gettext_noop("no within-person variation"), data)
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


#: statsmodels' convergence warnings (statsmodels.base.model, statsmodels.regression.mixed_linear_model), passed on
#: in the report's notes word for word and marked here so the page says them in the reader's language.
_STATSMODELS_WARNINGS = {str(text): text for text in (
    gettext_noop("Maximum Likelihood optimization failed to converge. Check mle_retvals"),
    gettext_noop("MixedLM optimization failed, trying a different optimizer may help."),
    gettext_noop("The MLE may be on the boundary of the parameter space."),
    gettext_noop("The Hessian matrix at the estimated parameter values is not positive definite."),
)}
_RETRYING = re.compile(r"Retrying MixedLM optimization with (\w+)")
_GRADIENT = re.compile(r"Gradient optimization failed, \|grad\| = (\S+)")


def _convergence_problem(message: str) -> str:
    """A statsmodels warning as a :class:`Text` where it is one the report knows; any other as it is."""
    if message in _STATSMODELS_WARNINGS:
        return _STATSMODELS_WARNINGS[message]
    if match := _RETRYING.fullmatch(message):
        return gettext_noop("Retrying MixedLM optimization with %(method)s", method=match.group(1))
    if match := _GRADIENT.fullmatch(message):
        return gettext_noop("Gradient optimization failed, |grad| = %(grad)s", grad=match.group(1))
    return message


def _fit_mixed(data: pd.DataFrame, re_formula: str | None):
    """Fit by REML; returns (result or None, list of convergence problems)."""
    import statsmodels.formula.api as smf  # loaded for a report, not with the module
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    model = smf.mixedlm(
        "phq9 ~ voice_within + voice_between", data, groups=data[SUBJECT], re_formula=re_formula
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = model.fit(reml=True)
        except (np.linalg.LinAlgError, ValueError) as error:
            return None, [gettext_noop("fit failed: %(error)s", error=error)]
    # dict.fromkeys: statsmodels repeats the same warning for each optimiser it retries.
    problems = list(
        dict.fromkeys(
            str(w.message).strip() for w in caught if issubclass(w.category, ConvergenceWarning)
        )
    )
    problems = [_convergence_problem(problem) for problem in problems]
    if not result.converged:
        problems.append(gettext_noop("the optimiser did not converge"))
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
            notes.append(gettext_noop(
                "a random slope on voice_within was tried but did not converge (%(problems)s); the model below "
                "has a random intercept only", problems=problems))
    else:
        notes.append(gettext_noop("too few patients with three or more pairs for a random slope; random intercept "
                                  "only"))
    random_slope = not problems
    if problems:
        result, problems = _fit_mixed(data, None)
    if result is None:
        return _insufficient(gettext_noop("the mixed model could not be fitted: %(problems)s", problems=problems),
                             data)
    if problems:
        notes.append(gettext_noop("the model did not converge (%(problems)s); its estimates may be unreliable",
                                  problems=problems))
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
        return _insufficient(gettext_noop("no patient has two or more pairs"), data)
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
    mid: int = MINIMAL_IMPORTANT_DIFFERENCE,
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
            ngettext("%(n)s PHQ-9 change of %(mid)s points or more (at least %(least)s needed)",
                     "%(n)s PHQ-9 changes of %(mid)s points or more (at least %(least)s needed)", len(large),
                     n=len(large), mid=mid, least=MIN_CHANGES),
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


#: Test-retest reliability of the PHQ-9 total (Kroenke, Spitzer & Williams 2001: r = 0.84).
PHQ9_RELIABILITY = 0.84


def reliable_change(
    pairs: pd.DataFrame,
    *,
    predicted: str = "predicted_phq9",
    mid: int = MINIMAL_IMPORTANT_DIFFERENCE,
    reliability: float = PHQ9_RELIABILITY,
    confidence: float = CONFIDENCE,
) -> dict[str, Any]:
    """Jacobson-Truax reliable change of PHQ-9 between a patient's consecutive pairs, and agreement of
    the predicted PHQ-9's change with it.

    RCI threshold = z * sqrt(2) * SD * sqrt(1 - reliability), SD the PHQ-9 SD over the pairs' first
    answers. A change is "reliable worsening/improvement" beyond it; agreement is on the three-way class
    (worse / no reliable change / better) of observed and predicted changes, and separately on changes of
    at least ``mid`` points.
    """
    data = pairs[[SUBJECT, "answered_at", PHQ9, predicted]].dropna().sort_values(
        [SUBJECT, "answered_at"], kind="stable")
    steps = data.groupby(SUBJECT)[[PHQ9, predicted]].diff().dropna()
    firsts = data.groupby(SUBJECT)[PHQ9].first()
    if len(steps) < MIN_CHANGES or len(firsts) < MIN_PATIENTS or firsts.std() == 0:
        return _insufficient(gettext_noop(
            "%(changes)s from %(patients)s (at least %(least)s changes from %(least_patients)s patients needed)",
            changes=ngettext("%(n)s consecutive PHQ-9 change", "%(n)s consecutive PHQ-9 changes", len(steps),
                             n=len(steps)),
            patients=patient_count(len(firsts)), least=MIN_CHANGES, least_patients=MIN_PATIENTS), data)
    threshold = _z(confidence) * np.sqrt(2) * float(firsts.std()) * np.sqrt(1 - reliability)

    def classify(change: pd.Series) -> np.ndarray:
        return np.where(change >= threshold, 1, np.where(change <= -threshold, -1, 0))

    observed, predicted_class = classify(steps[PHQ9]), classify(steps[predicted])
    large = steps[PHQ9].abs() >= mid
    same_way = np.sign(steps.loc[large, PHQ9]) == np.sign(steps.loc[large, predicted])
    return {
        "status": "ok",
        **_counts(data),
        "n_changes": int(len(steps)),
        "rci_threshold_points": float(threshold),
        "reliability": reliability,
        "n_reliable_worsening": int((observed == 1).sum()),
        "n_reliable_improvement": int((observed == -1).sum()),
        "agreement": _rate(int((observed == predicted_class).sum()), len(steps), confidence),
        "large_changes": {"mid": mid, "n": int(large.sum()),
                          "same_direction": _rate(int(same_way.sum()), int(large.sum()), confidence)},
    }
