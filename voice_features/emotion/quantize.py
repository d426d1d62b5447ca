"""INT8 post-training quantisation of the exported SER graph (ONNX Runtime).

Where the time goes (ONNX Runtime profiler, one thread, 16 windows, FP32): the three
convolutions ~65 %, the BiLSTM ~15–20 %, the first MaxPool ~5–10 %, the rest (attention,
head, normalisation) < 5 %. What INT8 does to each, measured on this graph:

* the first convolution has **one** input channel: as ``QLinearConv`` it is 3–4× *slower*
  than MLAS's FP32 NCHWc kernel (there is nothing to pack into the INT8 dot products),
  and it made the whole INT8 graph slower than FP32 (×0.85–1.20, the earlier layout);
* the second and third convolutions (16→32, 32→64 channels) are ~3× faster as
  ``QLinearConv`` (activations stay INT8 through ReLU and MaxPool, NHWC kernels);
* the BiLSTM is ~2.5× faster as ``DynamicQuantizeLSTM`` (INT8 weights, activations
  quantised per call);
* the attention and head matrices are too small to gain anything.

So :func:`quantize_static_int8` keeps the first block (Conv, ReLU, MaxPool) in FP32,
quantises the other convolutional blocks **statically** (activation ranges calibrated on
training windows; weights symmetric INT8, activations unsigned INT8, per tensor;
``QOperator`` format) and then the LSTM **dynamically**. The session must be created
with :func:`onnx_session`: ONNX Runtime's ``QDQPropagationTransformer`` would otherwise
move the first ``QuantizeLinear`` above the FP32 MaxPool, turning it into a generic
UINT8 NCHW MaxPool that alone costs more than the whole FP32 graph.
The benchmark (benchmarks/bench_emotion.py) prints the figures; docs/emotion.md keeps them.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["OnnxClassifier", "ab_timings", "int8_nodes", "onnx_session", "quantize_static_int8"]

#: Operators of the convolutional blocks quantised statically (all but the first block).
QUANTIZED_OPS = ("Conv", "Relu", "MaxPool")
#: Operators quantised dynamically on top (INT8 weights; ONNX Runtime quantises an LSTM only dynamically).
DYNAMIC_OPS = ("LSTM",)
#: Graph rewrite that must stay off for the INT8 graph (see the module docstring).
DISABLED_OPTIMIZERS = ("QDQPropagationTransformer",)


class _WindowReader:
    """Feeds calibration windows to the quantiser in batches of ``batch``."""

    def __init__(self, windows: np.ndarray, *, batch: int = 8) -> None:
        self.batches = iter([windows[i:i + batch].astype(np.float32) for i in range(0, len(windows), batch)])

    def get_next(self) -> dict | None:
        batch = next(self.batches, None)
        return None if batch is None else {"logmel": batch}


def int8_nodes(graph, *, skip_first_block: bool = True) -> list[str]:
    """Names of the Conv/ReLU/MaxPool nodes to quantise statically: the convolutional stack.

    The stack runs from the first Conv to the last MaxPool (the head's ReLU is outside it).
    With ``skip_first_block`` the nodes before the second Conv stay FP32.
    """
    nodes = list(graph.node)
    convs = [i for i, node in enumerate(nodes) if node.op_type == "Conv"]
    pools = [i for i, node in enumerate(nodes) if node.op_type == "MaxPool"]
    if not convs or not pools:
        raise ValueError("the graph has no convolutional stack to quantise")
    start = convs[1] if skip_first_block and len(convs) > 1 else convs[0]
    return [node.name for node in nodes[start:pools[-1] + 1] if node.op_type in QUANTIZED_OPS]


def quantize_static_int8(fp32_path: Path, out_path: Path, *, calibration_windows: np.ndarray,
                         skip_first_block: bool = True, dynamic_lstm: bool = True) -> Path:
    """Write an INT8 copy of ``fp32_path`` calibrated on ``(n, frames, mels)`` training windows.

    Default layout: first conv block FP32, the others static INT8, the LSTM dynamic INT8.
    ``skip_first_block=False, dynamic_lstm=False`` gives the earlier all-convolutions layout
    (kept for the benchmark's comparison).
    """
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    reader = type("Reader", (_WindowReader, CalibrationDataReader), {})(calibration_windows)
    with tempfile.TemporaryDirectory() as tmp:
        prepared, static = Path(tmp) / "prepared.onnx", Path(tmp) / "static.onnx"
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared), str(static if dynamic_lstm else out_path), reader,
            quant_format=QuantFormat.QOperator, op_types_to_quantize=list(QUANTIZED_OPS),
            nodes_to_quantize=int8_nodes(onnx.load(str(prepared)).graph, skip_first_block=skip_first_block),
            per_channel=False, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
        )
        if dynamic_lstm:
            quantize_dynamic(str(static), str(out_path), op_types_to_quantize=list(DYNAMIC_OPS),
                             weight_type=QuantType.QInt8)
    return out_path


def onnx_session(path: Path, *, threads: int = 1, profile_prefix: str | None = None):
    """A CPU inference session: full graph optimisation except :data:`DISABLED_OPTIMIZERS`, sequential."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    if profile_prefix:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"],
                                        disabled_optimizers=list(DISABLED_OPTIMIZERS))


def ab_timings(sessions: dict, inputs: np.ndarray, *, repeats: int = 100) -> dict[str, dict[str, np.ndarray]]:
    """Interleaved timings of several sessions on the same input: A, B, …, then …, B, A, ``repeats`` times.

    Returns, per session, the ``wall`` and ``cpu`` seconds of every run. ``cpu`` is the calling
    thread's CPU time (``time.thread_time``): with one intra-op thread ONNX Runtime runs on
    the calling thread, so it excludes the time other processes hold the core, which the
    wall time includes. Interleaving makes a burst of load hit every session alike.
    """
    feed = {"logmel": inputs.astype(np.float32)}
    names = list(sessions)
    for name in names:
        for _ in range(3):
            sessions[name].run(None, feed)
    runs = {name: {"wall": [], "cpu": []} for name in names}
    for i in range(repeats):
        for name in names if i % 2 == 0 else reversed(names):
            wall, cpu = time.perf_counter(), time.thread_time()
            sessions[name].run(None, feed)
            cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
            runs[name]["wall"].append(wall)
            runs[name]["cpu"].append(cpu)
    return {name: {k: np.asarray(v) for k, v in r.items()} for name, r in runs.items()}


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
