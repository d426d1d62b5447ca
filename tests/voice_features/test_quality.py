"""The quality report: SNR, clipping, level, and readable rejections at the documented thresholds."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from voice_features import quality
from voice_features.quality import (
    MAX_CLIPPING_FRACTION,
    MIN_LEVEL_DBFS,
    MIN_SNR_DB,
    MIN_SPEECH_S,
    clipping_fraction,
    estimate_snr_db,
    quality_report,
    speech_level_dbfs,
)

GOOD = dict(duration_s=30.0, speech_s=20.0, snr_db=25.0, clipping=0.0, voiced_fraction=0.6, level_dbfs=-22.0)


def test_it_accepts_a_good_recording():
    report = quality_report(**GOOD)
    assert report["accepted"] is True and report["rejection_reason"] is None and report["rejection_code"] is None


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"speech_s": 0.0}, "No speech was detected in the recording."),
        ({"speech_s": 1.23}, f"The recording has only 1.2 s of speech; at least {MIN_SPEECH_S:.0f} s are needed."),
        ({"snr_db": 2.0}, f"The recording is too noisy (estimated SNR 2 dB; at least {MIN_SNR_DB:.0f} dB is needed)."),
        ({"clipping": 0.12}, "The recording is heavily clipped (12% of samples)"),
        ({"level_dbfs": -62.0}, "The recording is too quiet (speech level -62 dBFS"),
    ],
)
def test_it_explains_each_rejection(change, reason):
    report = quality_report(**{**GOOD, **change})
    code = {"speech_s": "no_speech" if change.get("speech_s") == 0 else "too_little_speech", "snr_db": "too_noisy",
            "clipping": "clipped", "level_dbfs": "too_quiet"}[next(iter(change))]
    assert report["rejection_code"] == code  # what an app translates (web/recorder/tasks.py: recorder_reasons)
    assert report["accepted"] is False
    assert report["rejection_reason"].startswith(reason)


@pytest.mark.parametrize(
    "field, ok, bad",
    [
        ("speech_s", MIN_SPEECH_S, MIN_SPEECH_S - 0.01),
        ("snr_db", MIN_SNR_DB, MIN_SNR_DB - 0.01),
        ("clipping", MAX_CLIPPING_FRACTION, MAX_CLIPPING_FRACTION + 1e-4),
        ("level_dbfs", MIN_LEVEL_DBFS, MIN_LEVEL_DBFS - 0.01),
    ],
)
def test_it_rejects_exactly_at_the_thresholds(field, ok, bad):
    assert quality_report(**{**GOOD, field: ok})["accepted"] is True
    assert quality_report(**{**GOOD, field: bad})["accepted"] is False


def test_it_does_not_reject_for_an_undefined_snr():
    assert quality_report(**{**GOOD, "snr_db": float("nan")})["accepted"] is True


def test_it_counts_clipped_samples_on_both_sides():
    x = np.zeros(1000, dtype=np.float32)
    x[:30], x[30:50] = 1.0, -1.0
    assert_allclose(clipping_fraction(x), 0.05)
    assert np.isnan(clipping_fraction(np.zeros(0)))


def test_it_measures_rms_level_over_speech():
    sr = 100
    x = np.zeros(1000, dtype=np.float32)
    x[200:400] = 0.1
    assert_allclose(speech_level_dbfs(x, sr=sr, segments=np.array([[2.0, 4.0]])), -20.0, atol=1e-4)
    assert_allclose(speech_level_dbfs(x, sr=sr, segments=np.empty((0, 2))), -20.0 + 10 * np.log10(0.2), atol=1e-4)
    assert np.isnan(speech_level_dbfs(np.zeros(100, dtype=np.float32), sr=sr, segments=np.empty((0, 2))))


@pytest.mark.parametrize("snr_db", [5.0, 15.0, 30.0])
def test_it_estimates_snr_from_speech_and_non_speech_frames(snr_db):
    t = np.arange(0.005, 10.0, 0.01)
    segments = np.array([[1.0, 4.0], [5.0, 9.0]])
    noise = 1e-4
    power = np.full(t.size, noise)
    speech = quality._mask_in(t, segments, margin_s=0.0)
    power[speech] = noise * (1 + 10 ** (snr_db / 10))
    assert_allclose(estimate_snr_db(power=power, frame_times_s=t, segments=segments), snr_db, atol=1e-6)


def test_it_has_no_snr_without_speech():
    t = np.arange(0.005, 2.0, 0.01)
    assert np.isnan(estimate_snr_db(power=np.ones(t.size), frame_times_s=t, segments=np.empty((0, 2))))
