"""Emotion posteriors and embedding for one recording, from the active registry model.

When no registry is configured or no model is active, :func:`analyse_emotion` returns
None and :func:`emotion_stage_status` says ``"off"``: Cadence ships no emotion model, and
nothing is ever inferred from a model that was not trained on real labels by the clinic.

The registry directory is passed in, or read from the ``CADENCE_EMOTION_REGISTRY``
environment variable.

Runtime: the active version's INT8 ONNX graph (``model_int8.onnx``, ONNX Runtime, one
intra-op thread, :func:`voice_features.emotion.quantize.onnx_session`) when the parity
checks recorded at export passed (:func:`int8_parity_failure`) and the file is there and
matches its registered digest; otherwise FP32: the FP32 ONNX graph (``model.onnx``, same
session settings), or the torch model (``model.pt``) if that graph cannot be used either
(:func:`load_runner`). Every :class:`EmotionResult` says which one produced it, and why
the INT8 graph did not.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from voice_features.embedding import join_speech
from voice_features.emotion import REGISTRY_ENV, registry
from voice_features.emotion.features import SAMPLE_RATE_HZ, log_mel, sliding_windows
from voice_features.errors import VoiceFeaturesError

__all__ = [
    "FP32_GRAPH",
    "INT8_GRAPH",
    "INT8_MAX_UAR_CHANGE",
    "INT8_MIN_TOP_CLASS_AGREEMENT",
    "REGISTRY_ENV",
    "EmotionResult",
    "EmotionRunner",
    "analyse_emotion",
    "emotion_stage_status",
    "int8_parity_failure",
    "load_runner",
    "resolve_registry",
]

INT8_GRAPH = "model_int8.onnx"
FP32_GRAPH = "model.onnx"
#: Parity the export must have measured for the INT8 graph to serve: the share of held-out windows
#: whose top class is the FP32 graph's, and the largest |UAR(INT8) − UAR(FP32)| on the held-out speakers.
INT8_MIN_TOP_CLASS_AGREEMENT = 0.95
INT8_MAX_UAR_CHANGE = 0.05

log = logging.getLogger(__name__)

_cache_lock = threading.Lock()
_cache: dict[tuple[str, str], EmotionRunner] = {}


@dataclass(frozen=True)
class EmotionResult:
    """Per-window emotion posteriors and the mean emotion embedding of a recording.

    Attributes
    ----------
    labels : tuple of str
        Class names, the column order of ``window_posteriors``.
    window_starts_s : np.ndarray, shape (n_windows,)
        Start of each 2-s window in the joined speech, seconds.
    window_posteriors : np.ndarray, shape (n_windows, n_classes)
    mean_posterior : np.ndarray, shape (n_classes,)
    embedding : np.ndarray, shape (embedding_dim,)
        Mean over windows of the penultimate-layer activations.
    model_version : str
    runtime : dict
        What computed it: ``engine`` (``"onnxruntime"`` or ``"torch"``), ``precision``
        (``"int8"`` or ``"fp32"``), ``graph`` (the registry file: ``model_int8.onnx``,
        ``model.onnx`` or ``model.pt``), ``engine_version``, and ``fallback_reason`` (why
        the INT8 graph did not serve; None when it did).
    """

    labels: tuple[str, ...]
    window_starts_s: np.ndarray
    window_posteriors: np.ndarray
    mean_posterior: np.ndarray
    embedding: np.ndarray
    model_version: str
    runtime: dict

    def to_json_dict(self) -> dict:
        """Plain-JSON form for storage with the recording."""
        return {
            "model_version": self.model_version,
            "runtime": dict(self.runtime),
            "labels": list(self.labels),
            "window_s": 2.0,
            "hop_s": 0.5,
            "window_starts_s": [float(s) for s in self.window_starts_s],
            "window_posteriors": [[float(p) for p in row] for row in self.window_posteriors],
            "mean_posterior": {label: float(p) for label, p in zip(self.labels, self.mean_posterior)},
            "embedding": [float(v) for v in self.embedding],
        }


def int8_parity_failure(metadata: dict) -> str | None:
    """Why the INT8 graph of a registered version must not serve, or None when its parity checks passed.

    The checks are the ones :func:`voice_features.emotion.export.export_all` recorded under
    ``export_checks``: top-class agreement with the FP32 graph on held-out windows at least
    :data:`INT8_MIN_TOP_CLASS_AGREEMENT`, and the held-out UAR change within ±:data:`INT8_MAX_UAR_CHANGE`.
    """
    checks = metadata.get("export_checks") or {}
    agreement, uar_change = checks.get("int8_top_class_agreement"), checks.get("int8_uar_change")
    if agreement is None or uar_change is None:
        return "no INT8 parity checks were recorded at export"
    if not agreement >= INT8_MIN_TOP_CLASS_AGREEMENT:
        return (f"INT8 top-class agreement {agreement:.1%} with FP32 is below "
                f"{INT8_MIN_TOP_CLASS_AGREEMENT:.0%}")
    if not abs(uar_change) <= INT8_MAX_UAR_CHANGE:
        return f"INT8 UAR change {uar_change:+.3f} is outside ±{INT8_MAX_UAR_CHANGE:.2f}"
    return None


class EmotionRunner:
    """One registered version loaded for inference on one runtime (INT8 ONNX graph or FP32 torch)."""

    def __init__(self, *, version: str, labels: Sequence[str], runtime: dict, forward) -> None:
        self.version, self.labels, self.runtime = version, tuple(labels), runtime
        self._forward = forward

    @property
    def precision(self) -> str:
        return self.runtime["precision"]

    def windows(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posteriors ``(n, k)`` and embeddings ``(n, d)`` of log-mel windows ``(n, 200, 64)``."""
        return self._forward(np.ascontiguousarray(windows, dtype=np.float32))

    def analyse(self, samples: np.ndarray, *, sr: int = SAMPLE_RATE_HZ,
                speech_intervals: Sequence[tuple[float, float]] | None = None) -> EmotionResult:
        """Emotion posteriors over 2-s / 0.5-s windows of the speech (see :func:`analyse_emotion`)."""
        if sr != SAMPLE_RATE_HZ:
            raise VoiceFeaturesError(f"Emotion analysis needs 16 kHz audio, got {sr} Hz.", code="bad_rate")
        speech = join_speech(samples, sr=sr, speech_intervals=speech_intervals)
        if speech.size == 0:
            raise VoiceFeaturesError("There is no speech to analyse.", code="no_speech")
        windows, starts = sliding_windows(log_mel(speech))
        posteriors, embedding = self.windows(windows)
        return EmotionResult(
            labels=self.labels,
            window_starts_s=starts,
            window_posteriors=posteriors,
            mean_posterior=posteriors.mean(axis=0),
            embedding=embedding.mean(axis=0),
            model_version=self.version,
            runtime=dict(self.runtime),
        )


def _torch_runner(root: Path, version: str, labels: Sequence[str], fallback_reason: str | None) -> EmotionRunner:
    model = registry.load_model(root, version)

    def forward(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            embedding = model.embed(torch.from_numpy(windows))
            return torch.softmax(model.classifier(embedding), dim=-1).numpy(), embedding.numpy()

    runtime = {"engine": "torch", "precision": "fp32", "graph": "model.pt", "engine_version": torch.__version__,
               "fallback_reason": fallback_reason}
    return EmotionRunner(version=version, labels=labels or model.config.labels, runtime=runtime, forward=forward)


def _onnx_runner(root: Path, version: str, metadata: dict, *, graph: str, precision: str,
                 fallback_reason: str | None) -> EmotionRunner:
    """An ONNX Runtime runner of one registered graph; raises VoiceFeaturesError (with the reason) if it cannot serve."""
    path = registry.verified_file(root, version, graph, metadata=metadata)
    try:
        import onnxruntime

        # start-up: ONNX Runtime loads only with an active model
        from voice_features.emotion.quantize import onnx_session

        session = onnx_session(path, threads=1)
    except Exception as exc:  # a missing or broken ONNX Runtime, or a graph it cannot load: fall back
        raise VoiceFeaturesError(f"ONNX Runtime could not load {graph} ({type(exc).__name__}).",
                                 code="onnx_unavailable") from exc

    def forward(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        posteriors, embedding = session.run(["posteriors", "embedding"], {"logmel": windows})
        return posteriors, embedding

    runtime = {"engine": "onnxruntime", "precision": precision, "graph": graph,
               "engine_version": onnxruntime.__version__, "fallback_reason": fallback_reason}
    return EmotionRunner(version=version, labels=metadata["labels"], runtime=runtime, forward=forward)


def load_runner(registry_dir: Path | str, version: str, *, int8: bool = True, onnx: bool = True) -> EmotionRunner:
    """Load ``version`` for inference, the first runtime that can serve it of:

    1. its INT8 ONNX graph (when ``int8`` and its parity checks passed, :func:`int8_parity_failure`);
    2. its FP32 ONNX graph (when ``onnx``; export refused graphs differing from torch by > 1e-4);
    3. the FP32 torch model.

    Each graph must exist and match its registered digest. ``runtime["fallback_reason"]`` says
    why the INT8 graph is not serving.
    """
    root = Path(registry_dir)
    metadata = registry.read_metadata(root, version)
    reason = "FP32 requested"
    if int8:
        try:
            failure = int8_parity_failure(metadata)
            if failure:
                raise VoiceFeaturesError(failure, code="int8_parity")
            runner = _onnx_runner(root, version, metadata, graph=INT8_GRAPH, precision="int8", fallback_reason=None)
        except VoiceFeaturesError as exc:
            reason = str(exc)
        else:
            log.info("emotion model %s serves from its INT8 ONNX graph", version)
            return runner
    if onnx:
        try:
            runner = _onnx_runner(root, version, metadata, graph=FP32_GRAPH, precision="fp32", fallback_reason=reason)
        except VoiceFeaturesError as exc:
            reason = f"{reason}; {exc}"
        else:
            log.warning("emotion model %s serves from its FP32 ONNX graph: %s", version, reason)
            return runner
    log.warning("emotion model %s serves in FP32 (torch): %s", version, reason)
    return _torch_runner(root, version, metadata.get("labels") or (), reason)


def resolve_registry(registry_dir: Path | str | None = None) -> Path | None:
    """``registry_dir``, else ``$CADENCE_EMOTION_REGISTRY``, else None."""
    if registry_dir is not None:
        return Path(registry_dir)
    env = os.environ.get(REGISTRY_ENV)
    return Path(env) if env else None


def emotion_stage_status(registry_dir: Path | str | None = None) -> str:
    """``"off"`` when no model is active, else the active model's version."""
    return registry.active_version(resolve_registry(registry_dir)) or "off"


def _active_runner(root: Path | None) -> EmotionRunner | None:
    version = registry.active_version(root)
    if version is None:
        return None
    key = (str(root.resolve()), version)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = load_runner(root, version)
    return _cache[key]


def analyse_emotion(
    samples: np.ndarray,
    *,
    sr: int = SAMPLE_RATE_HZ,
    speech_intervals: Sequence[tuple[float, float]] | None = None,
    registry_dir: Path | str | None = None,
) -> EmotionResult | None:
    """Emotion posteriors over 2-s / 0.5-s windows of the speech, or None if the stage is off.

    The active model runs from its INT8 ONNX graph when that passed its parity checks, else
    in FP32 (:func:`load_runner`; ``EmotionResult.runtime`` says which). The loaded model is cached per process.

    Parameters
    ----------
    samples : np.ndarray, shape (n,)
        Mono 16-kHz audio, full scale ±1.
    sr : int
        Must be 16 000.
    speech_intervals : sequence of (start_s, end_s), optional
        Speech regions (seconds); None uses the whole signal.
    registry_dir : path, optional
        Model registry; defaults to ``$CADENCE_EMOTION_REGISTRY``.
    """
    runner = _active_runner(resolve_registry(registry_dir))
    if runner is None:
        return None
    return runner.analyse(samples, sr=sr, speech_intervals=speech_intervals)
