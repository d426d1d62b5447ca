"""Screening in the database: baselines, scores, weekly scores, alerts, bounded queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic.models import CareTeam, Phq9Response
from screening.alerts.services import alerts_open_or_update, phq9_response_screen
from screening.models import Alert, BaselineSnapshot, RiskScore
from screening.nightly import services
from tests.support.cohort_db import cohort_to_db
from tests.support.simulation import simulate_cohort


@pytest.fixture
def cohort(db):
    team = CareTeam.objects.create(name="Sim")
    sim = simulate_cohort(n_patients=4, n_weeks=8, recordings_per_week=3, seed=5)
    ids = cohort_to_db(sim, care_team=team)
    return sim, ids, team


def test_it_scores_every_valid_recording_after_the_enrolment_baseline(cohort):
    sim, ids, _ = cohort
    now = sim.recordings.recorded_at.max() + timedelta(hours=1)
    summary = services.patients_screen(patient_ids=list(ids.values()), now=now)
    valid = sim.recordings[~sim.recordings.rejected & ~sim.recordings.speaker_mismatch]
    per_patient_valid = valid.groupby("patient_id").size()
    expected = int((per_patient_valid - 5).clip(lower=0).sum())  # the first 5 valid ones form the baseline
    scored = RiskScore.objects.filter(scope="recording", predicted_phq9__isnull=False).count()
    pending = RiskScore.objects.filter(scope="recording", predicted_phq9__isnull=True)
    assert summary["new_scores"] >= scored == expected
    assert pending.count() == 5 * len(ids)  # said plainly: the baseline was still being built
    assert {p.deviations["status"] for p in pending} == {"baseline pending"}
    assert BaselineSnapshot.objects.exists()
    score = RiskScore.objects.filter(scope="recording").order_by("at").last()
    assert 0 <= score.predicted_phq9 <= 27 and 0 <= score.prob_ge10 <= 1
    assert score.predicted_phq9_low <= score.predicted_phq9 <= score.predicted_phq9_high
    assert score.calibrated is False and score.risk_model_version.startswith("prior")
    assert score.baseline is not None and len(score.baseline.payload["recording_ids"]) >= 5
    assert RiskScore.objects.filter(scope="week").exists()


def test_it_is_idempotent(cohort):
    sim, ids, _ = cohort
    now = sim.recordings.recorded_at.max() + timedelta(hours=1)
    services.patients_screen(patient_ids=list(ids.values()), now=now)
    counts = (RiskScore.objects.count(), BaselineSnapshot.objects.count(), Alert.objects.count())
    second = services.patients_screen(patient_ids=list(ids.values()), now=now)
    assert (second["new_scores"], second["rescored"], second["baselines"], second["alerts_opened"]) == (0, 0, 0, 0)
    assert (RiskScore.objects.count(), BaselineSnapshot.objects.count(), Alert.objects.count()) == counts


def test_it_keeps_rejected_and_other_speakers_out_of_baselines(cohort):
    sim, ids, _ = cohort
    services.patients_screen(patient_ids=list(ids.values()), now=timezone.now())
    excluded = set(sim.recordings[sim.recordings.rejected | sim.recordings.speaker_mismatch].recording_id)
    from clinic.models import Recording

    excluded_ids = {str(pk) for pk in Recording.objects.filter(file__in=[f"simulated/{r}.wav" for r in excluded])
                    .values_list("pk", flat=True)}
    for snapshot in BaselineSnapshot.objects.all():
        assert not excluded_ids & set(snapshot.payload["recording_ids"])


def test_it_raises_an_item9_alert_when_the_voice_looks_normal(cohort):
    sim, ids, _ = cohort
    patient_id = next(iter(ids.values()))
    now = sim.recordings.recorded_at.max()
    response = Phq9Response(patient_id=patient_id, answered_at=now, source="self_report",
                            **{f"item{n}": 0 for n in range(1, 9)}, item9=2)
    response.save()
    services.patients_screen(patient_ids=[patient_id], now=now)
    phq9_response_screen(response_id=response.pk)  # the immediate path finds the same episode
    alerts = Alert.objects.filter(patient_id=patient_id, kind="self_harm")
    assert alerts.count() == 1 and alerts[0].priority == Alert.Priority.HIGH


def test_it_flags_overdue_patients(cohort):
    sim, ids, _ = cohort
    later = sim.recordings.recorded_at.max() + timedelta(days=30)
    services.patients_screen(patient_ids=list(ids.values()), now=later)
    assert Alert.objects.filter(kind="overdue").count() == len(ids)
    services.patients_screen(patient_ids=list(ids.values()), now=later + timedelta(days=1))
    assert Alert.objects.filter(kind="overdue").count() == len(ids)  # one alert per episode


def test_it_uses_a_fixed_number_of_queries_whatever_the_number_of_patients(db):
    def queries(n_patients: int, name: str) -> int:
        team = CareTeam.objects.create(name=name)
        sim = simulate_cohort(n_patients=n_patients, n_weeks=4, recordings_per_week=3, seed=n_patients)
        sim.patients["patient_id"] = name + sim.patients["patient_id"]
        sim.recordings["patient_id"] = name + sim.recordings["patient_id"]
        sim.recordings["recording_id"] = name + sim.recordings["recording_id"]
        sim.phq9["patient_id"] = name + sim.phq9["patient_id"]
        ids = cohort_to_db(sim, care_team=team)
        with CaptureQueriesContext(connection) as ctx:
            services.patients_screen(patient_ids=list(ids.values()), now=timezone.now())
        # Bulk inserts are split into batches by row count (database parameter limits),
        # so they are counted per statement kind rather than per batch.
        kinds = [q["sql"].split("(")[0] if q["sql"].startswith("INSERT") else q["sql"] for q in ctx.captured_queries]
        return len(set(k for k in kinds if k.startswith("INSERT"))) + sum(not k.startswith("INSERT") for k in kinds)

    assert queries(2, "a") == queries(12, "b")


def test_it_resolves_an_overdue_alert_when_a_recording_arrives(cohort):
    sim, ids, _ = cohort
    patient_id = next(iter(ids.values()))
    last = sim.recordings.recorded_at.max()
    services.patients_screen(patient_ids=[patient_id], now=last + timedelta(days=20))
    alert = Alert.objects.get(patient_id=patient_id, kind="overdue")
    from clinic.models import Recording

    newest = Recording.objects.filter(patient_id=patient_id).latest("recorded_at")
    Recording.objects.filter(pk=newest.pk).update(recorded_at=last + timedelta(days=19))
    services.patients_screen(patient_ids=[patient_id], now=last + timedelta(days=20))
    alert.refresh_from_db()
    assert alert.state == "resolved" and "new recording" in alert.note


def test_it_keeps_one_open_alert_per_kind_and_updates_it(cohort):
    from clinic.models import Patient

    patient = Patient.objects.get(pk=next(iter(cohort[1].values())))
    open_alert = Alert.objects.create(patient=patient, kind=Alert.Kind.RISK_THRESHOLD, priority=2,
                                      message="P 70% first", episode_key="p_phq9_ge10:1:r5")
    # re-levelled scores moved the first crossing to another recording: a new key, the same episode
    moved = Alert(patient=patient, kind=Alert.Kind.RISK_THRESHOLD, priority=2, message="P 94% now",
                  episode_key="p_phq9_ge10:1:r4")
    item9 = Alert(patient=patient, kind=Alert.Kind.SELF_HARM, priority=1, message="item 9", episode_key="k9")
    fresh, updated = alerts_open_or_update([moved, item9])
    assert fresh == [item9] and updated == [open_alert]
    open_alert.refresh_from_db()
    assert open_alert.message == "P 94% now" and Alert.objects.filter(kind=Alert.Kind.RISK_THRESHOLD).count() == 1
    open_alert.state = Alert.State.RESOLVED
    open_alert.save()
    # a resolved episode is not re-opened; a new one is
    assert alerts_open_or_update([Alert(patient=patient, kind=Alert.Kind.RISK_THRESHOLD, priority=2,
                                           message="x", episode_key="p_phq9_ge10:1:r5")]) == ([], [])
    again = Alert(patient=patient, kind=Alert.Kind.RISK_THRESHOLD, priority=2, message="y", episode_key="p:r9")
    assert alerts_open_or_update([again]) == ([again], [])


def test_it_raises_no_probability_alerts_under_the_uncalibrated_prior(cohort):
    sim, ids, _ = cohort
    services.patients_screen(patient_ids=list(ids.values()), now=sim.recordings.recorded_at.max())
    assert RiskScore.objects.filter(calibrated=False).exists()
    assert not Alert.objects.filter(kind=Alert.Kind.RISK_THRESHOLD).exists()


def test_it_keeps_emotion_posteriors_in_the_personal_baseline(cohort):
    from clinic.processing.models import FeatureSet

    sim, ids, _ = cohort
    patient_id = next(iter(ids.values()))
    for n, fs in enumerate(FeatureSet.objects.filter(recording__patient_id=patient_id).order_by("recording__recorded_at")):
        fs.emotion = {"model_version": "ser-test", "mean_posterior": {"sad": 0.2 + 0.01 * (n % 3), "neutral": 0.8}}
        fs.save()
    services.patients_screen(patient_ids=[patient_id], now=timezone.now())
    snapshot = BaselineSnapshot.objects.filter(patient_id=patient_id).first()
    assert snapshot.payload["features"]["emotion_sad"]["median"] == pytest.approx(0.21, abs=0.011)
    score = RiskScore.objects.filter(patient_id=patient_id, scope="recording", predicted_phq9__isnull=False).first()
    assert "emotion_sad" in score.deviations["z"]


def test_it_weights_the_stored_voice_deviation_by_the_clinics_reliability(cohort):
    from screening.models import FeatureReliability
    from screening.risk_model.deviation import composite_index, reliability_weights

    sim, ids, _ = cohort
    icc = {"speech_rate_syl_s": 0.9, "pause_ratio": 0.05, "f0_range_st": 0.6}
    tasks = set(RiskScore.objects.values_list("task", flat=True)) | {"free_speech"}
    FeatureReliability.objects.bulk_create([
        FeatureReliability(task=task, feature=feature, computed_at=timezone.now(), n_pairs=40, icc=value)
        for task in tasks for feature, value in icc.items()])
    services.patients_screen(patient_ids=list(ids.values()), now=sim.recordings.recorded_at.max())
    factors = reliability_weights(icc)
    scores = RiskScore.objects.filter(scope="recording", voice_deviation__isnull=False)
    assert scores.exists()
    for score in scores:
        z = {k: float("nan") if v is None else v for k, v in score.deviations["z"].items()}
        assert score.deviations["reliability"] == factors
        assert score.voice_deviation == pytest.approx(composite_index(z, factors))
        assert score.voice_deviation != pytest.approx(composite_index(z))


def test_bulk_score_insert_stores_what_bulk_create_would_and_skips_conflicts(cohort):
    """Scores go in by COPY on PostgreSQL: every column as Django would save it, an existing
    recording score (a concurrent task's) wins, as with bulk_create(ignore_conflicts=True)."""
    from screening.nightly.bulk import insert_ignoring_conflicts

    sim, ids, _ = cohort
    services.patients_screen(patient_ids=list(ids.values()), now=sim.recordings.recorded_at.max())
    stored = list(RiskScore.objects.filter(scope="recording", predicted_phq9__isnull=False).order_by("pk")[:3])
    fields = [f.attname for f in RiskScore._meta.concrete_fields if f.attname not in ("id", "scored_at")]
    before = [{f: getattr(s, f) for f in fields} for s in stored]
    RiskScore.objects.filter(pk__in=[s.pk for s in stored[:2]]).delete()
    kept = RiskScore.objects.get(pk=stored[2].pk)
    for score in stored:
        score.pk = None
        score.predicted_phq9 = 27.0 if score is stored[2] else score.predicted_phq9
    insert_ignoring_conflicts(RiskScore, stored)
    again = [RiskScore.objects.get(scope="recording", recording_id=s.recording_id) for s in stored]
    assert [{f: getattr(s, f) for f in fields} for s in again[:2]] == before[:2]
    assert all(s.scored_at is not None for s in again)
    assert again[2].pk == kept.pk and again[2].predicted_phq9 == kept.predicted_phq9 != 27.0
    assert isinstance(again[0].deviations["z"], dict) and isinstance(again[0].drivers, list)


def test_the_nightly_run_in_chunks_leaves_what_one_run_over_everyone_leaves(cohort, settings):
    """Chunks of one patient: every patient scored, and a run over all of them at once finds nothing to change."""
    sim, ids, _ = cohort
    settings.CADENCE_SCREENING_CHUNK_PATIENTS = 1
    now = sim.recordings.recorded_at.max() + timedelta(hours=1)
    summary = services.run_screening(now=now)
    assert summary["chunks"] == summary["patients"] == len(ids) and summary["new_scores"] > 0
    assert set(RiskScore.objects.values_list("patient_id", flat=True)) == set(ids.values())
    again = services.patients_screen(patient_ids=list(ids.values()), now=now)
    assert (again["new_scores"], again["rescored"], again["baselines"], again["alerts_opened"]) == (0, 0, 0, 0)


def _stored_results() -> dict:
    fields = ("task", "risk_model_version", "calibrated", "predicted_phq9", "predicted_phq9_low", "predicted_phq9_high",
              "prob_ge10", "voice_deviation", "population_phq9", "personal_offset", "n_phq9", "n_recordings",
              "deviations", "drivers")
    return {(s.patient_id, s.scope, s.at, s.recording_id): tuple(getattr(s, f) for f in fields)
            for s in RiskScore.objects.all()}


def test_a_night_that_reuses_stored_scores_leaves_what_scoring_from_scratch_leaves(cohort):
    """The nightly run reads only what can have changed: the features of new recordings and their baselines,
    the stored deviations it needs, and otherwise re-predicts stored scores from their population PHQ-9 when
    a new PHQ-9 moves the patient's level. After new recordings, new PHQ-9s, a late upload with an earlier
    recorded_at and stored population PHQ-9s at the edge of the scale, it stores exactly what screening
    everything from scratch stores."""
    from clinic.models import Recording

    sim, ids, _ = cohort
    end = sim.recordings.recorded_at.max() + timedelta(hours=1)
    cut = end - timedelta(days=12)
    later = list(Phq9Response.objects.filter(answered_at__gte=cut).values())
    assert later, "the cohort needs PHQ-9s after the cut"
    Phq9Response.objects.filter(answered_at__gte=cut).delete()
    held = list(Recording.objects.filter(recorded_at__gte=cut, status="done").values_list("pk", flat=True))
    Recording.objects.filter(pk__in=held).update(status="processing")
    services.patients_screen(patient_ids=list(ids.values()), now=cut)

    Recording.objects.filter(pk__in=held).update(status="done")
    late = Recording.objects.get(pk=held[0])
    first = Recording.objects.filter(patient_id=late.patient_id).order_by("recorded_at").first()
    # Uploaded late with a time among the patient's first recordings: it joins the enrolment baseline, so every
    # later score of the patient is re-scored, weeks whose number of recordings is unchanged included.
    late.recorded_at = first.recorded_at + timedelta(hours=5)
    late.save(update_fields=["recorded_at"])
    Phq9Response.objects.bulk_create([Phq9Response(**{k: v for k, v in row.items() if k != "id"}) for row in later])
    edge = RiskScore.objects.filter(scope="recording", predicted_phq9__isnull=False).order_by("pk")[:2]
    RiskScore.objects.filter(pk__in=[s.pk for s in edge]).update(population_phq9=0.0)  # as if clipped to the scale
    night = services.patients_screen(patient_ids=list(ids.values()), now=end)
    assert night["new_scores"] > 0 and night["rescored"] > 0
    incremental = _stored_results()

    RiskScore.objects.all().delete()
    BaselineSnapshot.objects.all().delete()
    services.patients_screen(patient_ids=list(ids.values()), now=end)
    assert _stored_results() == incremental


def test_the_nightly_task_sends_each_chunk_to_the_screening_queue_as_its_own_task(cohort, settings, monkeypatch):
    """The beat task only dispatches: one screen_patients task per chunk (each worker takes a share), which a
    worker then runs with the night's time."""
    from screening import tasks

    sim, ids, _ = cohort
    settings.CADENCE_SCREENING_CHUNK_PATIENTS = 3
    sent = []
    monkeypatch.setattr(tasks.screen_patients, "delay", lambda patient_ids, now: sent.append((patient_ids, now)))
    summary = tasks.run_screening()
    assert summary["chunks"] == len(sent) == 2 and summary["patients"] == len(ids)
    assert sorted(i for chunk, _ in sent for i in chunk) == sorted(ids.values())
    assert not RiskScore.objects.exists()  # nothing screened by the dispatching task itself
    for chunk, now in sent:
        tasks.screen_patients(chunk, now)
    assert set(RiskScore.objects.values_list("patient_id", flat=True)) == set(ids.values())


def test_a_new_recordings_speaker_check_reads_only_the_enrolment_and_agrees_with_checking_everything(db):
    """A night reads the embeddings of the unchecked recordings and each phone's enrolment only; a new
    recording by someone else is flagged, and the similarities stored equal those of checking every
    recording again."""
    import numpy as np

    from clinic.models import Recording
    from clinic.processing.models import FeatureSet
    from tests.support.steady_patient import N_WEEKS, T0, steady_patient
    from voice_features.embedding import EMBEDDING_DIM, EMBEDDING_MODEL_NAME

    team = CareTeam.objects.create(name="Voices")
    patient = steady_patient(team, "V-1", device_change=False, shift=False, channel_similarity=0.9)
    end = T0 + timedelta(weeks=N_WEEKS)
    services.patients_screen(patient_ids=[patient.pk], now=end)
    assert not FeatureSet.objects.filter(recording__patient=patient, speaker_similarity__isnull=True).exists()
    last = Recording.objects.filter(patient=patient).order_by("recorded_at").last()
    stranger = np.random.default_rng(99).normal(size=EMBEDDING_DIM)
    recording = Recording.objects.create(
        patient=patient, file="simulated/V-1-new.wav", sha256="f" * 64, size_bytes=0, container="amr",
        codec="amrnb", device_model="Galaxy A52", sample_rate=16000, channels=1, duration_s=40.0,
        recorded_at=last.recorded_at + timedelta(days=1), status="done")
    FeatureSet.objects.create(recording=recording, version="simulated", features=last.feature_sets.get().features,
                              quality={"accepted": True, "speech_s": 30.0},
                              embedding={"model": EMBEDDING_MODEL_NAME, "dim": EMBEDDING_DIM,
                                         "vector": (stranger / np.linalg.norm(stranger)).tolist()})
    with CaptureQueriesContext(connection) as queries:
        services.patients_screen(patient_ids=[patient.pk], now=end + timedelta(days=2))
    first = next(q["sql"] for q in queries.captured_queries if '"voice_features_featureset"."embedding_vector" AS' in q["sql"])
    if connection.vendor == "postgresql":  # the keys go as one array literal: the enrolment's three and the new one
        assert first.split("ANY('{")[1].split("}")[0].count(",") + 1 == 4, first
    new = FeatureSet.objects.get(recording=recording)
    assert new.speaker_mismatch is True and new.speaker_similarity < 0.5
    incremental = dict(FeatureSet.objects.filter(recording__patient=patient)
                       .values_list("pk", "speaker_similarity"))

    FeatureSet.objects.filter(recording__patient=patient).update(speaker_similarity=None, speaker_mismatch=None)
    RiskScore.objects.all().delete()
    services.patients_screen(patient_ids=[patient.pk], now=end + timedelta(days=2))
    again = dict(FeatureSet.objects.filter(recording__patient=patient).values_list("pk", "speaker_similarity"))
    assert again == pytest.approx(incremental, abs=1e-12)
