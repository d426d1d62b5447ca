"""Ground truth: pauses, speech rate and F0 on signals whose answers are known.

Two sources: the package's own synthetic voice (exact truth by construction) and real
synthesised speech from espeak-ng (sentences with hand-counted syllables joined by
silences of known length), each clean and with white noise at 10 dB SNR.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from numpy.testing import assert_allclose

from tests.voice_features.conftest import load_16k, sox
from voice_features import analyse
from voice_features.synth import add_white_noise, synth_speech

SR = 16000
RUNS_S = (2.4, 3.1, 1.6, 2.8, 2.0, 3.3)
PAUSES_S = (0.5, 1.1, 0.35, 0.8, 0.6)


@pytest.fixture(scope="module")
def synthetic():
    return synth_speech(run_durations_s=RUNS_S, pause_durations_s=PAUSES_S, syllable_rate_hz=4.2, f0_hz=115.0, seed=7)


def _noisy(x: np.ndarray, snr_db: float | None) -> np.ndarray:
    return x if snr_db is None else add_white_noise(x, snr_db=snr_db, seed=11)


@pytest.mark.parametrize("snr_db", [None, 10.0])
def test_it_counts_pauses_and_rate_of_synthetic_speech(synthetic, snr_db):
    features = analyse(_noisy(synthetic.samples, snr_db), sr=SR).features
    assert abs(features["pause_count"] - synthetic.pause_count) <= 1
    assert_allclose(features["speech_rate_syl_s"], synthetic.speech_rate_syl_s, rtol=0.15)
    assert_allclose(features["speech_s"], synthetic.speech_s, rtol=0.10)
    assert_allclose(features["f0_median_hz"], synthetic.f0_median_hz, rtol=0.03)


@pytest.mark.parametrize("snr_db", [None, 10.0])
def test_it_counts_pauses_and_rate_of_espeak_speech(espeak_recording, snr_db):
    features = analyse(_noisy(load_16k(espeak_recording.path), snr_db), sr=SR).features
    assert abs(features["pause_count"] - espeak_recording.pause_count) <= 1
    assert_allclose(features["speech_rate_syl_s"], espeak_recording.speech_rate_syl_s, rtol=0.15)


@pytest.mark.parametrize("source", ["synthetic", "espeak"])
def test_it_finds_the_same_pauses_at_10_db_snr_as_clean(source, synthetic, request):
    x = synthetic.samples if source == "synthetic" else load_16k(request.getfixturevalue("espeak_recording").path)
    clean, noisy = analyse(x, sr=SR).features, analyse(_noisy(x, 10.0), sr=SR).features
    assert noisy["pause_count"] == clean["pause_count"]
    assert_allclose(noisy["pause_mean_s"], clean["pause_mean_s"], atol=0.12)


@pytest.fixture(scope="module")
def synthetic_wav(synthetic, tmp_path_factory):
    path = tmp_path_factory.mktemp("synth") / "synthetic.wav"
    sf.write(path, synthetic.samples, SR, subtype="PCM_16")
    return path


@pytest.mark.parametrize("source", ["synthetic_wav", "espeak_recording"])
def test_it_scales_speech_rate_with_tempo(source, request, tmp_path):
    fixture = request.getfixturevalue(source)
    path = getattr(fixture, "path", fixture)
    before = analyse(load_16k(path), sr=SR).features["speech_rate_syl_s"]
    after = analyse(load_16k(sox(path, tmp_path / "fast.wav", "tempo", "1.25")), sr=SR).features["speech_rate_syl_s"]
    assert_allclose(after / before, 1.25, rtol=0.12)


@pytest.mark.parametrize("cents", [300, -300])
@pytest.mark.parametrize("source", ["synthetic_wav", "espeak_recording"])
def test_it_moves_f0_median_but_not_range_with_pitch_shift(source, cents, request, tmp_path):
    fixture = request.getfixturevalue(source)
    path = getattr(fixture, "path", fixture)
    before = analyse(load_16k(path), sr=SR).features
    after = analyse(load_16k(sox(path, tmp_path / "shifted.wav", "pitch", str(cents))), sr=SR).features
    assert_allclose(after["f0_median_st"] - before["f0_median_st"], cents / 100, atol=0.5)
    assert abs(after["f0_range_st"] - before["f0_range_st"]) < 1.0
