"""The predicted PHQ-9 a clinician reads carries the voice's within-patient signal.

On simulated cohorts (published effect sizes, several seeds) the served predicted PHQ-9
(population prediction + the patient's one personal level, as screening.nightly.services
stores it) must track PHQ-9 within patients at least 90 % as well as the deviation
index it is computed from: rm-corr(predicted, PHQ-9) >= 0.9 x rm-corr(index, PHQ-9),
for the uncalibrated prior and for a model fitted on other patients. Run with ``-s``
to see the figures.
"""

import numpy as np
import pandas as pd
import pytest

from screening.risk_model.calibration import Calibrations, phq9_residuals
from screening.risk_model.deviation import DIRECTIONAL_FEATURES
from screening.risk_model.fitting import fit_population_model, repeated_measures_corr
from screening.risk_model.model import PRIOR_MODEL, RiskModel, predict_frame
from screening.validation.pairing import pair_phq9_with_voice
from tests.support.scoring import deviation_frame
from tests.support.simulation import simulate_cohort

SEEDS = (21, 22, 23)
FEATURES = tuple(DIRECTIONAL_FEATURES)


def _answers(phq9: pd.DataFrame) -> pd.DataFrame:
    return phq9.rename(columns={"response_id": "phq9_id", "phq9_total": "total"})


def _served(model: RiskModel, recordings: pd.DataFrame, phq9: pd.DataFrame) -> pd.Series:
    """Each recording's predicted PHQ-9 as screening.nightly.services serves it after the last PHQ-9."""
    population = predict_frame(model, recordings)["predicted_phq9"]
    served = pd.Series(np.nan, index=recordings.index)
    for patient_id, mine in recordings.groupby("patient_id"):
        answers = phq9[phq9.patient_id == patient_id].sort_values("answered_at")
        residuals = phq9_residuals(list(zip(answers.answered_at, answers.phq9_total, strict=True)),
                                   list(zip(mine.recorded_at, population[mine.index], strict=True)))
        level = Calibrations(residuals, model).latest
        served[mine.index] = predict_frame(model, mine, offsets=np.full(len(mine), level.offset),
                                           offset_variances=np.full(len(mine), level.variance))["predicted_phq9"]
    return served


@pytest.fixture(scope="module", params=SEEDS)
def figures(request):
    seed = request.param
    cohort = simulate_cohort(n_patients=32, n_weeks=12, recordings_per_week=3, seed=seed)
    deviations = deviation_frame(cohort.recordings).rename(columns={"composite": "voice_score"})
    ids = cohort.patients["patient_id"].to_numpy().copy()
    np.random.default_rng(seed).shuffle(ids)
    train, held_out = set(ids[:16]), set(ids[16:])
    z_pairs = pair_phq9_with_voice(_answers(cohort.phq9), deviations, columns=FEATURES).pairs
    fitted = fit_population_model(z_pairs[z_pairs.patient_id.isin(train)]).model
    recordings = deviations[deviations.patient_id.isin(held_out)].copy()
    phq9 = cohort.phq9[cohort.phq9.patient_id.isin(held_out)]
    out = {"seed": seed}
    for name, model in (("prior", PRIOR_MODEL), ("fitted", fitted)):
        recordings[f"predicted_{name}"] = _served(model, recordings, phq9)
    pairs = pair_phq9_with_voice(_answers(phq9), recordings,
                                 columns=("voice_score", "predicted_prior", "predicted_fitted")).pairs
    for column in ("voice_score", "predicted_prior", "predicted_fitted"):
        out[column] = repeated_measures_corr(pairs, x=column, y="phq9_total")
    print(f"\nrm-corr with PHQ-9 on held-out patients: { {k: round(v, 3) for k, v in out.items()} }")
    return out


@pytest.mark.parametrize("model", ["prior", "fitted"])
def test_it_keeps_the_within_patient_signal_of_the_deviation_index(figures, model):
    assert figures["voice_score"] > 0.3  # the simulated voice does carry signal
    assert figures[f"predicted_{model}"] >= 0.9 * figures["voice_score"]
