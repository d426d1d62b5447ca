"""Live emotion inference per recording: FP32 torch, FP32 ONNX and INT8 ONNX (ONNX Runtime) runners.

    python benchmarks/bench_emotion_inference.py [--registry DIR] [--durations 10 30 60] [--rounds 3] [--repeats 20]

Times what a worker does for one recording once the speech intervals are known:
``EmotionRunner.analyse`` = join the speech, log-mel, 2-s / 0.5-s windows, one forward pass
of all windows, means. The three runners load the same registered version:
``load_runner(..., int8=False, onnx=False)`` (torch FP32, the last fallback and the path before
this change), ``load_runner(..., int8=False)`` (FP32 ONNX graph, the first fallback) and
``load_runner(...)`` (INT8 ONNX graph, the live path when parity passed); ONNX Runtime and torch
on one thread as in the workers (OMP_NUM_THREADS=1). Without ``--registry`` a student-size model is trained without a
teacher on the synthetic EMO-DB-layout corpus of the tests (15 epochs, seed 0; 15 s at load 2,
1–2 min at load 5–6, one core) in a temporary registry; with it, the active version of that registry is used.
Recordings are synthetic speech of the given durations (the corpus generator; only the
length matters for timing). ``--rounds`` rounds of ``--repeats`` interleaved runs (A, B, C,
then C, B, A) per duration, each timed by wall clock and by the calling thread's CPU
time; printed: median [IQR] in ms, the median of the paired per-run speed-ups, the 1-minute
load average, and the log-mel + windowing time (common to all three).
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.voice_features.emotion.synthetic_corpus import synthesise_utterance, write_emodb_corpus  # noqa: E402
from voice_features.emotion import inference, registry  # noqa: E402
from voice_features.emotion.features import log_mel, sliding_windows  # noqa: E402
from voice_features.emotion.train import TrainConfig, train_and_register  # noqa: E402


def _recording(seconds: float, rng: np.random.Generator) -> np.ndarray:
    parts, total = [], 0
    while total < seconds * 16_000:
        parts.append(synthesise_utterance("NWTF"[len(parts) % 4], "10", rng))
        total += parts[-1].size
    return np.concatenate(parts)[: int(seconds * 16_000)].astype(np.float32)


def _timed(fn, *args) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.thread_time()
    fn(*args)
    return time.perf_counter() - wall, time.thread_time() - cpu


def _iqr(values) -> str:
    q1, q2, q3 = 1000 * np.percentile(values, [25, 50, 75])
    return f"{q2:7.1f} [{q1:.1f}–{q3:.1f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", type=Path, help="use this registry's active model instead of training one")
    parser.add_argument("--durations", type=float, nargs="+", default=[10.0, 30.0, 60.0], help="seconds of speech")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=20, help="interleaved runs per round")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.registry
        if root is None:
            root = Path(tmp) / "registry"
            started = time.perf_counter()
            train_and_register(write_emodb_corpus(Path(tmp) / "corpus", seed=0), layout="emodb", registry_dir=root,
                               config=TrainConfig(epochs=15, seed=0, distill=False), progress=False, log=lambda _: None)
            print(f"trained a student-size model without a teacher in {time.perf_counter() - started:.0f} s")
        version = registry.active_version(root)
        if version is None:
            sys.exit(f"no active emotion model in {root}")
        checks = registry.read_metadata(root, version)["export_checks"]
        runners = {"FP32 torch": inference.load_runner(root, version, int8=False, onnx=False),
                   "FP32 ONNX": inference.load_runner(root, version, int8=False),
                   "INT8 ONNX": inference.load_runner(root, version)}
        print(f"{version}: INT8 parity top-class agreement {checks['int8_top_class_agreement']:.1%}, "
              f"UAR change {checks['int8_uar_change']:+.3f}; live runtime: {runners['INT8 ONNX'].runtime}")
        if runners["INT8 ONNX"].precision != "int8" or runners["FP32 ONNX"].runtime["engine"] != "onnxruntime":
            sys.exit("the INT8 graph is not servable for this version; nothing to compare")
        rng = np.random.default_rng(0)
        print(f"per recording, ms median [IQR]; {args.rounds} rounds × {args.repeats} interleaved runs; "
              "speed-up = FP32 torch / runner, median of paired runs (CPU time)")
        for seconds in args.durations:
            clip = _recording(seconds, rng)
            n_windows = len(sliding_windows(log_mel(clip))[0])
            fp32, int8 = runners["FP32 torch"].analyse(clip), runners["INT8 ONNX"].analyse(clip)
            same = int(np.argmax(fp32.mean_posterior)) == int(np.argmax(int8.mean_posterior))
            agree = np.mean(fp32.window_posteriors.argmax(1) == int8.window_posteriors.argmax(1))
            print(f"{seconds:g} s ({n_windows} windows): same top class {same}, window top-class agreement {agree:.1%}, "
                  f"max |Δp| {np.abs(fp32.window_posteriors - int8.window_posteriors).max():.4f}")
            names = list(runners)
            for round_ in range(1, args.rounds + 1):
                runs = {name: {"wall": [], "cpu": []} for name in runners}
                for i in range(args.repeats):
                    for name in (names if i % 2 == 0 else names[::-1]):
                        wall, cpu = _timed(runners[name].analyse, clip)
                        runs[name]["wall"].append(wall)
                        runs[name]["cpu"].append(cpu)
                features = [_timed(lambda x: sliding_windows(log_mel(x)), clip)[1] for _ in range(5)]
                print(f"  round {round_}, load {os.getloadavg()[0]:.2f}, log-mel + windows "
                      f"{1000 * np.median(features):.1f} ms CPU:")
                reference = np.asarray(runs["FP32 torch"]["cpu"])
                for name, run in runs.items():
                    speed = "" if name == "FP32 torch" else f"  ×{np.median(reference / np.asarray(run['cpu'])):.2f}"
                    print(f"    {name:<11} CPU {_iqr(run['cpu'])}  wall {_iqr(run['wall'])}{speed}")
                print(f"    INT8 ONNX vs FP32 ONNX: ×{np.median(np.asarray(runs['FP32 ONNX']['cpu']) / np.asarray(runs['INT8 ONNX']['cpu'])):.2f} (CPU)")

if __name__ == "__main__":
    main()
