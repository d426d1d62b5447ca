"""The NumPy mel spectrogram and MFCCs equal librosa.feature's."""

import subprocess
import sys
from pathlib import Path

import librosa
import numpy as np
import pytest
from numpy.testing import assert_allclose

from voice_features.melspec import mel_filterbank, mel_power, mfcc


@pytest.fixture(scope="module")
def noise():
    return np.random.default_rng(0).normal(0, 0.1, 16000 * 3).astype(np.float32)


@pytest.mark.parametrize(("n_fft", "hop", "n_mels"), [(400, 160, 40), (400, 160, 64), (512, 256, 40)])
def test_it_equals_librosas_melspectrogram(noise, n_fft, hop, n_mels):
    expected = librosa.feature.melspectrogram(y=noise, sr=16000, n_fft=n_fft, hop_length=hop, n_mels=n_mels)
    assert_allclose(mel_power(noise, sr=16000, n_fft=n_fft, hop_length=hop, n_mels=n_mels), expected, rtol=1e-4,
                    atol=1e-7)


def test_it_equals_librosas_mfcc(noise):
    expected = librosa.feature.mfcc(y=noise, sr=16000, n_mfcc=14, n_fft=400, hop_length=160, n_mels=40)
    assert_allclose(mfcc(noise, sr=16000, n_mfcc=14, n_fft=400, hop_length=160, n_mels=40), expected, rtol=1e-4,
                    atol=1e-3)


@pytest.mark.parametrize(("sr", "n_fft", "n_mels"), [(16000, 400, 40), (16000, 512, 64), (22050, 2048, 128)])
def test_the_filterbank_is_librosas(sr, n_fft, n_mels):
    np.testing.assert_array_equal(mel_filterbank(sr, n_fft, n_mels), librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels))


def test_it_computes_only_the_frames_asked_for(noise):
    full = mel_power(noise, sr=16000, n_fft=400, hop_length=160, n_mels=40)
    frames = np.array([0, 1, 150, full.shape[1] - 1])
    part = mel_power(noise, sr=16000, n_fft=400, hop_length=160, n_mels=40, frames=frames)
    assert_allclose(part[:, frames], full[:, frames], rtol=1e-6)
    assert not np.delete(part, frames, axis=1).any()


def test_extraction_loads_neither_librosa_nor_torch():
    code = ("import sys; import numpy as np; from voice_features import analyse; import voice_features.embedding; "
            "t = np.arange(32000) / 16000; analyse((0.3 * np.sin(2 * np.pi * 150 * t)).astype(np.float32)); "
            "print(sorted(m for m in ('librosa', 'torch', 'numba') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"
