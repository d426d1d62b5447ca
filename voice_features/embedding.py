"""Speaker (voice) embedding with resemblyzer's pretrained GE2E encoder.

The network and its weights are resemblyzer's (``pretrained.pt`` ships inside its wheel,
so nothing is downloaded); the 40-band mel input is librosa's, with resemblyzer's settings.

A recording is embedded over its speech only: the speech intervals are joined, the level
is set to -30 dBFS (resemblyzer raises quiet audio to it; we also lower loud audio), and 2-s windows with
a 0.5-s hop are each encoded to a 256-d unit vector. The recording's embedding is the
L2-normalised mean of the window vectors; its ``spread`` is the mean cosine distance of
the windows from that mean (0 = every window identical; larger = a less stable voice or
a mixture of speakers). The mel spectrogram is computed once over the joined speech and
the windows are views into it (each second of audio is transformed once, not four times);
when a long recording has more windows than :data:`MAX_WINDOWS`, only that many, evenly spread,
are encoded. torch is imported on the first embedding, not with this module (which the
screening layer imports for the model name); librosa loads its spectrum code on first use.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import librosa
import numpy as np

from voice_features.errors import VoiceFeaturesError

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "EMBEDDING_DIM",
    "EMBEDDING_MODEL_NAME",
    "EMBEDDING_MODEL_VERSION",
    "EMBEDDING_WEIGHTS_SHA256",
    "SAMPLE_RATE_HZ",
    "WINDOW_S",
    "HOP_S",
    "MAX_WINDOWS",
    "SpeechEmbedding",
    "embed_speech",
    "embed_mel_windows",
    "ge2e_mel_spectrogram",
    "join_speech",
    "load_encoder",
]

EMBEDDING_MODEL_NAME = "resemblyzer-ge2e"
EMBEDDING_MODEL_VERSION = "0.1.4"
EMBEDDING_DIM = 256
# Pinning the weights' digest means a different pretrained.pt can never silently
# change every stored embedding (and so every speaker check) under the same version.
EMBEDDING_WEIGHTS_SHA256 = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"

SAMPLE_RATE_HZ = 16_000
WINDOW_S = 2.0
HOP_S = 0.5
#: At most this many windows are encoded, evenly spread over the speech. The mean of 160
#: unit vectors of one voice is as stable as the mean of a thousand, and the LSTM is most of
#: the cost of a long recording; recordings with up to 80 s of speech use every window.
MAX_WINDOWS = 160
_N_FFT = 400  # 25 ms
_HOP_LENGTH = 160  # 10 ms
_N_MELS = 40
_TARGET_DBFS = -30.0
_INT16_MAX = 2**15 - 1
_LEVEL_BLOCK = 1 << 18

_encoder_lock = threading.Lock()
_encoder: nn.Module | None = None


@cache
def _encoder_class() -> type[nn.Module]:
    """resemblyzer's VoiceEncoder network: 3-layer LSTM (40 → 256), linear, ReLU, L2 (defined on first use)."""
    import torch
    from torch import nn

    class _GE2EEncoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(_N_MELS, 256, 3, batch_first=True)
            self.linear = nn.Linear(256, EMBEDDING_DIM)
            self.relu = nn.ReLU()

        def forward(self, mels: torch.Tensor) -> torch.Tensor:
            _, (hidden, _) = self.lstm(mels)
            raw = self.relu(self.linear(hidden[-1]))
            return raw / torch.norm(raw, dim=1, keepdim=True)

    return _GE2EEncoder


@dataclass(frozen=True)
class SpeechEmbedding:
    """The voice embedding of one recording.

    Attributes
    ----------
    mean : np.ndarray, shape (256,)
        L2-normalised mean of the window embeddings.
    spread : float
        Mean cosine distance ``1 - cos(window, mean)`` over windows (0 for one window).
    n_windows : int
        Number of 2-s windows that were encoded.
    model, version : str
        Encoder name and version, stored with the vector.
    """

    mean: np.ndarray
    spread: float
    n_windows: int
    model: str = EMBEDDING_MODEL_NAME
    version: str = EMBEDDING_MODEL_VERSION

    def to_json_dict(self) -> dict:
        """Plain-JSON form: ``{"model", "version", "dim", "vector", "spread", "n_windows"}``."""
        return {
            "model": self.model,
            "version": self.version,
            "dim": int(self.mean.shape[0]),
            "vector": [float(v) for v in self.mean],
            "spread": float(self.spread),
            "n_windows": int(self.n_windows),
        }


def weights_path() -> Path:
    """Path of resemblyzer's ``pretrained.pt``, found without importing resemblyzer."""
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise VoiceFeaturesError(
            "The voice encoder package 'resemblyzer' is not installed.", code="model_missing"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pretrained.pt"


def load_encoder() -> nn.Module:
    """Return the process-wide encoder, loading it on first use.

    Loading also sets torch to one intra-op thread: Cadence runs several single-threaded
    workers per machine, and a worker that grabs every core slows all the others.
    """
    global _encoder
    with _encoder_lock:
        if _encoder is None:
            import torch

            path = weights_path()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest != EMBEDDING_WEIGHTS_SHA256:
                raise VoiceFeaturesError(
                    f"Voice encoder weights at {path} are not the expected version.",
                    code="model_mismatch",
                )
            torch.set_num_threads(1)
            state = torch.load(path, map_location="cpu", weights_only=True)["model_state"]
            encoder = _encoder_class()()
            encoder.load_state_dict({k: v for k, v in state.items() if not k.startswith("similarity_")})
            _encoder = encoder.eval()
    return _encoder


def ge2e_mel_spectrogram(samples: np.ndarray) -> np.ndarray:
    """Power mel spectrogram exactly as resemblyzer's ``wav_to_mel_spectrogram`` (``librosa.feature.melspectrogram``).

    Parameters
    ----------
    samples : np.ndarray, shape (n,)
        Mono audio at 16 kHz, float, full scale ±1.

    Returns
    -------
    np.ndarray, shape (1 + n // 160, 40), float32
        Power (not log) mel energies; 25-ms periodic Hann frames every 10 ms, centred
        with zero padding (librosa ≥ 0.10 defaults).
    """
    mel = librosa.feature.melspectrogram(y=np.asarray(samples, dtype=np.float32), sr=SAMPLE_RATE_HZ, n_fft=_N_FFT,
                                         hop_length=_HOP_LENGTH, n_mels=_N_MELS)
    return mel.T


def embed_mel_windows(mel_windows: np.ndarray, *, batch_size: int = 64) -> np.ndarray:
    """Encode mel windows with the GE2E network.

    Parameters
    ----------
    mel_windows : np.ndarray, shape (n_windows, n_frames, 40)
        Windows of :func:`ge2e_mel_spectrogram` frames (may be a strided view: each batch
        is made contiguous on its own).
    batch_size : int
        Windows per forward pass (bounds memory on long recordings).

    Returns
    -------
    np.ndarray, shape (n_windows, 256), float32
        Unit-norm window embeddings (non-negative, from the ReLU).
    """
    import torch

    encoder = load_encoder()
    outputs = []
    with torch.inference_mode():
        for start in range(0, mel_windows.shape[0], batch_size):
            batch = torch.from_numpy(np.ascontiguousarray(mel_windows[start : start + batch_size]))
            outputs.append(encoder(batch).numpy())
    return np.concatenate(outputs, axis=0)


def join_speech(
    samples: np.ndarray, *, sr: int, speech_intervals: Sequence[tuple[float, float]] | None
) -> np.ndarray:
    """Concatenate the samples inside ``speech_intervals`` (seconds); all samples if None."""
    wav = np.asarray(samples, dtype=np.float32).reshape(-1)
    if speech_intervals is None:
        return wav
    pieces = [wav[int(round(a * sr)) : int(round(b * sr))] for a, b in speech_intervals if b > a]
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)


def _normalise_level(wav: np.ndarray) -> np.ndarray:
    """Scale the speech to -30 dBFS RMS.

    resemblyzer only raises quiet audio to -30 dBFS; we also lower loud audio, because the
    encoder's input is a power (not log) spectrogram and a phone's gain must not move a
    patient's embedding away from their enrolment.
    """
    squares = 0.0
    for start in range(0, wav.size, _LEVEL_BLOCK):  # in double precision, without a float64 copy of the speech
        block = wav[start: start + _LEVEL_BLOCK].astype(np.float64) * _INT16_MAX
        squares += float(np.dot(block, block))
    rms = np.sqrt(squares / wav.size)
    if rms == 0:
        return wav
    change_db = _TARGET_DBFS - 20 * np.log10(rms / _INT16_MAX)
    return wav * np.float32(10 ** (change_db / 20))


def embed_speech(
    samples: np.ndarray,
    *,
    sr: int = SAMPLE_RATE_HZ,
    speech_intervals: Sequence[tuple[float, float]] | None = None,
) -> SpeechEmbedding:
    """Embed the voice in one recording.

    Parameters
    ----------
    samples : np.ndarray, shape (n,)
        Mono audio, float32, full scale ±1.
    sr : int
        Sample rate in Hz; must be 16 000 (the loader resamples).
    speech_intervals : sequence of (start_s, end_s), optional
        Speech regions in seconds (from the VAD). None treats the whole signal as speech.

    Returns
    -------
    SpeechEmbedding
        Mean of 2-s / 0.5-s-hop window embeddings over the joined speech (at most
        ``MAX_WINDOWS``, evenly spread). Speech shorter than one window is zero-padded to one window.

    Raises
    ------
    VoiceFeaturesError
        Wrong sample rate, or no speech samples at all.
    """
    if sr != SAMPLE_RATE_HZ:
        raise VoiceFeaturesError(f"Embedding needs 16 kHz audio, got {sr} Hz.", code="bad_rate")
    speech = join_speech(samples, sr=sr, speech_intervals=speech_intervals)
    if speech.size == 0 or not np.any(speech):
        raise VoiceFeaturesError("There is no speech to embed.", code="no_speech")
    window = int(round(WINDOW_S * SAMPLE_RATE_HZ / _HOP_LENGTH))
    hop = int(round(HOP_S * SAMPLE_RATE_HZ / _HOP_LENGTH))
    speech = _normalise_level(speech)
    mel = ge2e_mel_spectrogram(speech)
    total = mel.shape[0]  # 1 + speech.size // _HOP_LENGTH centred frames
    if total < window:
        mel = np.pad(mel, ((0, window - total), (0, 0)))
        starts = np.zeros(1, dtype=np.intp)
    else:
        starts = np.arange((total - window) // hop + 1) * hop
        if starts.size > MAX_WINDOWS:
            starts = starts[np.linspace(0, starts.size - 1, MAX_WINDOWS).round().astype(int)]
    windows = np.lib.stride_tricks.sliding_window_view(mel, window, axis=0)[starts].transpose(0, 2, 1)
    vectors = embed_mel_windows(windows)
    mean = vectors.mean(axis=0)
    mean /= np.linalg.norm(mean)
    spread = 0.0 if vectors.shape[0] == 1 else float(np.mean(1.0 - vectors @ mean))  # one window: 0, not rounding noise
    return SpeechEmbedding(mean=mean.astype(np.float32), spread=max(spread, 0.0), n_windows=windows.shape[0])
