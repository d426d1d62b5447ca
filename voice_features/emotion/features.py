"""Log-mel front end and 2-s sliding windows shared by SER training and inference."""

from __future__ import annotations

import librosa
import numpy as np

__all__ = [
    "SAMPLE_RATE_HZ",
    "N_MELS",
    "FRAMES_PER_S",
    "WINDOW_S",
    "HOP_S",
    "WINDOW_FRAMES",
    "HOP_FRAMES",
    "log_mel",
    "sliding_windows",
]

SAMPLE_RATE_HZ = 16_000
N_MELS = 64
N_FFT = 400  # 25 ms
HOP_LENGTH = 160  # 10 ms
FRAMES_PER_S = SAMPLE_RATE_HZ // HOP_LENGTH
WINDOW_S = 2.0
HOP_S = 0.5
WINDOW_FRAMES = int(WINDOW_S * FRAMES_PER_S)
HOP_FRAMES = int(HOP_S * FRAMES_PER_S)
_FLOOR = 1e-6  # about -60 dB re full-scale power: keeps silence finite in the log


def log_mel(samples: np.ndarray) -> np.ndarray:
    """Natural-log mel energies.

    Parameters
    ----------
    samples : np.ndarray, shape (n,)
        Mono audio at 16 kHz, full scale ±1. The level is kept: loudness is an emotion cue.

    Returns
    -------
    np.ndarray, shape (1 + n // 160, 64), float32
        ``log(mel power + 1e-6)`` every 10 ms over 25-ms frames.
    """
    mel = librosa.feature.melspectrogram(y=np.asarray(samples, dtype=np.float32), sr=SAMPLE_RATE_HZ, n_fft=N_FFT,
                                         hop_length=HOP_LENGTH, n_mels=N_MELS)
    return np.log(mel.T + _FLOOR).astype(np.float32)


def sliding_windows(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cut (frames, mels) features into 2-s windows with a 0.5-s hop.

    Shorter input is padded with the silence floor to one window.

    Returns
    -------
    windows : np.ndarray, shape (n_windows, 200, n_mels)
    starts_s : np.ndarray, shape (n_windows,)
        Start time of each window, seconds.
    """
    n = features.shape[0]
    if n < WINDOW_FRAMES:
        pad = np.full((WINDOW_FRAMES - n, features.shape[1]), np.log(_FLOOR), np.float32)
        features = np.concatenate([features, pad])
    starts = np.arange(0, features.shape[0] - WINDOW_FRAMES + 1, HOP_FRAMES)
    windows = np.stack([features[s : s + WINDOW_FRAMES] for s in starts])
    return windows, starts / FRAMES_PER_S
