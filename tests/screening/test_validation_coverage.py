"""Coverage of the PHQ-9s by voice estimates (personal vs early) and each kind's accuracy, in the report."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from screening.validation.coverage import coverage_section

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def _clinic(n_patients: int = 12, seed: int = 3):
    """Each patient: 8 PHQ-9s two weeks apart, three recordings before each; the first window's recordings
    carry early estimates (no baseline yet), the rest personal scores; a patient's fourth window has none."""
    rng = np.random.default_rng(seed)
    phq9, scores = [], []
    for p in range(n_patients):
        level = rng.uniform(3, 15)
        for w in range(8):
            answered = T0 + timedelta(days=14 * (w + 1))
            total = int(np.clip(round(level + 3 * np.sin(w + p) + rng.normal(0, 1)), 0, 27))
            phq9.append({"patient_id": p, "phq9_id": f"{p}-{w}", "answered_at": answered, "total": total,
                         "item9": 0})
            if w == 3:
                continue
            for k in range(3):
                truth = total + rng.normal(0, 2)
                early = w == 0
                scores.append({"patient_id": p, "recording_id": len(scores),
                               "recorded_at": answered - timedelta(days=2 + 3 * k),
                               "voice_score": np.nan if early else rng.normal(), "prob_ge10": np.nan if early else 1 / (1 + np.exp(-(truth - 9.5) / 2)),
                               "predicted_phq9": np.nan if early else truth,
                               "estimate_type": "early" if early else "personal",
                               "early_phq9": truth + rng.normal(0, 2) if early else np.nan})
    return pd.DataFrame(phq9), pd.DataFrame(scores)


def test_it_counts_the_phq9s_each_kind_of_estimate_covers_and_their_accuracy():
    phq9, scores = _clinic()
    section = coverage_section(phq9, scores)
    assert section["n_phq9"] == 96 and section["n_phq9_with_recording"] == 84
    assert section["n_with_personal_score"] == 72 and section["n_with_early_estimate_only"] == 12
    assert section["share_with_any_estimate"] == 1.0
    assert abs(section["share_with_personal_score"] - 72 / 84) < 1e-12
    personal, early = section["accuracy"]["personal"], section["accuracy"]["early"]
    assert personal["status"] == early["status"] == "ok" and early["n_windows"] == 12
    assert personal["mae"] < 2.5 and 0.7 < personal["calibration_slope"] < 1.3
    # Without the estimate type (an older table) a predicted PHQ-9 means a personal score.
    plain = coverage_section(phq9, scores.drop(columns=["estimate_type", "early_phq9"]))
    assert plain["n_with_personal_score"] == 72 and plain["n_with_early_estimate_only"] == 0


def test_an_early_estimate_is_not_scored_against_a_phq9_its_model_may_have_been_fitted_on():
    """A clinic's early model is fitted on the PHQ-9s answered before it (``manage.py fit_early_model``). Its
    estimates still cover an earlier PHQ-9, but their accuracy is measured only against PHQ-9s answered after the
    fit: a temporal validation, never against the answers the model learnt from."""
    phq9, scores = _clinic(n_patients=24)
    early = scores["estimate_type"] == "early"
    first_answer = phq9.groupby("patient_id")["answered_at"].min()
    # Half the patients' early estimates come from a model fitted a day after their first PHQ-9 (fitted on it),
    # the other half from one fitted a day before it (not fitted on it); the literature prior has no fit time.
    fitted_on = scores["patient_id"] < 12
    shift = np.where(fitted_on, 1, -1)
    scores["early_fitted_at"] = pd.to_datetime([first_answer[p] + timedelta(days=int(d)) if e else None
                                                for p, d, e in zip(scores["patient_id"], shift, early, strict=True)],
                                               utc=True)
    section = coverage_section(phq9, scores)
    assert section["n_with_early_estimate_only"] == 24  # still covered
    accuracy = section["accuracy"]["early"]
    assert accuracy["n_windows_fitted_on"] == 12 and accuracy["n_windows"] == 12
    assert "12 of these are left out of the early estimates' accuracy" in section["interpretation"]
    # An estimate fitted on its PHQ-9 may move with it; the accuracy does not.
    moved = scores.copy()
    moved.loc[early & fitted_on, "early_phq9"] += 10
    assert coverage_section(phq9, moved)["accuracy"]["early"]["mae"] == accuracy["mae"]
    # Without fit times (the prior, or an older table), every early estimate is scored.
    assert coverage_section(phq9, scores.drop(columns=["early_fitted_at"]))["accuracy"]["early"]["n_windows"] == 24
