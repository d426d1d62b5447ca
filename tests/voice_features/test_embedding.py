"""Tests for voice_features.embedding (resemblyzer GE2E encoder, own mel front end)."""

import os
import shutil
import subprocess
from math import gcd

import numpy as np
import pytest
import soundfile as sf
from numpy.testing import assert_allclose
from scipy.signal import resample_poly

from voice_features import embedding
from voice_features.embedding import (
    EMBEDDING_MODEL_NAME,
    EMBEDDING_MODEL_VERSION,
    embed_speech,
)
from voice_features.errors import VoiceFeaturesError

pytestmark = pytest.mark.slow  # scheduled first (tests/conftest.py)

SR = 16_000


def _espeak(text: str, tmp_path, voice: str = "en+m3") -> np.ndarray:
    if shutil.which("espeak-ng") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("espeak-ng is required in CI (apt-get install espeak-ng)")
        pytest.skip("espeak-ng not installed")
    out = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(out), text], check=True)
    samples, sr = sf.read(out, dtype="float32")
    g = gcd(SR, sr)
    return resample_poly(samples, SR // g, sr // g).astype(np.float32)


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> np.ndarray:
    text = "The quick brown fox jumps over the lazy dog near the quiet river bank today."
    return _espeak(text, tmp_path_factory.mktemp("emb"))


def _tone(seconds: float, f0: float = 140.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    harmonics = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 12))
    return (0.05 * harmonics + 0.002 * rng.standard_normal(t.size)).astype(np.float32)


def test_it_matches_resemblyzer_embed_utterance_partials(speech):
    # resemblyzer's package import pulls librosa; only this parity test pays for it.
    from resemblyzer import VoiceEncoder
    from resemblyzer.audio import wav_to_mel_spectrogram

    reference = VoiceEncoder(device="cpu", verbose=False)
    _, partials, _ = reference.embed_utterance(speech, return_partials=True)
    wav_slices, mel_slices = reference.compute_partial_slices(len(speech), 1.3, 0.75)
    padded = np.pad(speech, (0, max(0, wav_slices[-1].stop - len(speech))))

    mel = embedding.ge2e_mel_spectrogram(padded)
    assert_allclose(mel, wav_to_mel_spectrogram(padded), rtol=1e-4, atol=1e-5)
    ours = embedding.embed_mel_windows(np.stack([mel[s] for s in mel_slices]))
    assert ours.shape == partials.shape
    assert_allclose(ours, partials, atol=1e-4)


@pytest.mark.parametrize(("seconds", "n_windows"), [(2.0, 1), (5.0, 7), (10.0, 17), (0.7, 1)])
def test_it_counts_two_second_windows_with_half_second_hop(seconds, n_windows):
    result = embed_speech(_tone(seconds), sr=SR)
    assert result.n_windows == n_windows
    assert result.mean.shape == (256,)
    assert_allclose(np.linalg.norm(result.mean), 1.0, rtol=1e-5)


def test_it_encodes_at_most_max_windows_of_long_speech_and_agrees_with_all_of_them(monkeypatch):
    from voice_features.synth import synth_speech

    long = synth_speech(run_durations_s=[3.0] * 30, pause_durations_s=[0.5] * 29, seed=8)  # 90 s of speech
    cap = embedding.MAX_WINDOWS
    capped = embed_speech(long.samples, sr=SR, speech_intervals=long.speech_intervals)
    monkeypatch.setattr(embedding, "MAX_WINDOWS", 10_000)
    every = embed_speech(long.samples, sr=SR, speech_intervals=long.speech_intervals)
    assert capped.n_windows == cap < every.n_windows
    assert float(capped.mean @ every.mean) > 0.999


def test_it_embeds_only_the_speech_intervals(speech):
    silence = np.zeros(SR, dtype=np.float32)
    noise = (0.3 * np.random.default_rng(1).standard_normal(SR)).astype(np.float32)
    padded = np.concatenate([silence, speech, noise])
    start, end = 1.0, 1.0 + len(speech) / SR
    with_intervals = embed_speech(padded, sr=SR, speech_intervals=[(start, end)])
    alone = embed_speech(speech, sr=SR)
    assert_allclose(with_intervals.mean, alone.mean, atol=1e-5)
    assert with_intervals.n_windows == alone.n_windows


def test_it_is_invariant_to_a_quiet_recording_level(speech):
    loud = embed_speech(speech, sr=SR)
    quiet = embed_speech(speech * 0.05, sr=SR)
    assert float(loud.mean @ quiet.mean) > 0.999


def test_it_reports_zero_spread_for_one_window_and_more_for_mixed_voices(speech, tmp_path):
    one = embed_speech(speech[: SR * 2], sr=SR)
    assert one.spread == 0.0
    other = _espeak("My sister called on Sunday and we talked for almost an hour.", tmp_path, "en+f4")
    same_voice = embed_speech(speech, sr=SR)
    mixed = embed_speech(np.concatenate([speech, other]), sr=SR)
    assert mixed.spread > same_voice.spread


def test_it_serialises_model_version_and_vector(speech):
    doc = embed_speech(speech, sr=SR).to_json_dict()
    assert doc["model"] == EMBEDDING_MODEL_NAME
    assert doc["version"] == EMBEDDING_MODEL_VERSION
    assert doc["dim"] == 256 and len(doc["vector"]) == 256
    assert all(isinstance(v, float) for v in doc["vector"])
    assert doc["n_windows"] >= 1 and doc["spread"] >= 0.0


@pytest.mark.parametrize(
    ("samples", "sr", "intervals", "code"),
    [
        (np.zeros(SR * 3, dtype=np.float32), SR, None, "no_speech"),
        (np.ones(SR, dtype=np.float32) * 0.1, 16_000, [], "no_speech"),
        (np.ones(SR, dtype=np.float32) * 0.1, 44_100, None, "bad_rate"),
    ],
)
def test_it_refuses_audio_it_cannot_embed(samples, sr, intervals, code):
    with pytest.raises(VoiceFeaturesError) as info:
        embed_speech(samples, sr=sr, speech_intervals=intervals)
    assert info.value.code == code


def test_it_loads_the_encoder_once_per_process():
    assert embedding.load_encoder() is embedding.load_encoder()
    assert embedding.weights_path().name == "pretrained.pt"
