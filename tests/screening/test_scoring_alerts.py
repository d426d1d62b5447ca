"""Alert rules: each kind, priorities and one episode key per ongoing episode."""

from datetime import UTC, datetime, timedelta

import pytest

from screening.alerts.rules import (
    HIGH,
    AlertRules,
    Phq9Point,
    RecordingPoint,
    ScorePoint,
    evaluate_alerts,
    item9_alerts,
    overdue_alert,
    phq9_rise_alerts,
    speaker_mismatch_alerts,
    threshold_crossing_alerts,
)

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)


def _scores(predicted, p=None):
    p = p or [0.1] * len(predicted)
    return [ScorePoint(f"r{i}", T0 + timedelta(days=i), v, q)
            for i, (v, q) in enumerate(zip(predicted, p))]


def test_it_needs_two_consecutive_recordings_five_points_up():
    assert phq9_rise_alerts(_scores([6, 11, 6, 11, 6]), patient_id="p",
                            baseline_phq9=6) == []
    alerts = phq9_rise_alerts(_scores([6, 11, 12, 12]), patient_id="p", baseline_phq9=6)
    assert len(alerts) == 1
    assert alerts[0].episode_key == "phq9_rise:p:r1" and alerts[0].ongoing
    assert alerts[0].triggered_at == T0 + timedelta(days=2)


def test_it_keeps_one_key_while_the_episode_goes_on():
    first = phq9_rise_alerts(_scores([6, 11, 12]), patient_id="p", baseline_phq9=6)
    # later evaluations see more of the same episode, wavering just under +5
    later = phq9_rise_alerts(_scores([6, 11, 12, 10.5, 13, 12]), patient_id="p",
                             baseline_phq9=6)
    assert [a.episode_key for a in later] == [a.episode_key for a in first]


def test_it_opens_a_new_episode_after_recovery():
    alerts = phq9_rise_alerts(_scores([6, 11, 12, 6, 7, 12, 13]), patient_id="p",
                              baseline_phq9=6)
    assert [a.episode_key for a in alerts] == ["phq9_rise:p:r1", "phq9_rise:p:r5"]
    assert [a.ongoing for a in alerts] == [False, True]


def test_it_alerts_when_probability_crosses_the_threshold_from_below():
    rules = AlertRules(p_threshold=0.6)
    alerts = threshold_crossing_alerts(_scores([0] * 6, [0.2, 0.5, 0.7, 0.58, 0.8, 0.3]),
                                       patient_id="p", rules=rules)
    # 0.58 is within the hysteresis, so 0.7 -> 0.58 -> 0.8 is one episode
    assert [a.episode_key for a in alerts] == ["p_phq9_ge10:p:r2"]
    assert not alerts[0].ongoing


def test_it_gives_the_current_probability_and_the_first_crossing():
    rules = AlertRules(p_threshold=0.6)
    [alert] = threshold_crossing_alerts(_scores([0] * 4, [0.2, 0.65, 0.9, 0.94]), patient_id="p", rules=rules)
    assert alert.message == ("Probability of PHQ-9 >= 10 is 94% on 2025-03-06; it first crossed the clinic "
                             "threshold of 60% at 65% on 2025-03-04.")
    assert alert.episode_key == "p_phq9_ge10:p:r1" and alert.ongoing


def test_it_words_a_rise_as_change_from_the_patients_own_baseline():
    [alert] = phq9_rise_alerts(_scores([8, 14, 14, 16]), patient_id="p", baseline_phq9=8.0)
    assert alert.message.startswith("Change from this patient's own baseline: voice-predicted PHQ-9 16 on "
                                    "2025-03-06, +8 points from their usual 8")
    assert alert.evidence["first_predicted_phq9"] == 14 and alert.evidence["predicted_phq9"] == 16


def test_it_raises_no_absolute_probability_alert_under_an_uncalibrated_model():
    scores = _scores([8, 14, 14], [0.2, 0.9, 0.95])
    kinds = {a.kind for a in evaluate_alerts(patient_id="p", now=T0 + timedelta(days=3), scores=scores,
                                             baseline_phq9=8.0, calibrated=False)}
    assert kinds == {"phq9_rise"}
    calibrated = evaluate_alerts(patient_id="p", now=T0 + timedelta(days=3), scores=scores, baseline_phq9=8.0)
    assert {a.kind for a in calibrated} == {"phq9_rise", "risk_threshold"}


def test_an_early_estimate_with_a_probability_takes_part_in_the_threshold_rule_only():
    """A calibrated early model gives early estimates a probability: they can cross the threshold (said as early
    estimates), whatever the personal model's calibration, and never count toward a rise from a baseline."""
    early = [ScorePoint(f"e{i}", T0 + timedelta(days=i), float("nan"), q, early=True)
             for i, q in enumerate([0.3, 0.7, 0.8])]
    now = T0 + timedelta(days=3)
    [alert] = evaluate_alerts(patient_id="p", now=now, early_scores=early, calibrated=False, baseline_phq9=2.0,
                              rules=AlertRules(p_threshold=0.6))
    assert alert.kind == "risk_threshold" and alert.episode_key == "p_phq9_ge10:p:e1"
    assert alert.message == ("Probability of PHQ-9 >= 10 is 80% on 2025-03-05 (early estimate against population "
                             "norms: no personal baseline yet); it first crossed the clinic threshold of 60% at 70% "
                             "on 2025-03-04.")
    assert alert.evidence["early"] and alert.evidence["first_early"]
    # A personal score that follows continues the same episode, said as a personal score.
    later = [*early, ScorePoint("r3", T0 + timedelta(days=3), 14.0, 0.85)]
    [alert] = evaluate_alerts(patient_id="p", now=now, scores=later[3:], early_scores=early,
                              rules=AlertRules(p_threshold=0.6))
    assert alert.episode_key == "p_phq9_ge10:p:e1" and alert.message.startswith("Probability of PHQ-9 >= 10 is 85% "
                                                                                "on 2025-03-06; it first crossed")
    assert not alert.evidence["early"] and alert.evidence["first_early"]
    # Points not marked early are not taken as early estimates; below the threshold nothing is raised.
    plain = [ScorePoint("x", T0, float("nan"), 0.9)]
    assert evaluate_alerts(patient_id="p", now=now, early_scores=plain, calibrated=False) == []
    assert evaluate_alerts(patient_id="p", now=now, early_scores=early[:1], rules=AlertRules(p_threshold=0.6)) == []


def test_it_does_not_alert_below_the_threshold():
    assert threshold_crossing_alerts(_scores([0] * 3, [0.1, 0.4, 0.49]),
                                     patient_id="p") == []


def test_it_raises_item9_high_priority_whatever_the_voice_says():
    phq9 = [Phq9Point("q1", T0, 4, 0), Phq9Point("q2", T0 + timedelta(days=14), 6, 1)]
    normal_voice = _scores([4, 4, 4], [0.05, 0.05, 0.05])
    alerts = evaluate_alerts(patient_id="p", now=T0 + timedelta(days=15),
                             scores=normal_voice, phq9s=phq9, baseline_phq9=4.0,
                             last_recording_at=T0 + timedelta(days=14))
    assert [(a.kind, a.priority, a.episode_key) for a in alerts] == [
        ("self_harm", HIGH, "phq9_item9:p:q2")]
    assert "item 9" in alerts[0].message


def test_it_keys_each_positive_item9_response_separately():
    phq9 = [Phq9Point(f"q{i}", T0 + timedelta(days=14 * i), 12, 2) for i in range(2)]
    assert len({a.episode_key for a in item9_alerts(phq9, patient_id="p")}) == 2


@pytest.mark.parametrize("days,expected", [(6.9, 0), (7.0, 1), (30, 1)])
def test_it_flags_overdue_patients(days, expected):
    alerts = overdue_alert(patient_id="p", last_recording_at=T0,
                           now=T0 + timedelta(days=days))
    assert len(alerts) == expected


def test_it_keeps_the_overdue_key_until_a_new_recording():
    a = overdue_alert(patient_id="p", last_recording_at=T0, now=T0 + timedelta(days=8))
    b = overdue_alert(patient_id="p", last_recording_at=T0, now=T0 + timedelta(days=20))
    c = overdue_alert(patient_id="p", last_recording_at=T0 + timedelta(days=21),
                      now=T0 + timedelta(days=40))
    assert a[0].episode_key == b[0].episode_key != c[0].episode_key


def test_it_counts_overdue_from_enrolment_without_recordings():
    alerts = overdue_alert(patient_id="p", last_recording_at=None, enrolled_at=T0,
                           now=T0 + timedelta(days=10))
    assert "no recording yet" in alerts[0].message


def test_it_groups_consecutive_speaker_mismatches():
    flags = [False, True, True, False, True]
    recs = [RecordingPoint(f"r{i}", T0 + timedelta(days=i), f) for i, f in enumerate(flags)]
    alerts = speaker_mismatch_alerts(recs, patient_id="p")
    assert [a.episode_key for a in alerts] == ["speaker_mismatch:p:r1",
                                               "speaker_mismatch:p:r4"]
    assert [a.ongoing for a in alerts] == [False, True]
    assert alerts[0].evidence["recording_ids"] == ["r1", "r2"]


def test_it_orders_candidates_by_priority_then_time():
    recs = [RecordingPoint("r0", T0, True)]
    alerts = evaluate_alerts(
        patient_id="p", now=T0 + timedelta(days=30), recordings=recs,
        scores=_scores([6, 12, 13], [0.2, 0.7, 0.8]), baseline_phq9=6.0,
        phq9s=[Phq9Point("q", T0, 15, 1)])
    # high first; within one priority, oldest first
    assert [a.kind for a in alerts] == ["self_harm", "speaker_mismatch", "risk_threshold",
                                        "phq9_rise", "overdue"]
