"""The validation report's statistics: library calls wired correctly, own code against a reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin
import pytest
import statsmodels.formula.api as smf
from numpy.testing import assert_allclose
from scipy import stats as sps
from sklearn.metrics import roc_auc_score
from statsmodels.stats.anova import anova_lm
from statsmodels.stats.proportion import proportion_confint

from screening.validation import accuracy, stats, subgroups
from screening.validation.pairing import ValidationInputError

TOL = {"rtol": 1e-6, "atol": 1e-9}


def fixed_pairs(
    *, n_patients: int = 12, seed: int = 42, slope_sd: float = 0.0, singletons: int = 1
) -> pd.DataFrame:
    """Unbalanced repeated-measures pairs; the last ``singletons`` patients have one pair."""
    rng = np.random.default_rng(seed)
    sizes = np.r_[rng.integers(2, 8, n_patients - singletons), np.ones(singletons, int)]
    patient = np.repeat(np.arange(n_patients), sizes)
    mean_voice = rng.normal(0, 1.5, n_patients)
    voice = mean_voice[patient] + rng.normal(0, 1, len(patient))
    slope = 2.0 + rng.normal(0, slope_sd, n_patients)
    phq = (
        11
        - 1.2 * mean_voice[patient]
        + slope[patient] * (voice - mean_voice[patient])
        + rng.normal(0, 2.5, n_patients)[patient]
        + rng.normal(0, 2.5, len(patient))
    )
    total = np.clip(np.round(phq), 0, 27)
    predicted = phq + rng.normal(0, 4, len(patient))
    return pd.DataFrame(
        {
            "patient_id": [f"p{i:02d}" for i in patient],
            "answered_at": pd.Timestamp("2025-01-01", tz="UTC")
            + pd.to_timedelta(np.concatenate([np.arange(s) for s in sizes]) * 28, "D"),
            "phq9_total": total,
            "voice_score": voice,
            "predicted_phq9": predicted,
            # Rounded so that ties occur, as they do with real probabilities.
            "prob_ge10": np.round(sps.norm.cdf((predicted - 9.5) / 4), 2),
            "oof": True,
        }
    )


# ------------------------------------------------------------- between-person
def test_it_counts_each_patient_once_between_patients():
    pairs = fixed_pairs()
    means = pairs.groupby("patient_id")[["voice_score", "phq9_total"]].mean()
    result = stats.between_person_correlation(pairs)
    assert_allclose(result["pearson"]["r"], sps.pearsonr(means["voice_score"], means["phq9_total"]).statistic, **TOL)
    # repeating one patient's pairs changes their weight in a pooled correlation, not here
    heavy = pd.concat([pairs, pairs[pairs.patient_id == "p00"]] * 1)
    assert_allclose(stats.between_person_correlation(heavy)["pearson"]["r"], result["pearson"]["r"], **TOL)
    n = len(means)
    assert_allclose(result["spearman"]["ci95"], pingouin.compute_esci(
        result["spearman"]["r"], nx=n, eftype="spearman", decimals=15), **TOL)
    assert (result["n_patients"], result["n_pairs"]) == (n, len(pairs))


# -------------------------------------------------------------- within-person
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_it_matches_pingouin_rm_corr(seed):
    pairs = fixed_pairs(seed=seed)
    result = stats.repeated_measures_correlation(pairs)
    expected = pingouin.rm_corr(pairs, x="voice_score", y="phq9_total", subject="patient_id")
    assert_allclose([result["r"], result["dof"], result["p"]], expected[["r", "dof", "pval"]].iloc[0].to_numpy(float),
                    **TOL)
    # pingouin rounds its interval to two decimals
    assert_allclose(result["ci95"], expected["CI95"].iloc[0], atol=0.005 + 1e-12)


def test_it_gives_the_within_patient_correlation_not_the_pooled_one():
    # within each patient PHQ-9 rises with the voice score; between patients it falls
    x = np.tile(np.arange(5.0), 4)
    pid = np.repeat(["a", "b", "c", "d"], 5)
    noise = np.random.default_rng(0).normal(0, 0.3, x.size)
    pairs = pd.DataFrame({"patient_id": pid, "voice_score": x + np.repeat([0, 10, 20, 30], 5),
                          "phq9_total": x + noise + np.repeat([27, 18, 9, 0], 5)})
    assert np.corrcoef(pairs.voice_score, pairs.phq9_total)[0, 1] < 0
    result = stats.repeated_measures_correlation(pairs)
    assert result["r"] > 0.9 and result["dof"] == 20 - 4 - 1
    assert_allclose(result["ci95"], pingouin.compute_esci(result["r"], nx=result["dof"] + 2, eftype="pearson", decimals=15), **TOL)
    assert_allclose(result["slope"], 1.0, atol=0.1)


def test_it_leaves_single_pair_patients_out_of_the_within_person_statistics():
    pairs = fixed_pairs(singletons=2)
    with_singletons = stats.repeated_measures_correlation(pairs)
    sizes = pairs.groupby("patient_id")["patient_id"].transform("size")
    without = stats.repeated_measures_correlation(pairs[sizes >= 2])
    assert with_singletons["n_patients"] == pairs["patient_id"].nunique() - 2
    assert with_singletons["n_pairs"] == len(pairs) - 2
    assert_allclose(with_singletons["r"], without["r"], **TOL)
    between = stats.between_person_correlation(pairs)
    assert between["n_patients"] == pairs["patient_id"].nunique()


# ------------------------------------------------------------------ mixed model
def _statsmodels_fit(pairs, re_formula):
    data = pairs.rename(columns={"phq9_total": "phq9"}).copy()
    data["voice_between"] = data.groupby("patient_id")["voice_score"].transform("mean")
    data["voice_within"] = data["voice_score"] - data["voice_between"]
    return smf.mixedlm(
        "phq9 ~ voice_within + voice_between",
        data,
        groups=data["patient_id"],
        re_formula=re_formula,
    ).fit(reml=True)


def _assert_coefficients_match(result, reference):
    names = ["Intercept", "voice_within", "voice_between"]
    coefficients = result["coefficients"]
    assert_allclose([coefficients[n]["estimate"] for n in names], reference.fe_params[names], **TOL)
    assert_allclose([coefficients[n]["se"] for n in names], reference.bse_fe[names], **TOL)
    assert_allclose(
        [coefficients[n]["ci95"] for n in names], reference.conf_int().loc[names].to_numpy(), **TOL
    )


def test_it_matches_statsmodels_random_intercept_model():
    pairs = fixed_pairs(n_patients=8)
    result = stats.mixed_model(pairs)
    assert result["random_effects"] == "intercept"
    assert any("too few patients" in note for note in result["notes"])
    _assert_coefficients_match(result, _statsmodels_fit(pairs, None))


def test_it_keeps_a_converged_random_slope():
    pairs = fixed_pairs(n_patients=40, slope_sd=1.5, singletons=0, seed=5)
    result = stats.mixed_model(pairs)
    assert result["random_effects"] == "intercept + slope on voice_within"
    assert result["converged"] and not result["notes"]
    _assert_coefficients_match(result, _statsmodels_fit(pairs, "~voice_within"))


def test_it_notes_a_random_slope_that_did_not_converge():
    # No slope variance at all: the slope variance sits on the boundary, statsmodels warns.
    pairs = fixed_pairs(n_patients=40, slope_sd=0.0, singletons=0, seed=5)
    result = stats.mixed_model(pairs)
    assert result["random_effects"] == "intercept"
    assert any("did not converge" in note for note in result["notes"])
    _assert_coefficients_match(result, _statsmodels_fit(pairs, None))


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.ConvergenceWarning")
def test_it_notes_a_random_intercept_model_that_did_not_converge():
    # Pure noise, six patients: the patient variance sits on the boundary of zero.
    rng = np.random.default_rng(3)
    pairs = pd.DataFrame(
        {
            "patient_id": np.repeat(np.arange(6), 3),
            "voice_score": rng.normal(size=18),
            "phq9_total": rng.normal(10, 3, 18),
        }
    )
    result = stats.mixed_model(pairs)
    assert result["status"] == "ok" and not result["converged"]
    assert any(note.startswith("the model did not converge") for note in result["notes"])
    _assert_coefficients_match(result, _statsmodels_fit(pairs, None))


def test_it_computes_bland_altman_variance_components_from_the_anova():
    pairs = fixed_pairs(n_patients=15)
    result = stats.bland_altman_repeated(pairs)
    data = pairs.assign(d=pairs["predicted_phq9"] - pairs["phq9_total"])
    table = anova_lm(smf.ols("d ~ C(patient_id)", data).fit())
    ms_between, ms_within = table["mean_sq"].iloc[0], table["mean_sq"].iloc[1]
    m, n, k = data.groupby("patient_id").size().to_numpy(), len(data), data["patient_id"].nunique()
    var_between = max(0.0, (ms_between - ms_within) / ((n**2 - (m**2).sum()) / ((k - 1) * n)))
    sd = np.sqrt(var_between + ms_within)
    bias = data["d"].mean()
    assert_allclose(
        [result["bias"], result["var_within"], result["var_between"]],
        [bias, ms_within, var_between],
        **TOL,
    )
    z = sps.norm.ppf(0.975)
    assert_allclose([result["loa_low"], result["loa_high"]], [bias - z * sd, bias + z * sd], **TOL)


def test_it_reduces_bland_altman_to_the_classic_limits_without_patient_effects():
    # Balanced data, no patient effect in the differences: limits ~ mean +/- 1.96 SD.
    rng = np.random.default_rng(0)
    pairs = pd.DataFrame(
        {
            "patient_id": np.repeat(np.arange(200), 5),
            "phq9_total": rng.integers(0, 28, 1000).astype(float),
        }
    )
    pairs["predicted_phq9"] = pairs["phq9_total"] + 1.0 + rng.normal(0, 2, 1000)
    result = stats.bland_altman_repeated(pairs)
    assert_allclose(result["bias"], 1.0, atol=0.2)
    assert_allclose(result["sd_total"], 2.0, atol=0.15)


# ------------------------------------------------------------- change detection
def test_it_counts_large_changes_moving_the_same_way():
    day = pd.Timedelta(days=28)
    t = pd.Timestamp("2025-01-01", tz="UTC")
    rows = []
    # Patient a: +6 (voice up: hit), -7 (voice up: miss), +2 (too small, ignored).
    for i, (phq, voice) in enumerate([(5, 0.0), (11, 1.0), (4, 1.5), (6, 0.0)]):
        rows.append(("a", t + i * day, phq, voice))
    # Patient b: -5 (voice down: hit), +9 (voice flat: miss), -10 (voice down: hit).
    for i, (phq, voice) in enumerate([(20, 2.0), (15, 1.0), (24, 1.0), (14, 0.5)]):
        rows.append(("b", t + i * day, phq, voice))
    # Patient c, listed out of time order: 3 -> 9 with voice up (hit).
    rows += [("c", t + day, 9, 2.0), ("c", t, 3, 1.0)]
    pairs = pd.DataFrame(rows, columns=["patient_id", "answered_at", "phq9_total", "voice_score"])
    result = stats.change_detection(pairs, mid=5)
    assert (result["n_changes"], result["matched"]["successes"]) == (6, 4)
    assert (result["n_worsened"], result["n_improved"]) == (3, 3)
    assert_allclose(result["matched"]["ci95"], proportion_confint(4, 6, method="wilson"), **TOL)
    flipped = stats.change_detection(pairs, mid=5, direction=-1)
    assert flipped["matched"]["successes"] == 1  # only a's -7, where the voice rose


# --------------------------------------------------------------- subgroups etc.
@pytest.mark.parametrize(
    "birth_year, band",
    [
        (2008, "under 18"),
        (2007, "18-29"),
        (1996, "18-29"),
        (1995, "30-44"),
        (1981, "30-44"),
        (1980, "45-64"),
        (1961, "45-64"),
        (1960, "65+"),
        (1930, "65+"),
        (None, "unknown"),
        (np.nan, "unknown"),
    ],
)
def test_it_puts_ages_in_bands(birth_year, band):
    assert subgroups.age_band(birth_year, reference_date=pd.Timestamp("2025-06-01")) == band


def test_it_names_missing_patient_columns():
    with pytest.raises(ValidationInputError, match="birth_year"):
        subgroups.subgroup_breakdown(
            fixed_pairs(),
            pd.DataFrame({"patient_id": [], "sex": [], "language": []}),
            reference_date=pd.Timestamp("2025-06-01"),
        )


def test_it_breaks_results_down_by_sex_age_band_and_language():
    pairs = fixed_pairs(n_patients=30)
    ids = sorted(pairs["patient_id"].unique())
    patients = pd.DataFrame(
        {
            "patient_id": ids,
            "sex": ["female", "male"] * 15,
            "birth_year": [1950 + i for i in range(30)],
            "language": ["en"] * 28 + ["fr"] * 2,
        }
    )
    breakdown = subgroups.subgroup_breakdown(
        pairs, patients, reference_date=pd.Timestamp("2025-06-01"), n_bootstrap=50
    )
    females = next(g for g in breakdown["sex"] if g["group"] == "female")
    mask = pairs["patient_id"].isin(ids[::2])
    assert (females["n_patients"], females["n_pairs"]) == (15, int(mask.sum()))
    assert females["auc"]["status"] == "ok"
    assert_allclose(
        females["auc"]["auc"],
        roc_auc_score(pairs.loc[mask, "phq9_total"] >= 10, pairs.loc[mask, "prob_ge10"]),
        **TOL,
    )
    french = next(g for g in breakdown["language"] if g["group"] == "fr")
    assert french["rm_corr"]["status"] == "insufficient data"
    assert {g["group"] for g in breakdown["age_band"]} <= {"45-64", "65+"}


def test_it_says_insufficient_data_below_the_documented_minimum():
    pairs = fixed_pairs(n_patients=stats.MIN_PATIENTS - 1, singletons=0)
    for result in (
        stats.between_person_correlation(pairs),
        stats.repeated_measures_correlation(pairs),
        stats.mixed_model(pairs),
        accuracy.screening_accuracy(pairs, n_bootstrap=10),
        accuracy.calibration(pairs, n_bootstrap=10),
        accuracy.decision_curve(pairs),
        accuracy.three_way(pairs),
        stats.bland_altman_repeated(pairs),
    ):
        assert result["status"] == "insufficient data"
        assert result["message"].startswith("insufficient data: ")
        assert not {"r", "auc", "brier", "bias", "coefficients", "curve", "low"} & result.keys()


@pytest.mark.parametrize(
    "flags, label",
    [
        ([True, True], subgroups.OUT_OF_FOLD_LABEL),
        ([True, False], subgroups.IN_SAMPLE_LABEL),
        ([], subgroups.IN_SAMPLE_LABEL),
    ],
)
def test_it_labels_where_the_predictions_come_from(flags, label):
    pairs = pd.DataFrame({"oof": pd.Series(flags, dtype=bool)})
    assert subgroups.prediction_provenance(pairs)["label"] == label
