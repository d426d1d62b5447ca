"""Export of a trained SER model: TorchScript, ONNX (checked against onnxruntime), static INT8 ONNX.

Every exported graph is the :class:`ServingModule`: raw log-mel windows
``(batch, 200, 64)`` in; class posteriors ``(batch, k)`` and the emotion embedding
``(batch, d)`` out. The INT8 graph (first conv block FP32, the other conv blocks static
INT8, the LSTM dynamic INT8) is described in :mod:`voice_features.emotion.quantize`.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from voice_features.emotion.evaluate import evaluate_model
from voice_features.emotion.features import N_MELS, WINDOW_FRAMES, log_mel, sliding_windows
from voice_features.emotion.quantize import OnnxClassifier, ab_timings, onnx_session, quantize_static_int8

__all__ = [
    "ServingModule",
    "ExportResult",
    "export_torchscript",
    "export_onnx",
    "onnx_max_abs_diff",
    "calibration_windows",
    "time_forward",
    "export_all",
]


class ServingModule(nn.Module):
    """Posteriors and emotion embedding of a CRNN, as one graph."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model.eval()

    def forward(self, logmel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        embedding = self.model.embed(logmel)
        return torch.softmax(self.model.classifier(embedding), dim=-1), embedding


@dataclass
class ExportResult:
    """Files written and the parity / speed checks measured while writing them."""

    paths: list[Path]
    checks: dict


def _example(batch: int = 2) -> torch.Tensor:
    return torch.randn(batch, WINDOW_FRAMES, N_MELS, generator=torch.Generator().manual_seed(0)) - 5.0


def export_torchscript(model: nn.Module, path: Path) -> Path:
    """Trace the serving graph to a TorchScript file."""
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit is deprecated upstream but still supported in 2.x
        torch.jit.trace(ServingModule(model), _example()).save(str(path))
    return path


def export_onnx(model: nn.Module, path: Path) -> Path:
    """Export the serving graph to ONNX (opset 17) with a dynamic batch axis."""
    with torch.no_grad(), warnings.catch_warnings():
        # The torch.export-based exporter needs onnxscript; the TorchScript one covers LSTM well.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            ServingModule(model),
            (_example(),),
            str(path),
            dynamo=False,
            opset_version=17,
            input_names=["logmel"],
            output_names=["posteriors", "embedding"],
            dynamic_axes={"logmel": {0: "batch"}, "posteriors": {0: "batch"}, "embedding": {0: "batch"}},
        )
    return path


def onnx_max_abs_diff(model: nn.Module, onnx_path: Path, inputs: np.ndarray) -> float:
    """Largest absolute difference of posteriors and embedding, onnxruntime vs torch."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    onnx_out = session.run(None, {"logmel": inputs.astype(np.float32)})
    with torch.no_grad():
        torch_out = ServingModule(model)(torch.from_numpy(inputs.astype(np.float32)))
    return float(max(np.max(np.abs(a - b.numpy())) for a, b in zip(onnx_out, torch_out)))


def calibration_windows(waves: Sequence[np.ndarray], *, max_windows: int = 256, seed: int = 0) -> np.ndarray:
    """Up to ``max_windows`` log-mel windows drawn from ``waves`` (the training set) for INT8 calibration."""
    windows = np.concatenate([sliding_windows(log_mel(w))[0] for w in waves])
    if len(windows) > max_windows:
        windows = windows[np.sort(np.random.default_rng(seed).choice(len(windows), max_windows, replace=False))]
    return windows


def time_forward(model: nn.Module, inputs: torch.Tensor, *, repeats: int = 10) -> float:
    """Median wall time of one forward pass, seconds (after one warm-up)."""
    with torch.inference_mode():
        model(inputs)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(inputs)
            times.append(time.perf_counter() - start)
    return float(np.median(times))


def export_all(
    model: nn.Module,
    out_dir: Path,
    *,
    test_waves: Sequence[np.ndarray],
    test_targets: Sequence[int],
    labels: Sequence[str],
    calibration_waves: Sequence[np.ndarray],
) -> ExportResult:
    """Write ``model.ts``, ``model.onnx`` and ``model_int8.onnx``; measure parity and speed-up.

    The INT8 graph is calibrated on ``calibration_waves`` (training utterances, never the
    test set). Checks: ONNX-vs-torch max |Δ| on the test windows (must be ≤ 1e-4); INT8
    vs FP32 ONNX posteriors (max |Δ|, top-class agreement) on the same windows; INT8 UAR
    minus FP32 UAR on the test utterances; FP32 / INT8 ONNX Runtime time of a batch of
    16 windows on one thread, interleaved (:func:`ab_timings`): medians of wall and
    thread-CPU time, the speed-up being the ratio of the CPU-time medians.
    """
    model.eval()
    windows = np.concatenate([sliding_windows(log_mel(w))[0] for w in test_waves[:8]])
    ts_path = export_torchscript(model, out_dir / "model.ts")
    onnx_path = export_onnx(model, out_dir / "model.onnx")
    diff = onnx_max_abs_diff(model, onnx_path, windows)
    if diff > 1e-4:
        raise RuntimeError(f"ONNX export differs from torch by {diff:.2e} (> 1e-4)")
    int8_path = quantize_static_int8(onnx_path, out_dir / "model_int8.onnx",
                                     calibration_windows=calibration_windows(calibration_waves))
    fp32_session, int8_session = onnx_session(onnx_path), onnx_session(int8_path)
    fp32_post = fp32_session.run(["posteriors"], {"logmel": windows})[0]
    int8_post = int8_session.run(["posteriors"], {"logmel": windows})[0]
    fp32_uar = evaluate_model(model, test_waves, test_targets, labels=labels)["uar"]
    int8_uar = evaluate_model(OnnxClassifier(int8_path), test_waves, test_targets, labels=labels)["uar"]
    batch = np.resize(windows, (16, *windows.shape[1:]))
    timings = ab_timings({"fp32": fp32_session, "int8": int8_session}, batch, repeats=30)
    fp32_s, int8_s = (float(np.median(timings[k]["wall"])) for k in ("fp32", "int8"))
    fp32_cpu, int8_cpu = (float(np.median(timings[k]["cpu"])) for k in ("fp32", "int8"))
    checks = {
        "onnx_max_abs_diff": diff,
        "int8_max_abs_diff": float(np.max(np.abs(int8_post - fp32_post))),
        "int8_top_class_agreement": float(np.mean(int8_post.argmax(1) == fp32_post.argmax(1))),
        "fp32_uar": fp32_uar,
        "int8_uar": int8_uar,
        "int8_uar_change": int8_uar - fp32_uar,
        "fp32_forward_s_16_windows": fp32_s,
        "int8_forward_s_16_windows": int8_s,
        "fp32_cpu_s_16_windows": fp32_cpu,
        "int8_cpu_s_16_windows": int8_cpu,
        "int8_speedup": fp32_cpu / int8_cpu,
        "int8_speedup_wall": fp32_s / int8_s,
        "fp32_onnx_bytes": onnx_path.stat().st_size,
        "int8_onnx_bytes": int8_path.stat().st_size,
    }
    return ExportResult(paths=[ts_path, onnx_path, int8_path], checks=checks)
