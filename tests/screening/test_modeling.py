"""Risk-model fitting and the validation report on the clinic's own (simulated) data."""

import json
from datetime import timedelta

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from clinic.models import CareTeam
from screening import tasks
from screening.models import RiskModel, RiskScore, ValidationReport
from screening.nightly import services
from screening.reports import services as reports
from screening.reports.html import render
from screening.risk_model import services as modeling
from tests.support.cohort_db import cohort_to_db
from tests.support.simulation import simulate_cohort


@pytest.fixture
def screened(db):
    team = CareTeam.objects.create(name="Sim")
    sim = simulate_cohort(n_patients=16, n_weeks=10, recordings_per_week=3, seed=3)
    ids = cohort_to_db(sim, care_team=team, with_embeddings=False)
    services.patients_screen(patient_ids=list(ids.values()), now=sim.recordings.recorded_at.max() + timedelta(hours=1))
    return sim


def test_it_refuses_to_fit_on_too_little_data(db):
    with pytest.raises(CommandError, match="at least"):
        call_command("fit_risk_model")


def test_it_refuses_a_fit_that_does_not_beat_the_active_model_saying_why(screened):
    # 16 simulated patients over 10 weeks: the fit does not beat the literature prior out of fold
    with pytest.raises(CommandError, match=r"out-of-fold mean absolute error \(\d+\.\d\d PHQ-9 points\) is not lower "
                                           r"than the active model prior-2026.1's"):
        call_command("fit_risk_model")
    assert not RiskModel.objects.exists()


def _activate_a_poor_model():
    from screening.risk_model.model import PRIOR_MODEL

    poor = PRIOR_MODEL.to_dict() | {"version": "mixedlm-poor", "kind": "mixedlm", "intercept": 20.0}
    return RiskModel.objects.create(version="mixedlm-poor", payload=poor, cv_metrics={}, active=True)


def test_it_fits_stores_and_activates_a_better_model_then_rescoring_says_calibrated(screened):
    poor = _activate_a_poor_model()
    call_command("fit_risk_model")
    poor.refresh_from_db()
    assert not poor.active
    row = RiskModel.objects.get(active=True)
    compared = row.cv_metrics["compared_with"]
    assert compared["active_version"] == "mixedlm-poor" and compared["new_mae"] < compared["active_mae"]
    assert row.version.startswith("mixedlm-") and row.payload["n_patients"] == 16
    assert set(row.cv_metrics) >= {"mae", "auc_phq9_ge10", "rm_corr"}
    scores = RiskScore.objects.filter(scope="recording", predicted_phq9__isnull=False)
    assert scores.exists() and not scores.filter(calibrated=False).exists()
    assert set(scores.values_list("risk_model_version", flat=True)) == {row.version}


def test_it_evaluates_a_fitted_model_only_out_of_fold(screened):
    _activate_a_poor_model()
    modeling.risk_model_fit()
    report = reports.validation_report_content(n_bootstrap=50)
    summary = report.content["summary"]
    assert summary["predictions_out_of_fold"] is True
    assert summary["predictions"] == "out-of-fold (cross-validated by patient)"
    assert summary["model"]["kind"] == "mixedlm"
    assert report.pairs["oof"].all()
    # out-of-fold predictions differ from the stored in-sample ones
    scores = modeling.recording_scores_frame()
    oof = modeling.out_of_fold_scores(scores, modeling.phq9_frame())
    assert (oof["predicted_phq9"] - scores["predicted_phq9"]).abs().max() > 1e-6


def test_it_labels_the_prior_as_never_fitted(screened):
    report = reports.validation_report_content(n_bootstrap=50)
    assert report.content["summary"]["predictions"] == modeling.PRIOR_SOURCE
    assert report.content["within_person"]["status"] == "ok"


@pytest.mark.parametrize("fmt,marker", [("json", '"within_person"'), ("html", "<svg"), ("csv", "phq9_total")])
def test_it_writes_the_report_in_each_format(screened, tmp_path, fmt, marker):
    out = tmp_path / f"report.{fmt}"
    call_command("phq9_validation_report", "--format", fmt, "--out", str(out), "--bootstrap", "50")
    text = out.read_text()
    assert marker in text
    if fmt == "json":
        assert json.loads(text)["summary"]["n_pairs"] > 10


def test_it_keeps_report_history_and_serves_the_latest(screened, api, django_user_model, settings):
    settings.CADENCE_REPORT_BOOTSTRAP = 50
    from clinic.services import clinician_token_issue

    user = django_user_model.objects.create_user("researcher", password="x-long-password", is_staff=True)
    token = clinician_token_issue(user=user)
    assert api(token).get("/api/v1/reports/phq9-validation/").status_code == 404
    assert api(token).post("/api/v1/reports/phq9-validation/").status_code == 202  # built by the (eager) task
    first = api(token).get("/api/v1/reports/phq9-validation/").json()
    tasks.weekly_validation_report()
    latest = api(token).get("/api/v1/reports/phq9-validation/").json()
    assert ValidationReport.objects.count() == 2 and latest["id"] != first["id"] and latest["trigger"] == "weekly"
    assert "within_person" in latest["report"] and latest["scope"] == "all"
    assert sum(team["summary"]["n_phq9"] for team in latest["teams"]) == latest["report"]["summary"]["n_phq9"]
    assert api().get("/api/v1/reports/phq9-validation/").status_code == 401


def test_it_serves_the_timeline_to_the_care_team_only(cast, api, django_capture_on_commit_callbacks):
    api(cast.key_a).post("/api/v1/phq9/", {"items": [1] * 9, "answered_at": "2026-11-01T10:00:00Z"}, format="json")
    timeline = api(cast.alice_token).get(f"/api/v1/patients/{cast.patient_a.pk}/timeline/").json()
    assert timeline["patient"]["code"] == "N-001"
    assert [p["total"] for p in timeline["phq9"]] == [9]
    assert set(timeline) >= {"recordings", "baselines", "scores", "weekly", "phq9", "alerts"}
    assert timeline["emotion_stage"] == "off"  # no trained emotion model is active: said, not hidden
    assert api(cast.charlie_token).get(f"/api/v1/patients/{cast.patient_a.pk}/timeline/").status_code == 404
    assert api(cast.key_b).get(f"/api/v1/patients/{cast.patient_a.pk}/timeline/").status_code == 404
    assert api(cast.key_a).get(f"/api/v1/patients/{cast.patient_a.pk}/timeline/").status_code == 200


def test_the_report_reads_alerts_at_their_trigger_time_and_the_recording_conditions(screened):
    from screening.models import Alert

    alerts = modeling.alerts_frame()
    assert len(alerts) == Alert.objects.count() > 0
    # the trigger time is the PHQ-9's or recording's, not when the batch wrote the row
    assert not Alert.objects.filter(kind__in=["self_harm", "phq9_rise", "risk_threshold"], recording__isnull=True,
                                    phq9__isnull=True).exists()
    assert alerts["at"].max() < pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=30)  # the cohort is in the past
    scores = modeling.recording_scores_frame()
    assert set(scores["codec"]) == {"pcm_s16le"} and set(scores["task"]) == {"free_speech"}
    content = json.loads(render(reports.validation_report_content(n_bootstrap=20), "json"))
    burden = content["alerts"]["burden"]
    assert burden["status"] == "ok" and burden["n_patients"] == 16 and burden["n_alerts"] == len(alerts)
    assert content["alerts"]["ppv"]["kinds"] == ["phq9_rise", "risk_threshold"]
    assert [row["group"] for row in content["subgroups"]["task"]] == ["free_speech"]
    assert content["subgroups"]["task"][0]["n_recordings"] == int(scores["voice_score"].notna().sum())


def _recordings_and_answers(totals, *, at_answer=False):
    """One patient: three scored recordings before each of three PHQ-9s two weeks apart (one pending early
    estimate as well); with ``at_answer`` the last recording of each window is made as the PHQ-9 is answered."""
    import numpy as np

    from screening.risk_model.deviation import DIRECTIONAL_FEATURES

    start = pd.Timestamp("2026-01-05", tz="UTC")
    answered = [start + pd.Timedelta(days=14 * (k + 1)) for k in range(3)]
    times = [a - pd.Timedelta(days=d) for a in answered for d in (10, 5, 0 if at_answer else 1)]
    rng = np.random.default_rng(0)
    scores = pd.DataFrame({"patient_id": 1, "recording_id": range(len(times)), "recorded_at": times,
                           "voice_score": rng.normal(0, 1, len(times)), "predicted_phq9": 9.0, "prob_ge10": 0.4,
                           **{k: rng.normal(0, 1, len(times)) for k in DIRECTIONAL_FEATURES}})
    pending = {"patient_id": 1, "recording_id": 99, "recorded_at": start + pd.Timedelta(days=1), "voice_score": np.nan,
               "predicted_phq9": np.nan, "prob_ge10": np.nan, **dict.fromkeys(DIRECTIONAL_FEATURES, np.nan)}
    scores = pd.concat([scores, pd.DataFrame([pending])], ignore_index=True)
    phq9 = pd.DataFrame({"patient_id": 1, "phq9_id": [10, 11, 12], "answered_at": answered, "total": totals,
                         "item9": 0})
    return scores, phq9


@pytest.mark.parametrize("at_answer", [False, True])
@pytest.mark.parametrize("window", [0, 1, 2])
def test_a_validated_score_is_never_levelled_by_the_phq9_it_is_compared_with(window, at_answer):
    from screening.risk_model.model import PRIOR_MODEL
    from screening.validation import pair_phq9_with_voice

    totals = [12, 6, 15]
    scores, phq9 = _recordings_and_answers(totals, at_answer=at_answer)
    _, moved = _recordings_and_answers([t + 9 if k == window else t for k, t in enumerate(totals)],
                                       at_answer=at_answer)
    before = pair_phq9_with_voice(phq9, modeling.prospective_scores(scores, phq9, PRIOR_MODEL)).pairs
    after = pair_phq9_with_voice(moved, modeling.prospective_scores(scores, moved, PRIOR_MODEL)).pairs
    assert before.loc[window, "predicted_phq9"] == pytest.approx(after.loc[window, "predicted_phq9"], abs=1e-12)
    assert before.loc[window, "prob_ge10"] == pytest.approx(after.loc[window, "prob_ge10"], abs=1e-12)
    if window < 2:  # a later window is levelled by it (the PHQ-9s answered before it)
        assert after.loc[window + 1, "predicted_phq9"] > before.loc[window + 1, "predicted_phq9"]
    # the pending early estimate is neither re-scored nor part of the level
    assert pd.isna(modeling.prospective_scores(scores, phq9, PRIOR_MODEL)["predicted_phq9"].iloc[-1])


def test_under_the_prior_the_report_does_not_compare_a_score_with_the_phq9_that_levelled_it(screened):
    # The stored scores carry the level from every PHQ-9, each pair's own included; the report must not use it.
    from clinic.models import Phq9Response

    first = reports.validation_report_content(n_bootstrap=20).pairs.set_index("phq9_id")
    response = Phq9Response.objects.get(pk=int(first.index[len(first) // 2]))
    stored_before = list(RiskScore.objects.filter(patient=response.patient, scope="recording",
                                                  predicted_phq9__isnull=False)
                         .order_by("pk").values_list("predicted_phq9", flat=True))
    Phq9Response.objects.filter(pk=response.pk).update(total=27 if response.total < 14 else 0)
    services.patients_screen(patient_ids=[response.patient_id], now=response.answered_at + timedelta(days=90))
    stored_after = list(RiskScore.objects.filter(patient=response.patient, scope="recording",
                                                 predicted_phq9__isnull=False)
                        .order_by("pk").values_list("predicted_phq9", flat=True))
    assert stored_after != stored_before  # the served curve did move with the new total
    second = reports.validation_report_content(n_bootstrap=20).pairs.set_index("phq9_id")
    assert second.loc[response.pk, "phq9_total"] != first.loc[response.pk, "phq9_total"]
    assert second.loc[response.pk, "predicted_phq9"] == pytest.approx(first.loc[response.pk, "predicted_phq9"],
                                                                      abs=1e-9)
    assert second.loc[response.pk, "prob_ge10"] == pytest.approx(first.loc[response.pk, "prob_ge10"], abs=1e-9)
