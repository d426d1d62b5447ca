"""The clinic's own early reference: norms and early model learnt from its data, then used for new patients."""

from datetime import timedelta

import pytest
from django.core.management import call_command

from clinic.models import CareTeam, Recording
from screening.models import EarlyReference, RiskScore
from screening.nightly import services
from screening.risk_model import selectors as risk_selectors
from screening.risk_model import services as risk_services
from screening.risk_model.early import EARLY_PRIOR_MODEL
from tests.support.cohort_db import cohort_to_db
from tests.support.simulation import simulate_cohort


@pytest.fixture
def clinic(db):
    team = CareTeam.objects.create(name="Early")
    sim = simulate_cohort(n_patients=9, n_weeks=8, recordings_per_week=3, seed=8)
    return sim, cohort_to_db(sim, care_team=team, with_embeddings=False), team


def test_fit_early_model_learns_the_clinics_norms_and_new_early_estimates_use_them(clinic, capsys):
    sim, ids, _ = clinic
    call_command("fit_early_model")
    out = capsys.readouterr().out
    row = EarlyReference.objects.get(active=True)
    assert f"norms from {row.payload['n_recordings']} recordings of 9 patients" in out
    assert row.payload["model"] is not None and "calibrated" in out  # 9 patients x 4 PHQ-9s: enough to fit
    cell = row.payload["norms"]["cells"]["F|*|free_speech|lossless"]
    assert cell["speech_rate_syl_s"][2] == (sim.patients.sex == "F").sum()  # patients behind the norm
    norms, model = risk_selectors.early_reference()
    assert model.calibrated and model.version == row.payload["model"]["version"] != EARLY_PRIOR_MODEL.version

    # A new patient's first recordings: early estimates from the clinic's reference, with a probability.
    newcomer = next(iter(ids.values()))
    keep = list(Recording.objects.filter(patient_id=newcomer).order_by("recorded_at"))[:3]
    Recording.objects.filter(patient_id=newcomer).exclude(pk__in=[r.pk for r in keep]).delete()
    RiskScore.objects.filter(patient_id=newcomer).delete()
    services.patients_screen(patient_ids=[newcomer], now=keep[-1].recorded_at + timedelta(hours=1))
    early = RiskScore.objects.filter(patient_id=newcomer, estimate_type="early")
    assert early.count() == len([r for r in keep if r.status == "done"]) > 0
    for score in early:
        assert score.early_estimate["model_version"] == model.version and score.early_estimate["calibrated"]
        assert 0 <= score.early_estimate["p_phq9_ge10"] <= 1
        assert score.predicted_phq9 is None  # never part of the personal curve


def test_without_enough_phq9s_the_norms_are_learnt_and_the_prior_model_stays(db):
    team = CareTeam.objects.create(name="Small")
    sim = simulate_cohort(n_patients=2, n_weeks=3, recordings_per_week=3, seed=9)
    cohort_to_db(sim, care_team=team, with_embeddings=False)
    row = risk_services.early_reference_fit()
    assert row.payload["model"] is None and row.payload["n_patients"] == 2
    norms, model = risk_selectors.early_reference()
    assert model is EARLY_PRIOR_MODEL and norms.cells
