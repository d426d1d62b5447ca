"""Benchmark: CPU time of the whole Cadence feature extraction against openSMILE eGeMAPSv02.

Usage::

    python benchmarks/bench_features.py [--lengths 60 600] [--memory-minutes 15] [--repeats 3]
                                        [--process-minutes 12]

Builds speech of each length (espeak-ng sentences joined by pauses, or the package's
synthetic voice when espeak-ng is missing), then measures on one core, in the same run and
on the same samples: CPU seconds per audio second (``time.process_time``, best of
``--repeats``) of ``voice_features.analyse`` and of openSMILE's eGeMAPSv02 functionals.
Whole processes (``--process-minutes`` of speech in one WAV, CPU time of each child,
start-up included): ``python -m voice_features --json`` (prosody, voice quality, embedding;
no Django), ``manage.py extract_features --json`` (the same records after Django's
start-up) and an openSMILE process, interleaved run by run so a change of load hits all
three; every run is printed, with the load average. Peak memory of a fresh process that
loads a 15-min file with ``load_audio`` and analyses it is read from the child's ``VmHWM``
(Linux). openSMILE is a benchmark-only dependency (``pip install opensmile``); its licence
keeps it out of the service.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, before numpy loads a BLAS

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voice_features import analyse  # noqa: E402
from voice_features.synth import speech_layout, synth_speech  # noqa: E402

SR = 16000
SENTENCES = (
    "The quick brown fox jumps over the lazy dog",
    "She sells sea shells by the sea shore",
    "My mother baked a lovely apple pie today",
    "We walked along the river in the morning",
    "Peter bought a new bicycle for his daughter",
    "The weather has been cold and grey all week",
    "I have not been sleeping very well lately",
    "Please remember to take your tablets with food",
    "The children played football in the park after school",
    "It is difficult to concentrate on anything for long",
)


def _espeak_sentences(folder: Path) -> list[np.ndarray]:
    out = []
    for i, text in enumerate(SENTENCES):
        path = folder / f"sentence{i}.wav"
        subprocess.run(["espeak-ng", "-w", str(path), "-s", "150", text], check=True, capture_output=True)
        x, sr = sf.read(path)
        loud = np.flatnonzero(np.abs(x) > 1e-3)
        g = gcd(SR, sr)
        out.append(resample_poly(x[loud[0]:loud[-1] + 1], SR // g, sr // g))
    return out


def build_speech(duration_s: float, folder: Path, *, seed: int = 0) -> tuple[np.ndarray, str]:
    """Speech of about ``duration_s`` seconds and a label of where it came from."""
    if shutil.which("espeak-ng"):
        sentences, rng = _espeak_sentences(folder), np.random.default_rng(seed)
        pieces, total = [np.zeros(SR // 2)], SR // 2
        while total < duration_s * SR:
            pieces += [sentences[rng.integers(len(sentences))], np.zeros(int(rng.uniform(0.3, 1.2) * SR))]
            total += pieces[-2].size + pieces[-1].size
        return np.concatenate(pieces)[: int(duration_s * SR)].astype(np.float32) * 0.9, "espeak-ng"
    runs, pauses = speech_layout(duration_s=duration_s, seed=seed)
    return synth_speech(run_durations_s=runs, pause_durations_s=pauses, seed=seed).samples, "synthetic"


def cpu_per_audio_s(fn, samples: np.ndarray, *, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        fn(samples)
        best = min(best, time.process_time() - start)
    return best / (samples.size / SR)


def _opensmile_fn():
    try:
        import opensmile
    except ImportError:
        return None
    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02, feature_level=opensmile.FeatureLevel.Functionals)
    return lambda x: smile.process_signal(x, SR)


_MEMORY_CHILD = """
import json, sys
sys.path.insert(0, {root!r})


def peak_mb():  # VmHWM belongs to this process image; ru_maxrss would carry the parent's over exec
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024


from voice_features import analyse
if {loader!r} == "load_audio":
    from voice_features.audio import load_audio
    audio = load_audio({path!r})
    samples, sr, clipping = audio.samples, audio.sample_rate, audio.clipping_fraction
else:
    import soundfile
    samples, sr = soundfile.read({path!r}, dtype="float32")
    clipping = None
loaded = peak_mb()
result = analyse(samples, sr=sr, clipping_fraction=clipping)
print(json.dumps({{"after_load_mb": loaded, "peak_mb": peak_mb()}}))
"""


def peak_memory_mb(path: Path, *, loader: str) -> dict:
    """Peak RSS (VmHWM, Linux) of a fresh process that loads ``path`` and analyses it, MB.

    ``loader`` is ``"load_audio"`` (the service's path) or ``"soundfile"`` (a plain read, to
    tell the analysis's own footprint from the decoder's).
    """
    code = _MEMORY_CHILD.format(root=str(Path(__file__).resolve().parents[1]), path=str(path), loader=loader)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=os.environ)
    return json.loads(out.stdout.strip().splitlines()[-1])


_SMILE_CHILD = """
import os, sys
import opensmile
smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02, feature_level=opensmile.FeatureLevel.Functionals)
print(smile.process_file(sys.argv[1]).shape)
"""


def _child_cpu_s(command: list[str]) -> float:
    """CPU seconds (user + system) of one child process run to completion, one thread."""
    import resource

    env = os.environ | {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, check=True, capture_output=True, env=env, cwd=Path(__file__).resolve().parents[1])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


PROCESSES = {
    "python -m voice_features --json (prosody + voice quality + embedding)": ["-m", "voice_features"],
    "manage.py extract_features --json (the same after Django start-up)": ["manage.py", "extract_features"],
}


def whole_processes(path: Path, *, repeats: int) -> dict[str, list[float]]:
    """CPU seconds of each run of the Cadence entry points and of openSMILE on ``path``, interleaved run by run."""
    commands = {label: [sys.executable, *args, str(path), "--json"] for label, args in PROCESSES.items()}
    commands["openSMILE eGeMAPSv02 functionals"] = [sys.executable, "-c", _SMILE_CHILD, str(path)]
    runs: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(repeats):
        for label, command in commands.items():
            runs[label].append(_child_cpu_s(command))
    return runs


def _load() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=float, nargs="*", default=[60.0, 600.0],
                        help="speech lengths of the in-process comparison, s (none = skip it)")
    parser.add_argument("--memory-minutes", type=float, default=15.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--process-minutes", type=float, default=12.0,
                        help="length of the whole-process comparison (Cadence entry points vs openSMILE), min; 0 = skip")
    args = parser.parse_args()
    smile = _opensmile_fn()
    if smile is None:
        print("openSMILE is NOT installed (pip install opensmile): its column is left empty.\n")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        warm, _ = build_speech(5.0, folder)
        analyse(warm, sr=SR)
        if smile:
            smile(warm)
        print(f"{'audio':>8} {'source':>10} {'cadence s/s':>12} {'openSMILE s/s':>14} {'ratio':>7}")
        for length in args.lengths:
            x, source = build_speech(length, folder, seed=int(length))
            ours = cpu_per_audio_s(lambda s: analyse(s, sr=SR), x, repeats=args.repeats)
            theirs = cpu_per_audio_s(smile, x, repeats=args.repeats) if smile else float("nan")
            print(f"{length:>7.0f}s {source:>10} {ours:>12.5f} {theirs:>14.5f} {ours / theirs:>7.2f}")
        if smile and args.process_minutes > 0:
            x, source = build_speech(args.process_minutes * 60, folder, seed=12)
            path = folder / "process.wav"
            sf.write(path, x, SR, subtype="PCM_16")
            before = _load()
            runs = whole_processes(path, repeats=args.repeats)
            theirs = min(runs["openSMILE eGeMAPSv02 functionals"])
            print(f"\nwhole processes, one thread, {args.process_minutes:.0f} min of {source} speech, CPU s per run "
                  f"(before: {before}; after: {_load()}):")
            for label, times in runs.items():
                ratio = "" if label.startswith("openSMILE") else f"  ratio of bests {min(times) / theirs:.2f}"
                print(f"  {label}: {' '.join(f'{t:.1f}' for t in times)}  best {min(times):.1f}{ratio}")
            print("  target: ratio <= 0.7")
        if args.memory_minutes <= 0:
            return
        x, source = build_speech(args.memory_minutes * 60, folder, seed=15)
        path = folder / "long.wav"
        sf.write(path, x, SR, subtype="PCM_16")
        print(f"\npeak memory (RSS) of a fresh process, {args.memory_minutes:.0f}-min {source} WAV:")
        for loader in ("soundfile", "load_audio"):
            memory = peak_memory_mb(path, loader=loader)
            print(f"  {loader:>10} + analyse: {memory['peak_mb']:5.0f} MB   (peak while loading: {memory['after_load_mb']:.0f} MB)")


if __name__ == "__main__":
    main()
