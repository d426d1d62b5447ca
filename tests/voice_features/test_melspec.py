"""The composed mel spectrogram and MFCCs equal librosa.feature's."""

import librosa
import numpy as np
import pytest
from numpy.testing import assert_allclose

from voice_features.melspec import mel_power, mfcc


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
