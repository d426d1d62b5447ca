"""Simulated clinics for the validation report's tests: recordings with their conditions (both tasks and codecs, a
dozen phones), and a whole report with every section filled (two care teams, early estimates, risk alerts) for the
Spanish page's tests and the dashboard's browser test."""

import numpy as np
import pandas as pd

from screening.validation import build_report
from tests.screening.test_validation_simulation import simulate_cohort


def simulated_clinic(seed: int = 5, n_patients: int = 30) -> tuple[dict, np.random.Generator]:
    """The simulated cohort with each recording's task, codec, bit rate and phone, and each patient's enrolment
    date; and the random generator those were drawn from, to draw more from the same sequence."""
    sim = simulate_cohort(n_patients=n_patients, seed=seed)
    scores = sim["scores"].copy()
    rng = np.random.default_rng(0)
    n = len(scores)
    scores["task"] = np.where(np.arange(n) % 2 == 0, "free_speech", "read_passage")
    scores["codec"] = rng.choice(["opus", "aac"], n)
    scores["bit_rate"] = np.where(scores["codec"] == "opus", 24_000, 64_000)
    scores["device_model"] = rng.choice([f"phone-{i}" for i in range(12)] + [""], n)
    patients = sim["patients"].assign(enrolled_on=pd.Timestamp("2024-01-01").date())
    return {**sim, "scores": scores, "patients": patients}, rng


def simulated_report(seed: int = 5, n_patients: int = 30):
    sim, rng = simulated_clinic(seed, n_patients)
    scores = sim["scores"]
    n = len(scores)
    kind = rng.choice(["personal", "early"], n, p=[0.85, 0.15])
    scores["estimate_type"] = kind
    scores["early_phq9"] = np.where(kind == "early", scores["predicted_phq9"] + rng.normal(0, 2, n), np.nan)
    scores.loc[kind == "early", "predicted_phq9"] = np.nan
    patients = sim["patients"].assign(care_team=rng.choice(["North", "South"], len(sim["patients"])))
    first = sim["phq9"].sort_values("answered_at").groupby("patient_id").head(2)
    alerts = pd.DataFrame({"patient_id": first["patient_id"], "kind": "risk_threshold",
                           "at": first["answered_at"] - pd.Timedelta(days=3)})
    when = scores["recorded_at"].max().ceil("D") + pd.Timedelta(days=1)
    return build_report(phq9=sim["phq9"], scores=scores, patients=patients, alerts=alerts, n_bootstrap=20,
                        generated_at=when.to_pydatetime(), model={"version": "prior-2026.1", "kind": "prior",
                                                                  "calibrated": False})
