"""Baselines per recording task and per phone: a new phone never reads as deterioration; late uploads re-score."""

from datetime import timedelta

import numpy as np
import pytest

from clinic.models import CareTeam, Recording
from clinic.processing.models import FeatureSet
from screening.baselines.baseline import BaselineRecording, build_baseline, select_baseline_recordings
from screening.baselines.segments import DeviceInfo, codec_family, device_segments
from screening.models import Alert, BaselineSnapshot, RiskScore
from screening.nightly import services
from tests.support.steady_patient import CHANGE_WEEK, N_WEEKS, T0, steady_patient

# ---------------------------------------------------------------- pure


def test_codec_families_group_modes_and_variants():
    assert codec_family("amrnb") == codec_family("amrwb") == "amr"
    assert codec_family("aac_latm") == codec_family("aac") == "aac"
    assert codec_family("pcm_s16le") == codec_family("flac") == "lossless"
    assert codec_family("opus") == "opus" and codec_family("") == ""


def test_a_new_phone_or_codec_family_starts_a_segment_and_blanks_carry_the_last_known():
    infos = [DeviceInfo("a", T0, "Pixel 6", "amrnb"),
             DeviceInfo("b", T0 + timedelta(days=1), "", "amrwb"),          # unknown model, same family
             DeviceInfo("c", T0 + timedelta(days=2), "Pixel 6", ""),        # unknown codec
             DeviceInfo("d", T0 + timedelta(days=3), "Pixel 6", "opus"),    # AMR -> Opus
             DeviceInfo("e", T0 + timedelta(days=4), "iPhone 13", "opus")]  # new phone
    segments = device_segments(reversed(infos))  # any order in, time order used
    assert [segments[k][0] for k in "abcde"] == [0, 0, 0, 1, 2]
    assert segments["a"][1] == segments["c"][1] != segments["d"][1]


def _rec(i, day, task="free_speech", segment="", rate=4.0):
    return BaselineRecording(recording_id=f"r{i}", recorded_at=T0 + timedelta(days=day),
                             features={"speech_rate_syl_s": rate}, task=task, segment=segment)


def test_a_baseline_is_built_from_the_same_task_and_segment_only():
    recs = [_rec(i, i, task="free_speech", rate=4.0) for i in range(6)]
    recs += [_rec(10 + i, i, task="read_passage", rate=5.0) for i in range(4)]
    at = T0 + timedelta(days=7)
    assert select_baseline_recordings(recs, at=at, task="read_passage") == ([], "none")  # 4 < 5
    baseline = build_baseline(recs, at=at, task="free_speech")
    assert baseline.task == "free_speech" and baseline.features["speech_rate_syl_s"].median == 4.0
    assert all(r.startswith("r") and int(r[1:]) < 10 for r in baseline.recording_ids)
    assert build_baseline(recs, at=at, task="free_speech", segment="new") is None
    assert type(baseline).from_json(baseline.to_json()).task == "free_speech"


# ---------------------------------------------------------------- in the database

def _screen(patient):
    end = T0 + timedelta(weeks=N_WEEKS)
    services.patients_screen(patient_ids=[patient.pk], now=end)
    scores = RiskScore.objects.filter(patient=patient, scope="recording").select_related("recording")
    return end, list(scores.order_by("at"))


def _rise(scores) -> float:
    change = T0 + timedelta(weeks=CHANGE_WEEK)
    before = [s.predicted_phq9 for s in scores if s.predicted_phq9 is not None and s.at < change]
    after = [s.predicted_phq9 for s in scores if s.predicted_phq9 is not None and s.at >= change]
    return float(np.mean(after) - np.mean(before))


@pytest.fixture
def team(db):
    return CareTeam.objects.create(name="Segments")


def test_a_new_phone_that_shifts_the_features_never_reads_as_deterioration(team):
    # Control: the same shift on the same phone is a real change of voice and must read as one.
    control = steady_patient(team, "SEG-CONTROL", device_change=False, shift=True)
    _, control_scores = _screen(control)
    assert _rise(control_scores) > 2.0
    assert Alert.objects.filter(patient=control, kind=Alert.Kind.PHQ9_RISE).exists()

    patient = steady_patient(team, "SEG-PHONE", device_change=True, shift=True)
    _, scores = _screen(patient)
    assert abs(_rise(scores)) < 1.0
    assert not Alert.objects.filter(patient=patient, kind__in=[Alert.Kind.PHQ9_RISE, Alert.Kind.RISK_THRESHOLD])
    change = T0 + timedelta(weeks=CHANGE_WEEK)
    pending_after = [s for s in scores if s.predicted_phq9 is None and s.at >= change]
    assert len(pending_after) == 5  # the new phone's own enrolment baseline
    assert {s.deviations["reason"] for s in pending_after} == {"new phone"}
    assert {s.deviations["reason"] for s in scores if s.predicted_phq9 is None and s.at < change} == {
        "first recordings"}
    for score in scores:
        if score.baseline_id and score.at >= change:
            used = Recording.objects.filter(pk__in=score.baseline.payload["recording_ids"])
            assert set(used.values_list("device_model", flat=True)) == {"iPhone 13"}
    assert {s.task for s in scores} == {"free_speech"}
    assert set(BaselineSnapshot.objects.filter(patient=patient).values_list("task", flat=True)) == {"free_speech"}


def test_each_task_keeps_its_own_baseline(team):
    patient = steady_patient(team, "SEG-TASKS", device_change=False, shift=False)
    vowels = Recording.objects.filter(patient=patient).order_by("recorded_at")[::2]
    Recording.objects.filter(pk__in=[r.pk for r in vowels]).update(task="sustained_vowel")
    _, scores = _screen(patient)
    tasks = {r.pk: r.task for r in Recording.objects.filter(patient=patient)}
    for score in scores:
        assert score.task == tasks[score.recording_id]
        if score.baseline_id:
            assert score.baseline.task == score.task
            assert {tasks[int(r)] for r in score.baseline.payload["recording_ids"]} == {score.task}
    # 5 pending per task: each task builds its own enrolment baseline
    pending = [s for s in scores if s.predicted_phq9 is None]
    assert sorted(s.task for s in pending) == ["free_speech"] * 5 + ["sustained_vowel"] * 5


def test_a_late_upload_with_an_earlier_recorded_at_rescores_what_it_affects(team):
    patient = steady_patient(team, "SEG-LATE", device_change=False, shift=False)
    first = list(Recording.objects.filter(patient=patient).order_by("recorded_at")[:6])
    # Hold the 2nd recording back as if its upload had been delayed.
    late = first[1]
    late_features = late.feature_sets.get().features
    late_at = late.recorded_at
    late.delete()
    _, before = _screen(patient)
    sixth = next(s for s in before if s.recording_id == first[5].pk)
    assert sixth.predicted_phq9 is None  # only 4 earlier recordings: pending
    seventh_before = next(s for s in before if s.predicted_phq9 is not None)
    old_ids = seventh_before.baseline.payload["recording_ids"]

    recording = Recording.objects.create(
        patient=patient, file="simulated/late.wav", sha256="1" * 64, size_bytes=0, container="amr",
        codec="amrnb", device_model="Galaxy A52", sample_rate=16000, channels=1, duration_s=40.0,
        recorded_at=late_at, status="done")
    FeatureSet.objects.create(recording=recording, version="simulated", features=late_features,
                              quality={"accepted": True, "speech_s": 30.0})
    summary = services.patients_screen(patient_ids=[patient.pk], now=T0 + timedelta(weeks=N_WEEKS))
    assert summary["rescored"] >= 2
    sixth = RiskScore.objects.get(recording_id=first[5].pk)
    assert sixth.predicted_phq9 is not None  # the late one completes its baseline
    assert str(recording.pk) in sixth.baseline.payload["recording_ids"]
    seventh = RiskScore.objects.get(recording_id=seventh_before.recording_id)
    assert seventh.baseline.payload["recording_ids"] != old_ids
    again = services.patients_screen(patient_ids=[patient.pk], now=T0 + timedelta(weeks=N_WEEKS))
    assert (again["new_scores"], again["rescored"], again["baselines"]) == (0, 0, 0)


@pytest.mark.parametrize(("seed", "span_days"), [(3, 400), (4, 400), (5, 40), (6, 12), (7, 900)])
def test_planning_from_grouped_candidates_chooses_what_planning_from_all_records_chooses(seed, span_days):
    """The planner counts distinct days from running counts; the rule it implements is written plainly below
    (every branch: rolling window, latest run before the guard, enrolment; few days, many uploads a day)."""
    from screening.baselines.baseline import select_baseline_recordings
    from screening.baselines.planning import baseline_candidates, baseline_plan

    rng = np.random.default_rng(seed)
    records = [BaselineRecording(recording_id=f"r{k}", recorded_at=T0 + timedelta(days=float(rng.integers(0, span_days)),
                                                                                 hours=float(rng.integers(0, 3))),
                                 features={}, rejected=bool(rng.random() < 0.1),
                                 speaker_mismatch=bool(rng.random() < 0.1), task=str(rng.choice(["free_speech", "reading"])),
                                 segment=str(rng.choice(["", "1"]))) for k in range(120)]
    candidates = baseline_candidates(records)
    plans = [(select_baseline_recordings(records, at=rec.recorded_at, task=rec.task, segment=rec.segment),
              baseline_plan(rec, 0, candidates)) for rec in records]
    expected = [_plain_choice(records, rec) for rec in records]
    assert all(a == (b.chosen, b.kind) == e for (a, b), e in zip(plans, expected, strict=True))
    assert sum(bool(b.recording_ids) for _, b in plans) > 30  # most have a baseline: the comparison covers choices


def _plain_choice(records, rec, n_initial=5, min_days=3, guard_days=90, window_days=365, max_n=40):
    """The baseline rule written as plainly as possible (docs/screening.md), to check the planner against."""
    def enough(rs):
        return len(rs) >= n_initial and len({r.recorded_at.date() for r in rs}) >= min_days

    def shortest(rs):
        return next((rs[:n] for n in range(n_initial, len(rs) + 1) if enough(rs[:n])), [])

    at = rec.recorded_at
    candidates = sorted((r for r in records if r.valid and r.recorded_at < at and r.task == rec.task
                         and r.segment == rec.segment), key=lambda r: (r.recorded_at, r.recording_id))
    if not enough(candidates):
        return [], "none"
    before_guard = [r for r in candidates if r.recorded_at < at - timedelta(days=guard_days)]
    window = [r for r in before_guard if r.recorded_at >= at - timedelta(days=window_days)][-max_n:]
    if enough(window):
        return window, "rolling"
    latest = shortest(before_guard[::-1])
    return (latest[::-1], "rolling") if latest else (shortest(candidates), "initial")


def test_each_language_keeps_its_own_baseline(team):
    """A patient who records in two languages keeps a baseline per language, as per task."""
    patient = steady_patient(team, "SEG-LANGS", device_change=False, shift=False)
    spanish = Recording.objects.filter(patient=patient).order_by("recorded_at")[1::2]
    Recording.objects.filter(pk__in=[r.pk for r in spanish]).update(language="es")
    _, scores = _screen(patient)
    languages = dict(Recording.objects.filter(patient=patient).values_list("pk", "language"))
    assert set(languages.values()) == {"en", "es"}
    for score in scores:
        if score.baseline_id:
            assert {languages[int(r)] for r in score.baseline.payload["recording_ids"]} == {
                languages[score.recording_id]}
    # 5 pending per language: each language builds its own enrolment baseline
    pending = [s for s in scores if s.predicted_phq9 is None]
    assert sorted(languages[s.recording_id] for s in pending) == ["en"] * 5 + ["es"] * 5


def test_selecting_a_baseline_by_hand_takes_one_language():
    records = [BaselineRecording(recording_id=f"r{k}", recorded_at=T0 + timedelta(days=k), features={},
                                 language="es" if k % 2 else "en") for k in range(20)]
    chosen, _ = select_baseline_recordings(records, at=T0 + timedelta(days=30), language="es")
    assert chosen and {r.language for r in chosen} == {"es"}
