"""Static INT8 post-training quantisation of the exported SER graph (ONNX Runtime).

Dynamic quantisation (torch ``quantize_dynamic``) only touches the LSTM and linear
layers; the convolutions, where most of the arithmetic is, stay FP32 and nothing speeds
up. Here the FP32 ONNX graph is pre-processed (shape inference, BatchNorm folded into the
convolutions), then :func:`onnxruntime.quantization.quantize_static` computes activation
ranges on calibration log-mel windows from the training set and rewrites the whole
convolutional stack (Conv + ReLU + MaxPool) as INT8 operators (QLinearConv; ReLU folded
into the output range; MaxPool on INT8), so the activations stay INT8 from the first
convolution to the LSTM. Weights are symmetric INT8 and activations unsigned INT8, both
per tensor: on the reference machine per-channel weights and a QDQ graph were slower
than FP32 (MLAS's FP32 NCHWc convolutions are fast), while this layout is faster — the
benchmark (benchmarks/bench_emotion.py) prints the figures.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["OnnxClassifier", "onnx_session", "quantize_static_int8", "time_session"]

#: Operators quantised statically: the convolutional stack. The LSTM, attention and head stay
#: FP32 (ONNX Runtime quantises an LSTM only dynamically; the small tail gains nothing).
QUANTIZED_OPS = ("Conv", "Relu", "MaxPool")


class _WindowReader:
    """Feeds calibration windows to the quantiser in batches of ``batch``."""

    def __init__(self, windows: np.ndarray, *, batch: int = 8) -> None:
        self.batches = iter([windows[i:i + batch].astype(np.float32) for i in range(0, len(windows), batch)])

    def get_next(self) -> dict | None:
        batch = next(self.batches, None)
        return None if batch is None else {"logmel": batch}


def quantize_static_int8(fp32_path: Path, out_path: Path, *, calibration_windows: np.ndarray) -> Path:
    """Write a statically quantised INT8 copy of ``fp32_path`` calibrated on ``(n, frames, mels)`` windows."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    reader = type("Reader", (_WindowReader, CalibrationDataReader), {})(calibration_windows)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared), str(out_path), reader,
            quant_format=QuantFormat.QOperator, op_types_to_quantize=list(QUANTIZED_OPS),
            per_channel=False, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
        )
    return out_path


def onnx_session(path: Path, *, threads: int = 1):
    """A CPU inference session with full graph optimisation (fuses the QDQ pairs into INT8 kernels)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def time_session(session, inputs: np.ndarray, *, repeats: int = 20) -> float:
    """Median wall time of one run, seconds (after two warm-ups)."""
    feed = {"logmel": inputs.astype(np.float32)}
    for _ in range(2):
        session.run(None, feed)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


class OnnxClassifier:
    """An ONNX serving graph behind the ``model(logmel) -> scores`` call that the evaluation uses.

    Returns log-posteriors as a torch tensor, so ``softmax`` of them gives the graph's posteriors.
    """

    def __init__(self, path: Path, *, threads: int = 1) -> None:
        self.session = onnx_session(path, threads=threads)

    def eval(self) -> OnnxClassifier:
        return self

    def __call__(self, logmel):
        import torch

        posteriors = self.session.run(["posteriors"], {"logmel": np.asarray(logmel, dtype=np.float32)})[0]
        return torch.from_numpy(np.log(np.clip(posteriors, 1e-12, None)))
