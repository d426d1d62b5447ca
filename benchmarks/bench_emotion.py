"""Speech-emotion recipe: teacher vs distilled student, FP32 vs static INT8 (ONNX Runtime).

    python benchmarks/bench_emotion.py [--epochs 15] [--teacher-epochs 15] [--threads 1] [--batch 16]
                                       [--rounds 5] [--repeats 200]

Trains a teacher (every layer twice as wide) and a distilled student on a small
synthetic EMO-DB-layout corpus whose classes differ only in prosody (the same generator
the tests use; no licensed corpus is needed, and the UARs are NOT emotion-recognition
results), then prints for each: held-out-speaker UAR, parameters, FP32 weight size and
the torch time of a batch of 16 two-second windows, and the UAR of the student's
architecture trained without a teacher (does distillation help on this corpus?); then for the student's FP32 ONNX
graph, its INT8 graph (first conv block FP32, other conv blocks static INT8, LSTM dynamic
INT8) and the earlier INT8 layout (every convolution static INT8, LSTM FP32): file size,
UAR, parity, and ``--rounds`` rounds of ``--repeats`` interleaved runs each
(FP32, INT8, earlier, then reversed; a burst of load from other processes hits all alike)
with the 1-minute load average, the median and interquartile range of the wall time and of
the thread CPU time, and the median of the per-run paired speed-ups; last, an ONNX Runtime
profile of each graph, time per operator type. Target: INT8 faster than FP32 (speed-up > 1)
with UAR change within ±0.05 and the same top class.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.voice_features.emotion.synthetic_corpus import write_emodb_corpus  # noqa: E402
from voice_features.emotion import export  # noqa: E402
from voice_features.emotion.corpora import read_corpus  # noqa: E402
from voice_features.emotion.evaluate import evaluate_model  # noqa: E402
from voice_features.emotion.features import log_mel, sliding_windows  # noqa: E402
from voice_features.emotion.quantize import OnnxClassifier, ab_timings, onnx_session, quantize_static_int8  # noqa: E402
from voice_features.emotion.train import (  # noqa: E402
    TrainConfig,
    distillation_report,
    load_waveform,
    speaker_split,
    train_model,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--teacher-epochs", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=16, help="windows per run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=200, help="interleaved runs per round")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        utterances = read_corpus(write_emodb_corpus(tmp / "corpus", seed=0), layout="emodb")
        labels = sorted({u.label for u in utterances})
        train_idx, test_idx = speaker_split([u.speaker for u in utterances], [u.label for u in utterances],
                                            test_fraction=0.2, seed=0)
        waves = [load_waveform(u.path) for u in utterances]
        targets = [labels.index(u.label) for u in utterances]
        train_w, train_y = [waves[i] for i in train_idx], [targets[i] for i in train_idx]
        test_w, test_y = [waves[i] for i in test_idx], [targets[i] for i in test_idx]
        config = TrainConfig(epochs=args.epochs, seed=0)
        started = time.perf_counter()
        teacher, _ = train_model(train_w, train_y, labels=labels, progress=False, width=config.teacher_width,
                                 config=TrainConfig(epochs=args.teacher_epochs, seed=0))
        student, _ = train_model(train_w, train_y, labels=labels, config=config, progress=False, teacher=teacher)
        direct, _ = train_model(train_w, train_y, labels=labels, config=config, progress=False)
        print(f"corpus: {len(train_w)} training / {len(test_w)} held-out utterances, {len(labels)} classes; "
              f"teacher, student and a directly trained baseline trained in {time.perf_counter() - started:.0f} s")
        report = distillation_report(teacher, student, test_w, test_y, labels=labels,
                                     student_metrics=evaluate_model(student, test_w, test_y, labels=labels))
        print(f"\n{'model':<10}{'UAR':>7}{'params':>11}{'FP32 MB':>9}{'torch ms/16 win':>17}")
        for role in ("teacher", "student"):
            r = report[role]
            print(f"{role:<10}{r['uar']:>7.3f}{r['parameters']:>11,}{r['fp32_bytes'] / 1e6:>9.2f}"
                  f"{1000 * r['forward_s_16_windows']:>17.1f}")
        print(f"(the student's architecture trained without a teacher: UAR "
              f"{evaluate_model(direct, test_w, test_y, labels=labels)['uar']:.3f})")

        fp32_path = export.export_onnx(student, tmp / "student.onnx")
        calibration = export.calibration_windows(train_w)
        paths = {"FP32": fp32_path,
                 "INT8": quantize_static_int8(fp32_path, tmp / "student_int8.onnx", calibration_windows=calibration),
                 "INT8 earlier": quantize_static_int8(fp32_path, tmp / "student_int8_all_convs.onnx",
                                                      calibration_windows=calibration, skip_first_block=False,
                                                      dynamic_lstm=False)}
        windows = np.concatenate([sliding_windows(log_mel(w))[0] for w in test_w[:8]])
        batch = np.resize(windows, (args.batch, *windows.shape[1:]))
        sessions = {name: onnx_session(path, threads=args.threads) for name, path in paths.items()}
        posteriors = {name: s.run(["posteriors"], {"logmel": windows})[0] for name, s in sessions.items()}
        uar = {name: evaluate_model(OnnxClassifier(path, threads=args.threads), test_w, test_y, labels=labels)["uar"]
               for name, path in paths.items()}
        print(f"\n{'student graph':<14}{'MB':>6}{'UAR':>7}{'UAR change':>12}{'max |Δp|':>10}{'top-class agree':>17}")
        for name, path in paths.items():
            diff = np.abs(posteriors[name] - posteriors["FP32"])
            agree = np.mean(posteriors[name].argmax(1) == posteriors["FP32"].argmax(1))
            print(f"{name:<14}{path.stat().st_size / 1e6:>6.2f}{uar[name]:>7.3f}{uar[name] - uar['FP32']:>+12.3f}"
                  f"{diff.max():>10.4f}{agree:>16.1%} ({len(windows)} windows)")

        def iqr(x):
            q1, q2, q3 = 1000 * np.percentile(x, [25, 50, 75])
            return f"{q2:6.2f} [{q1:.2f}–{q3:.2f}]"

        print(f"\nONNX Runtime, {args.threads} thread(s), {args.batch} windows per run, {args.rounds} rounds × "
              f"{args.repeats} interleaved runs; ms median [IQR]; speed-up = FP32 / graph, median [IQR] of paired runs")
        summary = defaultdict(list)
        for round_ in range(1, args.rounds + 1):
            timings = ab_timings(sessions, batch, repeats=args.repeats)
            print(f"round {round_}, load average {os.getloadavg()[0]:.2f}:")
            for name, t in timings.items():
                speed = {k: timings["FP32"][k] / t[k] for k in ("wall", "cpu")}
                summary[name].append(float(np.median(timings["FP32"]["cpu"]) / np.median(t["cpu"])))
                print(f"  {name:<13} wall {iqr(t['wall'])}  CPU {iqr(t['cpu'])}" + (
                    "" if name == "FP32" else
                    "  speed-up wall ×{:.2f} [{:.2f}–{:.2f}], CPU ×{:.2f} [{:.2f}–{:.2f}]".format(
                        *np.percentile(speed["wall"], [50, 25, 75]), *np.percentile(speed["cpu"], [50, 25, 75]))))
        for name in ("INT8", "INT8 earlier"):
            print(f"{name} CPU-time speed-up per round: " + ", ".join(f"×{v:.2f}" for v in summary[name]))

        print("\nONNX Runtime profile (50 runs each, wall time, not interleaved: read the shares, not the totals; "
              "ms per run by operator type and share of the graph's kernel time):")
        for name, path in paths.items():
            session = onnx_session(path, threads=args.threads, profile_prefix=str(tmp / "profile"))
            for _ in range(50):
                session.run(None, {"logmel": batch.astype(np.float32)})
            by_op = defaultdict(float)
            for event in json.loads(Path(session.end_profiling()).read_text()):
                if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
                    by_op[event["args"]["op_name"]] += event["dur"] / 50 / 1000
            total = sum(by_op.values())
            top = sorted(by_op.items(), key=lambda kv: -kv[1])[:6]
            print(f"  {name:<13} {total:5.2f} ms: " + ", ".join(f"{op} {ms:.2f} ({ms / total:.0%})" for op, ms in top))

if __name__ == "__main__":
    main()
