"""Mel spectrograms and MFCCs composed from librosa's STFT and mel filterbank.

``librosa.feature`` loads librosa's whole analysis stack on first use (numba-compiled
sequence and pitch code): about 3 s of CPU, the largest fixed cost of extracting features
from one recording. ``librosa.feature.melspectrogram`` and ``mfcc`` are compositions of
``librosa.stft``, ``librosa.filters.mel``, ``librosa.power_to_db`` and a DCT; this module
composes the same functions with the same defaults (tests check equality), importing only
``librosa.core.spectrum`` and ``librosa.filters``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["mel_power", "mfcc"]


@lru_cache(maxsize=8)
def _filterbank(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    from librosa.filters import mel

    return mel(sr=sr, n_fft=n_fft, n_mels=n_mels)


def mel_power(y: np.ndarray, *, sr: int, n_fft: int, hop_length: int, n_mels: int) -> np.ndarray:
    """Power mel spectrogram, shape ``(n_mels, 1 + len(y) // hop_length)``.

    Centred periodic-Hann frames of ``n_fft`` samples every ``hop_length`` samples (zero
    padded), Slaney mel filters: ``librosa.feature.melspectrogram``'s defaults.
    """
    from librosa.core.spectrum import stft

    power = np.abs(stft(np.asarray(y, dtype=np.float32), n_fft=n_fft, hop_length=hop_length)) ** 2
    return _filterbank(sr, n_fft, n_mels) @ power


def mfcc(y: np.ndarray, *, sr: int, n_mfcc: int, n_fft: int, hop_length: int, n_mels: int) -> np.ndarray:
    """MFCCs, shape ``(n_mfcc, frames)``: orthonormal DCT-II of the dB mel spectrogram (``librosa.feature.mfcc``)."""
    import scipy.fft
    from librosa.core.spectrum import power_to_db

    log_mel = power_to_db(mel_power(y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels))
    return scipy.fft.dct(log_mel, axis=0, type=2, norm="ortho")[:n_mfcc]
