"""Voice-embedding speed: seconds of compute per second of audio, on one core.

    python benchmarks/bench_embedding.py [--durations 60 600] [--repeats 3]

Embeds synthetic voiced audio (a harmonic tone with vibrato and noise; the encoder's
cost does not depend on content) with 2-s windows and a 0.5-s hop, after one warm-up.
Issue target: <= 0.006 s per audio second.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voice_features.embedding import embed_speech, load_encoder  # noqa: E402

SR = 16_000


def _audio(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * SR)) / SR
    phase = 2 * np.pi * np.cumsum(140 * (1 + 0.05 * np.sin(2 * np.pi * 3 * t))) / SR
    wave = sum(np.sin(k * phase) / k for k in range(1, 15)) + 0.05 * rng.standard_normal(t.size)
    return (0.1 * wave).astype(np.float32)


def bench(durations: list[float], repeats: int) -> list[dict]:
    load_encoder()  # sets torch to one thread
    torch.set_num_threads(1)
    embed_speech(_audio(5))
    rows = []
    for seconds in durations:
        audio = _audio(seconds)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            result = embed_speech(audio, sr=SR)
            times.append(time.perf_counter() - start)
        best = min(times)
        rows.append(
            {"audio_s": seconds, "n_windows": result.n_windows, "best_s": best, "s_per_audio_s": best / seconds}
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--durations", type=float, nargs="+", default=[60.0, 600.0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = bench(args.durations, args.repeats)
    if args.json:
        print(json.dumps(rows, indent=2))
    for row in rows:
        print(
            f"{row['audio_s']:>6.0f} s audio: {row['n_windows']:>5} windows, {row['best_s']:.3f} s "
            f"-> {row['s_per_audio_s']:.4f} s per audio second (torch threads {torch.get_num_threads()})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
