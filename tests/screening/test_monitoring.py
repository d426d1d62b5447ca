"""Model monitoring: PSI and calibration functions, and the daily run on a simulated cohort."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from django.test import Client

from screening.monitoring import stats

NOW = datetime(2026, 3, 2, 3, 15, tzinfo=UTC)
#: What a different phone changes in the simulated features: microphone gain and its noise floor.
PHONE_FEATURES = ("intensity_mean_db", "hnr_db", "shimmer_local")


def test_psi_is_near_zero_for_the_same_distribution_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    reference = rng.normal(0, 1, 2000)
    assert stats.psi(reference, rng.normal(0, 1, 2000)) < 0.02
    assert stats.psi(reference, rng.normal(1, 1, 2000)) > 0.5
    assert np.isnan(stats.psi(reference, []))


def test_psi_handles_constant_references_and_new_categories():
    assert stats.psi([1.0] * 50, [1.0] * 50) == pytest.approx(0.0)
    assert stats.psi([1.0] * 50, [2.0] * 50) > 1
    assert stats.categorical_psi({"pcm 16 kHz": 1.0}, {"pcm 16 kHz": 0.5, "aac 44 kHz": 0.5}) > 0.25


def test_calibration_summary_gives_mae_slope_and_within_person_correlation():
    rng = np.random.default_rng(1)
    patients = np.repeat(np.arange(20), 5)
    truth = rng.uniform(0, 20, patients.size)
    pairs = pd.DataFrame({"patient_id": patients, "phq9_total": truth,
                          "predicted_phq9": truth * 0.5 + 5 + rng.normal(0, 1, patients.size)})
    result = stats.calibration_summary(pairs)
    assert result["n_pairs"] == 100 and result["n_patients"] == 20
    assert result["slope"] == pytest.approx(1.9, abs=0.3)  # predictions too compressed: slope > 1
    assert result["rm_corr"] > 0.8
    assert result["mae"] > 2


def test_per_class_recall():
    recall = stats.per_class_recall(["sad", "sad", "neutral", "neutral"], ["sad", "neutral", "neutral", "neutral"],
                                    labels=["neutral", "sad", "angry"])
    assert recall == {"neutral": {"n": 2, "recall": 1.0}, "sad": {"n": 2, "recall": 0.5},
                      "angry": {"n": 0, "recall": None}}


@pytest.fixture(scope="module")
def cohort():
    from tests.support.simulation import simulate_cohort

    return simulate_cohort(n_patients=40, n_weeks=6, recordings_per_week=4, start=NOW - timedelta(weeks=6), seed=5)


def _store(cohort, *, new_phone: bool):
    from clinic.models import CareTeam, Recording
    from tests.support.cohort_db import cohort_to_db

    recordings = cohort.recordings.copy()
    changed = np.zeros(len(recordings), dtype=bool)
    if new_phone:  # half the patients switch phones for the last week
        switched = set(cohort.patients["patient_id"].iloc[::2])
        changed = (recordings["patient_id"].isin(switched) & (recordings["recorded_at"] >= NOW - timedelta(days=7)))
        changed = changed.to_numpy()
        for name in PHONE_FEATURES:
            recordings.loc[changed, name] += 1.5 * recordings[name].std()
    team = CareTeam.objects.create(name="North")
    ids = cohort_to_db(cohort.__class__(cohort.patients, recordings, cohort.phq9, cohort.truth), care_team=team,
                       with_embeddings=False)
    if new_phone:
        moved = [f"simulated/{rid}.wav" for rid in recordings.loc[changed, "recording_id"]]
        Recording.objects.filter(file__in=moved).update(codec="aac", sample_rate=44100)
    return team, ids


@pytest.mark.django_db
def test_a_new_phone_for_half_the_patients_raises_the_drift_alert(cohort):
    from screening.models import OperatorAlert
    from screening.monitoring.service import monitoring_run

    team, _ = _store(cohort, new_phone=True)
    snapshot = monitoring_run(team=team, now=NOW)
    alert = OperatorAlert.objects.get(care_team=team, kind="feature_drift")
    assert alert.state == "open" and alert.snapshot == snapshot
    drifted = set(alert.details["features"])
    assert drifted == set(PHONE_FEATURES)  # nothing else moved
    assert snapshot.payload["device_mix"]["current"]["aac 44 kHz"] == pytest.approx(0.5, abs=0.15)
    assert snapshot.payload["device_mix"]["psi"] > 0.25
    scrape = Client().get("/metrics").content.decode()
    assert 'cadence_operator_alerts_open{kind="feature_drift"} 1.0' in scrape
    monitoring_run(team=team, now=NOW + timedelta(hours=1))  # same week: the same episode, no second alert
    assert OperatorAlert.objects.filter(care_team=team, kind="feature_drift").count() == 1


@pytest.mark.django_db
def test_a_stable_cohort_raises_no_operator_alert(cohort):
    from screening.models import OperatorAlert
    from screening.monitoring.service import monitoring_run

    team, _ = _store(cohort, new_phone=False)
    snapshot = monitoring_run(team=team, now=NOW)
    assert not OperatorAlert.objects.exists()
    psi = snapshot.payload["feature_psi"]
    assert len(psi) >= 15 and max(psi.values()) < 0.25
    assert snapshot.payload["n"]["current"] > 100


@pytest.mark.django_db
def test_it_shows_the_monitoring_page_to_staff_only(cohort, client):
    from django.contrib.auth.models import User

    from screening.monitoring.service import monitoring_run

    team, ids = _store(cohort, new_phone=True)
    monitoring_run(team=team, now=NOW)
    clinician = User.objects.create_user("nurse", password="nurse-password-1")
    team.members.add(clinician)
    client.force_login(clinician)
    assert client.get("/monitoring/").status_code == 403
    client.force_login(User.objects.create_user("ops", password="ops-password-1", is_staff=True))
    page = client.get("/monitoring/").content.decode()
    assert "Input feature drift" in page and "intensity_mean_db" in page and "aac 44 kHz" in page
    assert not any(code in page for code in ids)  # aggregates only, no patient codes


@pytest.mark.django_db
def test_it_monitors_emotion_recall_and_prediction_drift(cohort):
    from django.contrib.auth.models import User

    from clinic.models import EmotionLabel
    from clinic.processing.models import FeatureSet
    from screening.models import OperatorAlert
    from screening.monitoring.service import monitoring_run

    team, _ = _store(cohort, new_phone=False)
    rater = User.objects.create_user("rater")
    recent = NOW - timedelta(days=7)
    for fs in FeatureSet.objects.select_related("recording"):
        late = fs.recording.recorded_at >= recent
        top = "sad" if late else "neutral"  # the model starts calling everyone sad in the last week
        fs.emotion = {"mean_posterior": {"neutral": 0.2, "sad": 0.2, top: 0.6}}
        fs.save(update_fields=["emotion"])
        if late:  # clinicians label these recordings neutral
            EmotionLabel.objects.create(recording=fs.recording, label="neutral", labelled_by=rater)
    payload = monitoring_run(team=team, now=NOW).payload["emotion"]
    assert payload["recall"]["neutral"]["recall"] == 0.0 and payload["recall"]["neutral"]["n"] > 10
    assert payload["psi"] > 1
    assert set(OperatorAlert.objects.values_list("kind", flat=True)) == {"emotion_recall", "emotion_drift"}
    client = Client()
    client.force_login(User.objects.create_user("ops", is_staff=True))
    page = client.get("/monitoring/").content.decode()
    n = payload["recall"]["neutral"]["n"]
    assert f"neutral 0% (n={n})" in page  # the latest day's per-class recall
    assert "Lowest emotion recall (classes with ≥ 10 labels): 0.00 now, 1 daily value" in page
    assert f"Emotion class-mix PSI: {payload['psi']:.2f} now" in page


@pytest.mark.django_db
def test_emotion_recall_counts_each_label_once_against_the_newest_prediction(cast):
    """A known answer: sadness 2 of 3, neutral 1 of 1, anger 0 of 1; unpredicted and other teams' labels left out."""
    from clinic.models import EmotionLabel, Recording
    from clinic.processing.models import FeatureSet
    from screening.monitoring.service import monitoring_compute

    def recording(patient, k: int, *predictions: str | None) -> Recording:
        rec = Recording.objects.create(patient=patient, file=f"recordings/e{patient.pk}-{k}.wav", sha256=f"{k:064d}",
                                       size_bytes=10, container="wav", status="done",
                                       recorded_at=NOW - timedelta(days=3, hours=k))
        for version, top in enumerate(predictions):  # oldest first
            fs = FeatureSet.objects.create(
                recording=rec, version=f"v{version}", features={}, quality={},
                emotion=None if top is None else {"mean_posterior": {"neutral": 0.2, "sadness": 0.2, top: 0.6}})
            FeatureSet.objects.filter(pk=fs.pk).update(computed_at=NOW - timedelta(days=2, hours=10 - version))
        return rec

    sad_ok, sad_miss = recording(cast.patient_a, 1, "sadness"), recording(cast.patient_a, 2, "neutral")
    reprocessed = recording(cast.patient_a, 3, "neutral", "sadness")  # the newer feature set says sadness
    neutral, unpredicted = recording(cast.patient_a, 4, "neutral"), recording(cast.patient_a, 5, None)
    other_team = recording(cast.patient_b, 6, "sadness")
    for rec, label, rater in [(sad_ok, "sadness", cast.alice), (sad_miss, "sadness", cast.alice),
                              (reprocessed, "sadness", cast.alice), (neutral, "neutral", cast.alice),
                              (neutral, "anger", cast.bob), (unpredicted, "anger", cast.alice),
                              (other_team, "neutral", cast.charlie)]:
        EmotionLabel.objects.create(recording=rec, label=label, labelled_by=rater)
    emotion = monitoring_compute(team=cast.north, now=NOW)["emotion"]
    assert emotion["n_labelled"] == 5
    assert emotion["recall"] == {"anger": {"n": 1, "recall": 0.0}, "neutral": {"n": 1, "recall": 1.0},
                                 "sadness": {"n": 3, "recall": pytest.approx(2 / 3)}}
    assert emotion["current_mix"] == {"neutral": 0.5, "sadness": 0.5}  # sad_ok, sad_miss, reprocessed, neutral


def test_the_monitoring_page_draws_no_psi_for_days_without_one(cast, client):
    from django.utils import timezone

    from screening.models import MonitoringSnapshot

    payload = {"feature_psi": {"speech_rate_syl_s": None}, "rejection": {"rate": 0.0}, "calibration": {"mae": 1.2}}
    now = timezone.now()
    snap = MonitoringSnapshot.objects.create(care_team=cast.north, computed_at=now, window_start=now, window_end=now,
                                             payload=payload)
    from web.dashboard.selectors import monitoring_teams

    (row,) = [r for r in monitoring_teams() if r["latest"] and r["latest"].pk == snap.pk]
    assert row["trends"][0].description == "No Largest feature PSI yet"  # not "0.00 now"
    assert row["trends"][1].description == "Quality-rejection rate: 0.00 now, 1 daily value"
