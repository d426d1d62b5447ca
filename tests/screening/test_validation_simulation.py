"""A simulated cohort with a known within-person effect, and what the report makes of it.

Model (all seeded): patient i has a mean voice score b_i ~ N(0, SD_B) and a PHQ-9
intercept a_i = MEAN_PHQ9 + GAMMA b_i + u_i with GAMMA < 0 (between-person confounding of the
opposite sign). At PHQ-9 occasion j the latent voice deviation is e_ij ~ N(0, SD_E) and
PHQ-9 = round(clip(a_i + BETA_W e_ij + eps_ij, 0, 27)); each of the K recordings in the
14 days before it scores b_i + e_ij + N(0, SD_R). The pair's voice score is the mean of
K recordings, so the within-person correlation at pair level is

    rho_w = BETA_W SD_E^2 / sqrt((SD_E^2 + SD_R^2/K) (BETA_W^2 SD_E^2 + SD_EPS^2 + 1/12))

(1/12: rounding to whole points; clipping is rare and checked by a large simulation).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from screening.reports.html import render_html
from screening.validation import build_report
from screening.validation.stats import repeated_measures_correlation

pytestmark = pytest.mark.slow  # scheduled first (tests/conftest.py)

MEAN_PHQ9, SD_B, GAMMA, SD_U = 10.5, 1.5, -1.5, 1.5
SD_E, BETA_W, SD_EPS, SD_R, K = 1.0, 2.5, 2.5, 1.0, 4
SD_PRED = 8.0
START = pd.Timestamp("2025-01-06 09:00", tz="UTC")


def true_within_correlation() -> float:
    cov = BETA_W * SD_E**2
    var_voice = SD_E**2 + SD_R**2 / K
    var_phq = BETA_W**2 * SD_E**2 + SD_EPS**2 + 1 / 12
    return cov / np.sqrt(var_voice * var_phq)


def _occasions(rng, n_patients: int, max_phq9: int) -> pd.DataFrame:
    counts = np.where(rng.random(n_patients) < 0.1, 1, rng.integers(3, max_phq9 + 1, n_patients))
    patient = np.repeat(np.arange(n_patients), counts)
    occasion = np.concatenate([np.arange(c) for c in counts])
    b = rng.normal(0, SD_B, n_patients)
    a = MEAN_PHQ9 + GAMMA * b + rng.normal(0, SD_U, n_patients)
    e = rng.normal(0, SD_E, len(patient))
    latent_phq = a[patient] + BETA_W * e + rng.normal(0, SD_EPS, len(patient))
    return pd.DataFrame(
        {
            "patient_id": patient + 1,
            "occasion": occasion,
            "latent_voice": b[patient] + e,
            "latent_phq": latent_phq,
            "total": np.clip(np.round(latent_phq), 0, 27).astype(int),
        }
    )


def simulate_cohort(
    *,
    n_patients: int = 60,
    max_phq9: int = 7,
    seed: int = 1,
    oof: bool = True,
    p_no_recordings: float = 0.04,
    p_one_recording: float = 0.04,
) -> dict[str, object]:
    """phq9, scores and patients DataFrames of a simulated clinic, plus the truth."""
    rng = np.random.default_rng(seed)
    occ = _occasions(rng, n_patients, max_phq9)
    answered = (
        START
        + pd.to_timedelta(occ["patient_id"] % 7, "D")
        + pd.to_timedelta(28 * (occ["occasion"] + 1), "D")
    )
    phq9 = pd.DataFrame(
        {
            "patient_id": occ["patient_id"],
            "phq9_id": np.arange(len(occ)) + 1,
            "answered_at": answered,
            "total": occ["total"],
            "item9": rng.integers(0, 2, len(occ)),
        }
    )
    draw = rng.random(len(occ))
    n_rec = np.where(
        draw < p_no_recordings, 0, np.where(draw < p_no_recordings + p_one_recording, 1, K)
    )
    rows = np.repeat(np.arange(len(occ)), n_rec)
    slot = np.concatenate([np.arange(n) for n in n_rec]) if len(rows) else np.array([], int)
    voice = occ["latent_voice"].to_numpy()[rows] + rng.normal(0, SD_R, len(rows))
    # Like a fitted model's output, predictions stay within the questionnaire's range.
    predicted = np.clip(
        occ["latent_phq"].to_numpy()[rows] + rng.normal(0, SD_PRED, len(rows)), 0, 27
    )
    scores = pd.DataFrame(
        {
            "patient_id": occ["patient_id"].to_numpy()[rows],
            "recording_id": np.arange(len(rows)) + 1,
            "recorded_at": (
                answered.iloc[rows].reset_index(drop=True)
                - pd.to_timedelta(1 + 3 * slot, "D")
                - pd.to_timedelta(rng.integers(0, 12, len(rows)), "h")
            ),
            "voice_score": voice,
            "predicted_phq9": predicted,
            "prob_ge10": sps.norm.cdf((predicted - 9.5) / SD_PRED),
            "oof": oof,
        }
    )
    patients = pd.DataFrame(
        {
            "patient_id": np.arange(n_patients) + 1,
            "sex": rng.choice(["female", "male"], n_patients),
            "birth_year": rng.integers(1940, 2005, n_patients),
            "language": rng.choice(["en", "es", "de"], n_patients, p=[0.6, 0.3, 0.1]),
        }
    )
    truth = {
        "rho_within": true_within_correlation(),
        "n_no_recordings": int((n_rec == 0).sum()),
        "n_one_recording": int((n_rec == 1).sum()),
        "n_phq9": len(occ),
    }
    return {"phq9": phq9, "scores": scores, "patients": patients, "truth": truth}


def simulated_report(*, n_bootstrap: int = 200, **kwargs):
    cohort = simulate_cohort(**kwargs)
    return cohort, build_report(
        phq9=cohort["phq9"],
        scores=cohort["scores"],
        patients=cohort["patients"],
        reference_date=pd.Timestamp("2026-01-01", tz="UTC"),
        n_bootstrap=n_bootstrap,
        seed=7,
        generated_at=pd.Timestamp("2026-01-01 12:00", tz="UTC").to_pydatetime(),
    )


def _pair_level_cohort(rng, n_patients: int, n_occasions: int) -> pd.DataFrame:
    """Pair-level draws straight from the model (no timestamps) for large simulations."""
    patient = np.repeat(np.arange(n_patients), n_occasions)
    b = rng.normal(0, SD_B, n_patients)
    a = MEAN_PHQ9 + GAMMA * b + rng.normal(0, SD_U, n_patients)
    e = rng.normal(0, SD_E, len(patient))
    phq = np.clip(np.round(a[patient] + BETA_W * e + rng.normal(0, SD_EPS, len(patient))), 0, 27)
    voice = b[patient] + e + rng.normal(0, SD_R / np.sqrt(K), len(patient))
    return pd.DataFrame({"patient_id": patient, "voice_score": voice, "phq9_total": phq})


def test_it_has_the_analytic_within_correlation_in_a_very_large_simulation():
    big = _pair_level_cohort(np.random.default_rng(0), 100_000, 5)
    estimate = repeated_measures_correlation(big)["r"]
    np.testing.assert_allclose(estimate, true_within_correlation(), atol=0.005)


def test_it_gives_rm_corr_intervals_with_about_95_percent_coverage():
    rng = np.random.default_rng(3)
    rho = true_within_correlation()
    covered = [
        lo <= rho <= hi
        for lo, hi in (
            repeated_measures_correlation(_pair_level_cohort(rng, 40, 5))["ci95"]
            for _ in range(300)
        )
    ]
    assert 0.92 <= np.mean(covered) <= 0.98


# Three fixed cohorts; how often such intervals cover in general is the test above.
@pytest.mark.parametrize("n_patients, seed", [(80, 1), (60, 2), (60, 3)])
def test_it_covers_the_simulated_within_person_correlation(n_patients, seed):
    cohort, report = simulated_report(n_patients=n_patients, seed=seed)
    within = report.content["within_person"]
    assert within["status"] == "ok"
    lo, hi = within["ci95"]
    assert lo <= cohort["truth"]["rho_within"] <= hi
    assert within["r"] > 0


def test_it_separates_the_confounded_between_person_effect():
    _, report = simulated_report()
    between = report.content["between_person"]["pearson"]
    # Simulated between-patient slope is negative while the within-patient one is positive.
    assert between["ci95"][1] < 0
    assert report.content["mixed_model"]["coefficients"]["voice_within"]["ci95"][0] > 0
    assert report.content["mixed_model"]["coefficients"]["voice_between"]["ci95"][1] < 0


def test_it_counts_the_unpaired_phq9_of_the_simulation():
    cohort, report = simulated_report()
    truth, summary = cohort["truth"], report.content["summary"]
    assert summary["n_phq9"] == truth["n_phq9"]
    assert summary["n_unpaired"] == truth["n_no_recordings"] + truth["n_one_recording"]
    assert summary["n_pairs"] == truth["n_phq9"] - summary["n_unpaired"]


@pytest.mark.parametrize("seed", [1, 2])
def test_it_renders_the_simulated_cohort(seed):
    _, report = simulated_report(seed=seed)
    page = render_html(report)
    assert page.count("<svg") == 6
