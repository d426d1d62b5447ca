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
