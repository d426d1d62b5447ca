"""Test–retest reliability: ICC(3,1) and MDC95 with known answers, pair selection, the command, the dashboard."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.core.management import call_command

from screening.reliability.icc import (
    MIN_PAIRS,
    RetestRecording,
    exceeds_mdc,
    feature_reliability,
    retest_pairs,
)

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _pairs(n: int, *, true_sd: float, noise_sd: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    pairs = []
    for patient in range(n):
        true = 4.0 + rng.normal(0, true_sd)
        a, b = (RetestRecording(patient, "read_passage", T0 + timedelta(days=d),
                                {"speech_rate_syl_s": true + rng.normal(0, noise_sd)}) for d in (0, 3))
        pairs.append((a, b))
    return pairs


def test_it_recovers_a_known_icc_and_mdc():
    # ICC = var(true) / (var(true) + var(noise)) = 1 / 1.25 = 0.8; MDC95 = 1.96 * sqrt(2) * noise SD.
    (result,) = feature_reliability(_pairs(400, true_sd=1.0, noise_sd=0.5), task="read_passage",
                                    features=["speech_rate_syl_s"])
    assert result.icc == pytest.approx(0.8, abs=0.05)
    assert result.icc_ci_low < result.icc < result.icc_ci_high
    assert result.mdc95 == pytest.approx(1.96 * np.sqrt(2) * 0.5, rel=0.15)
    assert result.n_pairs == 400


def test_it_says_insufficient_data_instead_of_a_figure():
    (result,) = feature_reliability(_pairs(MIN_PAIRS - 1, true_sd=1.0, noise_sd=0.5), task="read_passage",
                                    features=["speech_rate_syl_s"])
    assert result.icc is None and result.mdc95 is None
    assert result.reason.startswith("insufficient data") and str(MIN_PAIRS) in result.reason


def test_it_pairs_recordings_days_apart_and_skips_periods_where_phq9_moved():
    def rec(patient, day):
        return RetestRecording(patient, "free_speech", T0 + timedelta(days=day), {})

    recordings = [rec(1, 0), rec(1, 0.1), rec(1, 5), rec(2, 0), rec(2, 4), rec(3, 0), rec(3, 30)]
    phq9 = {2: [(T0 - timedelta(days=1), 4), (T0 + timedelta(days=2), 15)]}  # patient 2 worsened in between
    pairs = retest_pairs(recordings, phq9)
    assert [(a.patient_id, a.recorded_at, b.recorded_at) for a, b in pairs] == [
        (1, T0 + timedelta(days=0.1), T0 + timedelta(days=5))]


@pytest.mark.parametrize(("change", "mdc", "expected"), [(0.5, 0.3, True), (-0.2, 0.3, False), (None, 0.3, None),
                                                         (0.5, None, None)])
def test_it_judges_a_change_against_the_mdc(change, mdc, expected):
    assert exceeds_mdc(change, mdc) is expected


def test_it_stores_reliability_from_the_clinics_recordings_and_shows_it(cast, client):
    from clinic.models import Recording
    from clinic.processing.models import FeatureSet
    from screening.models import BaselineSnapshot, FeatureReliability

    rng = np.random.default_rng(3)
    from clinic.services import patient_create

    patients = [cast.patient_a] + [patient_create(care_team=cast.north, code=f"N-R{i:02d}", sex="female",
                                                  birth_year=1980)[0] for i in range(MIN_PAIRS)]
    for i, patient in enumerate(patients):
        true = 4.0 + rng.normal(0, 0.5)
        for day in (0, 3):
            recording = Recording.objects.create(patient=patient, sha256=f"{i}-{day}", size_bytes=1, container="wav",
                                                 recorded_at=T0 + timedelta(days=day), status="done",
                                                 task="read_passage", task_detail="rainbow")
            FeatureSet.objects.create(recording=recording, version="v", quality={},
                                      features={"speech_rate_syl_s": true + rng.normal(0, 0.1)})
    call_command("feature_reliability")
    row = FeatureReliability.objects.get(task="read_passage", feature="speech_rate_syl_s")
    assert row.n_pairs == MIN_PAIRS + 1 and row.icc > 0.5 and row.mdc95 > 0

    BaselineSnapshot.objects.create(patient=cast.patient_a, built_at=T0 - timedelta(days=1), n_recordings=5,
                                    payload={"features": {"speech_rate_syl_s": {"median": 1.0, "scale": 0.2, "n": 5}}})
    client.force_login(cast.alice)
    page = client.get(f"/patients/{cast.patient_a.pk}/").content.decode()
    assert "beyond the minimal detectable change" in page
    # the API serves the same verdict (screening.selectors.feature_changes)
    timeline = client.get(f"/api/v1/patients/{cast.patient_a.pk}/timeline/",
                          HTTP_AUTHORIZATION=f"Bearer {cast.alice_token}").json()
    rate = next(c for c in timeline["feature_changes"] if c["feature"] == "speech_rate_syl_s")
    assert rate["beyond_mdc"] is True and rate["mdc95"] == row.mdc95 and rate["note"] in page
