"""The clinic's own early reference: norms and early model learnt from its data, then used for new patients."""

from datetime import timedelta

import pytest
from django.core.management import call_command

from clinic.models import CareTeam, Phq9Response, Recording
from screening.models import Alert, EarlyReference, RiskScore
from screening.nightly import services
from screening.risk_model import selectors as risk_selectors
from screening.risk_model import services as risk_services
from screening.risk_model.early import EARLY_PRIOR_MODEL, early_level
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
    # The validation report knows when the model behind them was fitted (it measures them only against later PHQ-9s).
    frame = risk_services.recording_scores_frame()
    mine = frame[frame["estimate_type"] == "early"]
    assert len(mine) == early.count() and (mine["early_fitted_at"] == row.fitted_at).all()
    assert frame.loc[frame["estimate_type"] == "personal", "early_fitted_at"].isna().all()


def test_without_enough_phq9s_the_norms_are_learnt_and_the_prior_model_stays(db):
    team = CareTeam.objects.create(name="Small")
    sim = simulate_cohort(n_patients=2, n_weeks=3, recordings_per_week=3, seed=9)
    cohort_to_db(sim, care_team=team, with_embeddings=False)
    row = risk_services.early_reference_fit()
    assert row.payload["model"] is None and row.payload["n_patients"] == 2
    norms, model = risk_selectors.early_reference()
    assert model is EARLY_PRIOR_MODEL and norms.cells


def test_early_estimates_are_levelled_from_the_patients_phq9s_and_relevelled_when_one_arrives(db):
    """An early estimate carries the patient's early level (:func:`early_level`) from the PHQ-9s in the database
    when it is scored: none yet (the population estimate, interval from tau2), then every PHQ-9 so far, re-levelled
    in place when one arrives, like the personal curve; the columns the personal curve, alerts and validation read
    stay empty."""
    team = CareTeam.objects.create(name="Level")
    sim = simulate_cohort(n_patients=1, n_weeks=8, recordings_per_week=3, seed=8)
    patient_id = next(iter(cohort_to_db(sim, care_team=team, with_embeddings=False).values()))
    answers = list(Phq9Response.objects.filter(patient_id=patient_id).order_by("answered_at").values())
    Phq9Response.objects.filter(patient_id=patient_id).delete()
    end = max(Recording.objects.filter(patient_id=patient_id).values_list("recorded_at", flat=True))

    # No PHQ-9 yet (a recording is screened on upload, before the PHQ-9 of its window is answered): no level.
    services.patients_screen(patient_ids=[patient_id], now=end + timedelta(hours=1))
    early = list(RiskScore.objects.filter(patient_id=patient_id, estimate_type="early"))
    assert early
    for score in early:
        e = score.early_estimate
        assert (e["personal_offset"], e["n_phq9"]) == (0.0, 0) and e["predicted_phq9"] == e["population_phq9"]
        width = e["interval"][1] - e["interval"][0]
        assert width == pytest.approx(2 * 1.2815515655446004 * (EARLY_PRIOR_MODEL.sigma2 + EARLY_PRIOR_MODEL.tau2)
                                      ** 0.5, abs=1e-6) or e["interval"][0] == 0 or e["interval"][1] == 27
    unlevelled = {s.pk: s.early_estimate for s in early}
    personal = RiskScore.objects.filter(patient_id=patient_id, scope="recording", estimate_type="personal")
    assert all(s.early_estimate and s.early_estimate["population_phq9"] is not None for s in personal)

    # The PHQ-9s arrive: every early estimate is re-levelled from all of them, through the early model's residuals
    # over every recording's window (personal scores keep their recording's early population PHQ-9 for that).
    Phq9Response.objects.bulk_create([Phq9Response(**{k: v for k, v in a.items() if k != "id"}) for a in answers])
    summary = services.patients_screen(patient_ids=[patient_id], now=end + timedelta(hours=2))
    assert summary["early_relevelled"] == len(early)
    scores = list(RiskScore.objects.filter(patient_id=patient_id, scope="recording").exclude(early_estimate=None))
    expected = early_level([(a["answered_at"], a["total"]) for a in answers],
                           [(s.at, s.early_estimate["population_phq9"]) for s in scores], model=EARLY_PRIOR_MODEL)
    assert expected.n > 0 and abs(expected.offset) > 0.1
    for score in RiskScore.objects.filter(patient_id=patient_id, estimate_type="early"):
        e, before = score.early_estimate, unlevelled[score.pk]
        assert e["n_phq9"] == expected.n and e["personal_offset"] == pytest.approx(expected.offset, abs=1e-9)
        assert e["population_phq9"] == before["population_phq9"]
        assert e["predicted_phq9"] == pytest.approx(min(max(before["population_phq9"] + expected.offset, 0), 27))
        assert e["p_phq9_ge10"] is None and not e["calibrated"]  # no probability until calibrated
        assert score.predicted_phq9 is None and score.personal_offset is None  # not part of the personal curve
        # The interval carries the level's posterior variance instead of the between-patient variance.
        width = e["interval"][1] - e["interval"][0]
        assert width == pytest.approx(2 * 1.2815515655446004 * (EARLY_PRIOR_MODEL.sigma2 + expected.variance) ** 0.5,
                                      abs=1e-6) or e["interval"][0] == 0 or e["interval"][1] == 27
    assert not Alert.objects.filter(patient_id=patient_id, recording__risk_scores__estimate_type="early").exists()

    # Nothing moved: nothing is written again.
    again = services.patients_screen(patient_ids=[patient_id], now=end + timedelta(hours=3))
    assert (again["early_relevelled"], again["rescored"], again["new_scores"]) == (0, 0, 0)

    # An early estimate stored before early levels (no level in it) is levelled on the next run.
    legacy = RiskScore.objects.filter(patient_id=patient_id, estimate_type="early").first()
    old = {k: v for k, v in legacy.early_estimate.items() if k not in ("population_phq9", "personal_offset", "n_phq9")}
    RiskScore.objects.filter(pk=legacy.pk).update(early_estimate=old | {"predicted_phq9": unlevelled[legacy.pk]["predicted_phq9"]})
    assert services.patients_screen(patient_ids=[patient_id], now=end + timedelta(hours=4))["early_relevelled"] == 1
    assert RiskScore.objects.get(pk=legacy.pk).early_estimate["n_phq9"] == expected.n


def test_a_night_compares_each_recording_with_the_norms_once(db, monkeypatch):
    """A pending recording's early estimate is levelled from the one comparison with the norms that also gives the
    patient's early level its input, not compared again once the level is known; the stored estimate is the one
    :func:`screening.risk_model.early.early_estimate` gives with that level."""
    from screening.risk_model import early as early_module
    from screening.risk_model.early import early_estimate

    team = CareTeam.objects.create(name="Once")
    sim = simulate_cohort(n_patients=1, n_weeks=6, recordings_per_week=3, seed=11)
    patient_id = next(iter(cohort_to_db(sim, care_team=team, with_embeddings=False).values()))
    end = max(Recording.objects.filter(patient_id=patient_id).values_list("recorded_at", flat=True))
    calls = []
    real = early_module.early_z
    monkeypatch.setattr(early_module, "early_z", lambda *a, **k: calls.append(1) or real(*a, **k))
    services.patients_screen(patient_ids=[patient_id], now=end + timedelta(hours=1))
    monkeypatch.undo()
    scores = list(RiskScore.objects.filter(patient_id=patient_id, scope="recording").select_related("recording"))
    early = [s for s in scores if s.estimate_type == "early"]
    assert early and Phq9Response.objects.filter(patient_id=patient_id).exists()
    assert len(calls) == len(scores)  # one comparison per scored recording, early or personal
    answers = Phq9Response.objects.filter(patient_id=patient_id).values_list("answered_at", "total")
    level = early_level(list(answers), [(s.at, s.early_estimate["population_phq9"]) for s in scores
                                        if s.early_estimate and s.early_estimate["population_phq9"] is not None],
                        model=EARLY_PRIOR_MODEL)
    assert level.n > 0
    patient = early[0].patient
    for score in early:
        recording = score.recording
        features = recording.feature_sets.order_by("-computed_at").first().features
        expected = early_estimate(features, sex=patient.sex, task=recording.task, codec=recording.codec,
                                  age=None if patient.birth_year is None else recording.recorded_at.year - patient.birth_year,
                                  level=level)
        stored = score.early_estimate
        assert stored["n_phq9"] == expected["n_phq9"] == level.n
        for key in ("predicted_phq9", "population_phq9", "personal_offset"):
            assert stored[key] == pytest.approx(expected[key], abs=1e-9)
        assert stored["interval"] == pytest.approx(expected["interval"], abs=1e-9)


def test_a_calibrated_early_model_can_raise_a_threshold_alert_and_the_prior_cannot(clinic, settings):
    """Alerts from early estimates only where calibrated: under the literature prior an early estimate has no
    probability and raises nothing, whatever the threshold; once the clinic has fitted its early model, a new
    patient's early estimates cross the clinic's threshold like personal scores, said as early estimates."""
    _, ids, _ = clinic
    newcomer = next(iter(ids.values()))
    keep = list(Recording.objects.filter(patient_id=newcomer, status="done").order_by("recorded_at"))[:3]
    after = keep[-1].recorded_at + timedelta(hours=1)
    settings.CADENCE_RISK_PROBABILITY_THRESHOLD = 0.01  # any probability at all crosses it

    def screen_newcomer():
        Recording.objects.filter(patient_id=newcomer).exclude(pk__in=[r.pk for r in keep]).delete()
        Phq9Response.objects.filter(patient_id=newcomer).delete()
        RiskScore.objects.filter(patient_id=newcomer).delete()
        Alert.objects.filter(patient_id=newcomer).delete()
        services.patients_screen(patient_ids=[newcomer], now=after)
        early = list(RiskScore.objects.filter(patient_id=newcomer, estimate_type="early"))
        assert len(early) == len(keep)
        return early, Alert.objects.filter(patient_id=newcomer, kind="risk_threshold")

    early, alerts = screen_newcomer()  # the literature prior: no probability, no alert
    assert all(s.early_estimate["p_phq9_ge10"] is None for s in early) and not alerts.exists()

    call_command("fit_early_model")
    early, alerts = screen_newcomer()
    probabilities = sorted(s.early_estimate["p_phq9_ge10"] for s in early)
    assert all(0 < p < 1 for p in probabilities)
    [alert] = alerts
    first = min(early, key=lambda s: s.at)
    assert alert.recording_id == first.recording_id and alert.episode_key.endswith(f":{first.recording_id}")
    assert "(early estimate against population norms: no personal baseline yet)" in alert.message
    assert alert.message_i18n["msgid"].startswith("Probability of PHQ-9 >= 10 is %(p)s%% on %(current_on)s (early")

    # Above every early probability: nothing crosses.
    settings.CADENCE_RISK_PROBABILITY_THRESHOLD = min(0.99, probabilities[-1] + 0.06)
    _, alerts = screen_newcomer()
    assert not alerts.exists()
