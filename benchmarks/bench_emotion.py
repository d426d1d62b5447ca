"""Speech-emotion recipe: teacher vs distilled student, FP32 vs static INT8 (ONNX Runtime).

    python benchmarks/bench_emotion.py [--epochs 15] [--teacher-epochs 15] [--threads 1] [--repeats 30]

Trains a teacher (every layer twice as wide) and a distilled student on a small
synthetic EMO-DB-layout corpus whose classes differ only in prosody (the same generator
the tests use; no licensed corpus is needed, and the UARs are NOT emotion-recognition
results), then prints for each: held-out-speaker UAR, parameters, FP32 weight size and
the torch time of a batch of 16 two-second windows, and the UAR of the student's
architecture trained without a teacher (does distillation help on this corpus?); then for the student's FP32 ONNX
graph and its static INT8 graph: file size, ONNX Runtime time of the same batch (median
of ``--repeats``), the speed-up, the largest posterior difference, top-class agreement
and UAR. Target: INT8 faster than FP32 (speed-up > 1) with UAR change within ±0.05.
"""

import argparse
import sys
import tempfile
import time
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
from voice_features.emotion.quantize import OnnxClassifier, onnx_session, quantize_static_int8, time_session  # noqa: E402
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
    parser.add_argument("--repeats", type=int, default=30)
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
        int8_path = quantize_static_int8(fp32_path, tmp / "student_int8.onnx",
                                         calibration_windows=export.calibration_windows(train_w))
        windows = np.concatenate([sliding_windows(log_mel(w))[0] for w in test_w[:8]])
        batch = np.resize(windows, (16, *windows.shape[1:]))
        fp32, int8 = onnx_session(fp32_path, threads=args.threads), onnx_session(int8_path, threads=args.threads)
        # Interleave the timings so load from other processes hits both alike.
        fp32_s, int8_s = [], []
        for _ in range(3):
            fp32_s.append(time_session(fp32, batch, repeats=args.repeats))
            int8_s.append(time_session(int8, batch, repeats=args.repeats))
        fp32_post = fp32.run(["posteriors"], {"logmel": windows})[0]
        int8_post = int8.run(["posteriors"], {"logmel": windows})[0]
        uar_fp32 = evaluate_model(OnnxClassifier(fp32_path), test_w, test_y, labels=labels)["uar"]
        uar_int8 = evaluate_model(OnnxClassifier(int8_path), test_w, test_y, labels=labels)["uar"]
        print(f"\n{'student graph':<16}{'UAR':>7}{'MB':>7}{'ORT ms/16 win':>15}")
        print(f"{'FP32 ONNX':<16}{uar_fp32:>7.3f}{fp32_path.stat().st_size / 1e6:>7.2f}{1000 * min(fp32_s):>15.1f}")
        print(f"{'INT8 ONNX':<16}{uar_int8:>7.3f}{int8_path.stat().st_size / 1e6:>7.2f}{1000 * min(int8_s):>15.1f}")
        print(f"\nINT8 speed-up x{min(fp32_s) / min(int8_s):.2f} (best of 3 medians; all: FP32 "
              f"{', '.join(f'{1000 * s:.1f}' for s in fp32_s)} ms, INT8 {', '.join(f'{1000 * s:.1f}' for s in int8_s)} ms)")
        print(f"parity: max |posterior diff| {np.max(np.abs(int8_post - fp32_post)):.4f}, top-class agreement "
              f"{np.mean(int8_post.argmax(1) == fp32_post.argmax(1)):.1%} on {len(windows)} windows, "
              f"UAR change {uar_int8 - uar_fp32:+.3f}")


if __name__ == "__main__":
    main()
