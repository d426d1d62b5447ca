"""Early estimates before the personal baseline, and the reliability-weighted personal combination (pure maths)."""

import math

import numpy as np
import pandas as pd
import pytest

from screening.risk_model.deviation import DIRECTIONAL_FEATURES
from screening.risk_model.early import (
    EARLY_PRIOR_MODEL,
    LITERATURE_NORMS,
    MIN_BRIDGE_PATIENTS,
    bridge_shift,
    early_estimate,
    early_level,
    early_population,
    early_z,
    fit_early_model,
    learn_norms,
)
from screening.risk_model.model import PRIOR_MODEL, predict_frame
from screening.risk_model.personal import LITERATURE_LOADINGS, personal_combination, personalise_model


def _clinic(n_patients: int, *, rate: float, family: str = "aac", seed: int = 0) -> pd.DataFrame:
    """Recordings of women aged 40 whose speech rate averages ``rate`` syl/s (between-patient SD 0.3)."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_patients):
        level = rng.normal(rate, 0.3)
        rows += [{"patient_id": f"{family}{p}", "sex": "female", "age": 40, "task": "free_speech", "family": family,
                  "speech_rate_syl_s": level + rng.normal(0, 0.2)} for _ in range(6)]
    return pd.DataFrame(rows)


def test_it_learns_norms_from_the_clinic_shrunk_toward_the_literature():
    literature = LITERATURE_NORMS[("F", "free_speech")]["speech_rate_syl_s"][0]
    few = learn_norms(_clinic(2, rate=5.0), features=["speech_rate_syl_s"])
    many = learn_norms(_clinic(80, rate=5.0), features=["speech_rate_syl_s"])
    cell = {"sex": "female", "age": 40, "task": "free_speech", "family": "aac"}
    mean_few = few.reference(**cell)["speech_rate_syl_s"].mean
    mean_many = many.reference(**cell)["speech_rate_syl_s"].mean
    assert literature < mean_few < mean_many  # two patients move the prior a little, eighty almost all the way
    assert abs(mean_many - 5.0) < 0.15
    assert few.from_dict(few.to_dict()) == few
    # No data for this cell: the literature prior.
    assert few.reference(sex="male", age=70, task="free_speech", family="amr")["speech_rate_syl_s"].mean == \
        LITERATURE_NORMS[("M", "free_speech")]["speech_rate_syl_s"][0]


def test_early_z_is_signed_toward_depression_and_clipped():
    norms = {"speech_rate_syl_s": learn_norms(pd.DataFrame()).reference(
        sex="female", age=40, task="free_speech", family="aac")["speech_rate_syl_s"]}
    slow = early_z({"speech_rate_syl_s": norms["speech_rate_syl_s"].mean - norms["speech_rate_syl_s"].sd}, norms)
    assert slow["speech_rate_syl_s"] == pytest.approx(1.0)  # slower than similar speakers: positive
    assert early_z({"speech_rate_syl_s": -100.0}, norms)["speech_rate_syl_s"] == 6.0
    assert math.isnan(slow["pause_ratio"])


def test_a_phone_change_is_bridged_only_where_the_clinic_knows_both_codec_families():
    clinic = pd.concat([_clinic(MIN_BRIDGE_PATIENTS, rate=4.0, family="aac"),
                        _clinic(MIN_BRIDGE_PATIENTS, rate=4.6, family="amr", seed=1)])
    norms = learn_norms(clinic, features=["speech_rate_syl_s"])
    shift = bridge_shift(norms, sex="female", age=40, task="free_speech", old_family="aac", new_family="amr")
    assert shift is not None and 0.2 < shift["speech_rate_syl_s"] < 0.8
    assert bridge_shift(norms, sex="female", age=40, task="free_speech", old_family="aac", new_family="opus") is None
    too_few = learn_norms(_clinic(2, rate=4.0), features=["speech_rate_syl_s"])
    assert bridge_shift(too_few, sex="female", age=40, task="free_speech", old_family="aac", new_family="amr") is None


def _early_pairs(n_patients: int, seed: int) -> pd.DataFrame:
    """PHQ-9 windows whose early index carries 2 points per unit between patients."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_patients):
        person = rng.normal(0, 0.8)
        for _ in range(6):
            z = person + rng.normal(0, 0.3)
            rows.append({"patient_id": f"P{p}", "phq9_total": float(np.clip(8 + 2 * z + rng.normal(0, 3), 0, 27)),
                         **dict.fromkeys(DIRECTIONAL_FEATURES, z)})
    return pd.DataFrame(rows)


def test_a_fitted_early_model_is_calibrated_on_new_patients():
    fitted = fit_early_model(_early_pairs(60, seed=1))
    assert fitted is not None and fitted.calibrated and fitted.kind == "early"
    held_out = _early_pairs(60, seed=2)
    predicted = predict_frame(fitted, held_out)["raw_prediction"]
    slope = np.polyfit(predicted, held_out["phq9_total"], 1)[0]
    assert 0.8 <= slope <= 1.2
    assert fit_early_model(_early_pairs(3, seed=1)) is None  # too few patients: the prior stays


def test_an_early_estimate_says_what_it_is_and_gives_no_probability_under_the_prior():
    estimate = early_estimate({"speech_rate_syl_s": 3.0, "pause_ratio": 0.3}, sex="female", age=40,
                              task="free_speech", codec="aac")
    assert estimate["model_version"] == EARLY_PRIOR_MODEL.version and estimate["calibrated"] is False
    assert estimate["p_phq9_ge10"] is None
    assert estimate["reference"] == {"sex": "F", "age_band": "35-49", "task": "free_speech", "codec_family": "aac"}
    assert "than typical for similar speakers" in estimate["drivers"][0]["text"]
    low, high = estimate["interval"]
    # Wider than a personal score under the prior with no PHQ-9 (sd sqrt(sigma2 + tau2)).
    assert high - low > 2 * 1.2816 * math.sqrt(PRIOR_MODEL.sigma2 + PRIOR_MODEL.tau2) and low > 0
    assert EARLY_PRIOR_MODEL.sigma2 + EARLY_PRIOR_MODEL.tau2 > PRIOR_MODEL.sigma2 + PRIOR_MODEL.tau2
    assert early_estimate({}, sex="female", age=40, task="free_speech", codec="aac") is None


def test_an_early_estimate_is_levelled_by_the_patients_early_level_with_its_uncertainty():
    """The early level shrinks the PHQ-9s' residuals against the early population PHQ-9 of their windows'
    recordings; the levelled estimate moves by it, keeps its population PHQ-9, and its interval carries the level's
    posterior variance (between sigma alone and sigma with tau): no probability under the prior all the same."""
    start = pd.Timestamp("2026-01-05", tz="UTC").to_pydatetime()
    day = pd.Timedelta(days=1).to_pytimedelta()
    populations = [(start + k * day, 8.0) for k in range(0, 40, 3)]
    phq9 = [(start + 14 * day, 15), (start + 28 * day, 14), (start + 42 * day, 16)]
    level = early_level(phq9, populations, model=EARLY_PRIOR_MODEL)
    tau2, sigma2 = EARLY_PRIOR_MODEL.tau2, EARLY_PRIOR_MODEL.sigma2
    assert level.n == 3 and level.offset == pytest.approx(3 * tau2 / (3 * tau2 + sigma2) * 7.0)
    assert early_level([], populations, model=EARLY_PRIOR_MODEL).offset == 0.0  # no PHQ-9: the population's
    features = {"speech_rate_syl_s": 3.0, "pause_ratio": 0.3}
    plain = early_estimate(features, sex="female", age=40, task="free_speech", codec="aac")
    levelled = early_estimate(features, sex="female", age=40, task="free_speech", codec="aac", level=level)
    assert (plain["personal_offset"], plain["n_phq9"], plain["population_phq9"]) == (0.0, 0, plain["predicted_phq9"])
    assert levelled["population_phq9"] == plain["population_phq9"] and levelled["n_phq9"] == 3
    assert levelled["predicted_phq9"] == pytest.approx(plain["predicted_phq9"] + level.offset)
    width = levelled["interval"][1] - levelled["interval"][0]
    assert width == pytest.approx(2 * 1.2815515655446004 * math.sqrt(sigma2 + level.variance))
    assert 2 * 1.28 * math.sqrt(sigma2) < width < plain["interval"][1] - plain["interval"][0]
    assert levelled["p_phq9_ge10"] is None
    # What a personal score keeps for the level: the same population PHQ-9, without the rest of the estimate.
    kept = early_population(features, sex="female", age=40, task="free_speech", codec="aac")
    assert kept["population_phq9"] == plain["population_phq9"] and kept["model_version"] == plain["model_version"]


def _pairs(n: int, tracking: dict[str, float], seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    phq9 = rng.uniform(2, 20, n)
    return pd.DataFrame({"phq9_total": phq9, **{k: tracking.get(k, 0.0) * (phq9 - phq9.mean())
                                                   + rng.normal(0, 0.5, n) for k in DIRECTIONAL_FEATURES}})


def test_without_pairs_the_personal_combination_is_the_population_one_at_the_models_scale():
    combination = personal_combination(None)
    assert combination.weights == combination.population_weights and combination.n_pairs == 0
    personal = personalise_model(PRIOR_MODEL, combination)
    assert sum(personal.coefficients.values()) == pytest.approx(sum(PRIOR_MODEL.coefficients.values()))
    assert sum(combination.shares.values()) == pytest.approx(1.0)


def test_a_feature_that_tracks_this_patient_gains_weight_more_with_more_pairs():
    tracking = {"pause_mean_s": 0.3}
    three = personal_combination(_pairs(3, tracking, seed=3))
    eight = personal_combination(_pairs(8, tracking, seed=3))
    base = personal_combination(None).shares["pause_mean_s"]
    assert base < three.shares["pause_mean_s"] < eight.shares["pause_mean_s"]
    assert eight.shares["pause_mean_s"] == max(eight.shares.values())


def test_a_patient_whose_voice_does_not_move_with_mood_gets_smaller_weights():
    flat = personal_combination(_pairs(8, {}, seed=4))
    population = personal_combination(None)
    assert sum(flat.weights.values()) < 0.8 * sum(population.weights.values())
    assert all(v >= 0 for v in flat.loadings.values())  # a direction is never flipped


def test_an_unreliable_feature_counts_less():
    reliable = personal_combination(None, reliability=dict.fromkeys(DIRECTIONAL_FEATURES, 0.8))
    doubtful = personal_combination(None, reliability={**dict.fromkeys(DIRECTIONAL_FEATURES, 0.8), "f0_sd_st": 0.1})
    assert doubtful.shares["f0_sd_st"] < reliable.shares["f0_sd_st"]
    assert LITERATURE_LOADINGS.from_dict(LITERATURE_LOADINGS.to_dict()) == LITERATURE_LOADINGS


def test_on_the_harder_simulation_early_estimates_fill_the_windows_a_baseline_leaves_empty():
    from screening.risk_model.early import PopulationNorms
    from tests.support.hard_simulation import simulate_hard_cohort
    from tests.support.score_signal import _window_of, score_recordings

    cohort = simulate_hard_cohort(n_patients=6, n_weeks=6, seed=4)
    frame = score_recordings(cohort, PopulationNorms())
    frame["window"] = _window_of(frame, cohort.phq9)
    types = frame.dropna(subset=["window"]).groupby("window")["type"].agg(set)
    personal = sum(1 for t in types if "personal" in t)
    assert len(types) == frame["window"].nunique()  # every window with a valid recording has an estimate
    assert personal < len(types)  # ... which the personal baseline alone would not give
    assert frame.loc[frame.type == "early", [f"e_{k}" for k in DIRECTIONAL_FEATURES]].notna().any(axis=1).all()


def test_the_oracle_estimates_the_visible_severity_with_the_variance_it_states():
    from tests.support.hard_simulation import simulate_hard_cohort
    from tests.support.score_signal import _oracle_terms

    cohort = simulate_hard_cohort(n_patients=9, n_weeks=8, seed=4)
    valid = cohort.recordings[~cohort.recordings.rejected & ~cohort.recordings.speaker_mismatch]
    terms = _oracle_terms(cohort, valid[["recording_id", "patient_id"]])
    responders = terms["oracle_info"] > 0
    assert (~responders).any() and (terms.loc[~responders, "oracle_num"] == 0).all()  # non-responders: no information
    error = (terms["oracle_rec"] - valid["recording_id"].map(cohort.truth["visible"]))[responders]
    z = error / np.sqrt(terms.loc[responders, "oracle_var"])
    assert abs(z.mean()) < 0.2 and 0.8 < z.std() < 1.2
