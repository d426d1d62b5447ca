"""How long the upload's header probe takes on a normal WAV and on hostile ones (target: < 50 ms each).

    python benchmarks/bench_probe.py [--megabytes 34]

The hostile files are the ones the upload path must refuse at once: a WAV of millions of empty
chunks (it held a web request for 64 s before the chunk walk was bounded) and a truncated WAV.
"""

import argparse
import io
import struct
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voice_features.audio import probe_audio  # noqa: E402
from voice_features.errors import VoiceFeaturesError  # noqa: E402


def _wav(seconds: float) -> bytes:
    t = np.arange(int(seconds * 16000)) / 16000
    buf = io.BytesIO()
    sf.write(buf, 0.3 * np.sin(2 * np.pi * 150 * t), 16000, subtype="PCM_16", format="WAV")
    return buf.getvalue()


def _chunk_bomb(megabytes: int) -> bytes:
    wav = _wav(4.0)
    fmt_end = 12 + 8 + struct.unpack("<I", wav[16:20])[0]
    body = wav[12:fmt_end] + b"junk\0\0\0\0" * (megabytes * 1024 * 1024 // 8) + wav[fmt_end:]
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


def _time(data: bytes, repeats: int = 5) -> tuple[float, str]:
    best, outcome = float("inf"), ""
    for _ in range(repeats):
        started = time.perf_counter()
        try:
            info = probe_audio(io.BytesIO(data))
            outcome = f"accepted ({info.duration_s:.1f} s)"
        except VoiceFeaturesError as exc:
            outcome = f"refused: {exc.code}"
        best = min(best, time.perf_counter() - started)
    return best, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=34)
    args = parser.parse_args()
    normal = _wav(60.0)
    cases = {"60-s WAV": normal, f"{args.megabytes} MB of empty chunks": _chunk_bomb(args.megabytes),
             "truncated WAV": normal[: len(normal) // 2]}
    for name, data in cases.items():
        seconds, outcome = _time(data)
        print(f"{name:28s} {len(data) / 1e6:7.1f} MB  {seconds * 1000:8.2f} ms  {outcome}")


if __name__ == "__main__":
    main()
