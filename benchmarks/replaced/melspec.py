"""Mel spectrograms and MFCCs equal to librosa's, in NumPy alone.

Importing librosa (even only ``librosa.core.spectrum``) loads its numba-compiled stack: about
0.5 CPU-s per process, more than the spectrogram of a minute of speech costs. The
spectrogram and MFCCs here follow ``librosa.feature.melspectrogram`` and ``librosa.feature.mfcc``
(librosa 0.11) step by step with the same defaults — centred periodic-Hann frames with zero
padding, an FFT in double precision stored as complex64, Slaney-normalised mel filters on the
Slaney mel scale, ``power_to_db`` with ``amin=1e-10`` and ``top_db=80``, an orthonormal DCT-II (as a
matrix: ``scipy.fft`` alone costs 0.2 CPU-s to import) —
and the tests check them against librosa. :func:`mel_power` can also compute only some
frames (the voice embedding reads a bounded number of 2-s windows of a long recording).
"""

# Not part of the product any more: Cadence calls librosa again. This was voice_features/melspec.py until
# benchmarks/bench_dsp_vs_library.py showed that, in a long-lived worker, it saved nothing per recording (it was
# slower than the library); it is kept unchanged only so that the benchmark can be run again.

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["mel_filterbank", "mel_power", "mfcc"]

_BLOCK_FRAMES = 2048
"""Frames transformed at a time: bounds the float64 work arrays to a few MB."""
_F_SP = 200.0 / 3  # Slaney mel scale: linear below 1 kHz ...
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0  # ... logarithmic above


def _hz_to_mel(hz: float) -> float:
    return _MIN_LOG_MEL + np.log(hz / _MIN_LOG_HZ) / _LOGSTEP if hz >= _MIN_LOG_HZ else hz / _F_SP


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    hz = _F_SP * mels
    log_t = mels >= _MIN_LOG_MEL
    hz[log_t] = _MIN_LOG_HZ * np.exp(_LOGSTEP * (mels[log_t] - _MIN_LOG_MEL))
    return hz


@lru_cache(maxsize=8)
def mel_filterbank(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    """Slaney-normalised triangular mel filters from 0 Hz to ``sr / 2``, shape ``(n_mels, 1 + n_fft // 2)``, float32.

    ``librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)``, computed the same way.
    """
    weights = np.zeros((n_mels, 1 + n_fft // 2), dtype=np.float32)
    fft_hz = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_hz = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(float(sr) / 2), n_mels + 2))
    fdiff = np.diff(mel_hz)
    ramps = np.subtract.outer(mel_hz, fft_hz)
    for i in range(n_mels):
        weights[i] = np.maximum(0, np.minimum(-ramps[i] / fdiff[i], ramps[i + 2] / fdiff[i + 1]))
    weights *= (2.0 / (mel_hz[2: n_mels + 2] - mel_hz[:n_mels]))[:, np.newaxis]
    weights.setflags(write=False)
    return weights


@lru_cache(maxsize=8)
def _hann(n_fft: int) -> np.ndarray:
    """Periodic Hann window, as ``scipy.signal.get_window("hann", n_fft, fftbins=True)`` computes it."""
    return 0.5 + 0.5 * np.cos(np.linspace(-np.pi, np.pi, n_fft + 1)[:-1])


def n_frames(n_samples: int, *, hop_length: int) -> int:
    """Number of centred frames of a signal of ``n_samples``: ``1 + n_samples // hop_length``."""
    return 1 + n_samples // hop_length


def mel_power(y: np.ndarray, *, sr: int, n_fft: int, hop_length: int, n_mels: int,
              frames: np.ndarray | None = None) -> np.ndarray:
    """Power mel spectrogram, shape ``(n_mels, 1 + len(y) // hop_length)``, float32.

    Centred periodic-Hann frames of ``n_fft`` samples every ``hop_length`` samples (zero
    padded), Slaney mel filters: ``librosa.feature.melspectrogram``'s defaults.

    Parameters
    ----------
    frames : np.ndarray of int, optional
        Compute only these frames (sorted, unique indices); the others stay 0.
    """
    y = np.asarray(y, dtype=np.float32).reshape(-1)
    half = n_fft // 2
    padded = np.pad(y, half)
    all_frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length]
    total = all_frames.shape[0]  # = n_frames(y.size, hop_length=hop_length)
    wanted = np.arange(total) if frames is None else np.asarray(frames, dtype=np.intp)
    window, filters = _hann(n_fft), mel_filterbank(sr, n_fft, n_mels)
    out = np.zeros((n_mels, total), dtype=np.float32)
    for start in range(0, wanted.size, _BLOCK_FRAMES):
        index = wanted[start: start + _BLOCK_FRAMES]
        spectrum = np.fft.rfft(window * all_frames[index], axis=-1).astype(np.complex64)
        power = np.abs(spectrum) ** 2
        out[:, index] = filters @ power.T
    return out


def _power_to_db(power: np.ndarray, *, amin: float = 1e-10, top_db: float = 80.0) -> np.ndarray:
    """``librosa.power_to_db(power)``: dB re 1, floored at ``amin`` and at ``top_db`` below the maximum."""
    log_spec = 10.0 * np.log10(np.maximum(amin, power))
    log_spec -= 10.0 * np.log10(np.maximum(amin, 1.0))
    return np.maximum(log_spec, log_spec.max() - top_db)


@lru_cache(maxsize=8)
def _dct_matrix(n_out: int, n_in: int) -> np.ndarray:
    """Rows of the orthonormal DCT-II of length ``n_in`` (``scipy.fft.dct(type=2, norm="ortho")``), shape ``(n_out, n_in)``."""
    k, n = np.arange(n_out)[:, np.newaxis], np.arange(n_in)[np.newaxis, :]
    matrix = np.sqrt(2.0 / n_in) * np.cos(np.pi * k * (2 * n + 1) / (2 * n_in))
    matrix[0] /= np.sqrt(2.0)
    return matrix


def mfcc(y: np.ndarray, *, sr: int, n_mfcc: int, n_fft: int, hop_length: int, n_mels: int) -> np.ndarray:
    """MFCCs, shape ``(n_mfcc, frames)``, float32: orthonormal DCT-II of the dB mel spectrogram (``librosa.feature.mfcc``)."""
    log_mel = _power_to_db(mel_power(y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels))
    return (_dct_matrix(n_mfcc, n_mels) @ log_mel).astype(np.float32)
