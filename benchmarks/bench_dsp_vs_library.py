"""Benchmark: the hand-written scipy.signal and librosa replacements against the libraries, in a long-lived process.

Usage::

    NUMBA_CACHE_DIR=var/numba python benchmarks/bench_dsp_vs_library.py [--lengths 30 60] [--repeats 7]

``voice_features/dsp.py`` (peak finding, the Butterworth band-pass) and ``voice_features/melspec.py`` (mel
spectrogram, MFCCs) were written because importing ``scipy.signal`` and ``librosa`` costs a fresh process a
large share of a short job. A Celery worker imports once and then processes recording after recording, so this
measures what the replacements save per recording once both sides are imported and warmed up. The issue's
rule: under 1 % of a recording's cost, go back to the library. They saved less (they were slower), so the
product calls the libraries again; the two modules are kept, unchanged, in ``benchmarks/replaced/`` only so
that this measurement can be repeated.

On one core (BLAS threads 1), for a synthetic recording of each ``--length``: the whole worker pipeline
(``voice_features.pipeline.analyse_file``: decoding, features, voice embedding; no emotion model, the
default) is run with every call to a library function recorded, then run again ``--repeats`` times (CPU
ms, median). Each recorded call is replayed through the library and through the hand-written function on
the same inputs (median of ``--repeats``), summed per recording, and the outputs compared:

* ``scipy.signal.find_peaks(x, prominence=p)[0]``       vs ``dsp.prominent_peaks(x, p)``
* ``scipy.signal.sosfilt`` over the chunks, state carried vs ``dsp.bandpass(chunks, sos)``
* ``librosa.feature.mfcc``                            vs ``melspec.mfcc`` (same parameters)
* ``librosa.feature.melspectrogram``                  vs ``melspec.mel_power`` (same parameters)

The band-pass design (``scipy.signal.butter``) is made once per process (``prosody._bandpass_sos`` caches it),
so it costs a worker nothing per recording; its one-off cost is printed.

Import times (CPU s of a fresh interpreter that has already imported NumPy; librosa loads lazily, so its\nfunctions are imported by name) are printed for reference.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, before numpy loads a BLAS

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

sys.path.insert(0, str(Path(__file__).resolve().parent))

import librosa  # noqa: E402
import librosa.feature  # noqa: E402
from replaced import dsp, melspec  # noqa: E402
from scipy.signal import butter, find_peaks, sosfilt  # noqa: E402

from voice_features import prosody  # noqa: E402
from voice_features.pipeline import analyse_file  # noqa: E402
from voice_features.synth import speech_layout, synth_speech  # noqa: E402


def _cpu_ms(fn, repeats: int) -> float:
    """Median CPU ms of ``fn()`` over ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append((time.process_time() - start) * 1000)
    return float(np.median(times))


class Recorder:
    """Wraps the library functions where the pipeline calls them and keeps each call's inputs."""

    def __init__(self):
        self.calls: dict[str, list] = {"find_peaks": [], "sosfilt": [], "mfcc": [], "melspectrogram": []}
        self._saved = []

    def _patch(self, module, name, wrapper):
        self._saved.append((module, name, getattr(module, name)))
        setattr(module, name, wrapper)

    def __enter__(self):
        calls = self.calls

        def find_peaks_(x, prominence):
            calls["find_peaks"].append((np.array(x), prominence))
            return find_peaks(x, prominence=prominence)

        def sosfilt_(sos, x, zi):
            if not np.any(zi):  # a new signal starts: its chunks make one call of dsp.bandpass
                calls["sosfilt"].append(([], np.array(sos)))
            calls["sosfilt"][-1][0].append(np.array(x))
            return sosfilt(sos, x, zi=zi)

        def mfcc_(**kw):
            calls["mfcc"].append((np.array(kw.pop("y")), kw))
            return mfcc(y=calls["mfcc"][-1][0], **kw)

        def melspectrogram_(**kw):
            calls["melspectrogram"].append((np.array(kw.pop("y")), kw))
            return melspectrogram(y=calls["melspectrogram"][-1][0], **kw)

        mfcc, melspectrogram = librosa.feature.mfcc, librosa.feature.melspectrogram
        self._patch(prosody, "find_peaks", find_peaks_)
        self._patch(prosody, "sosfilt", sosfilt_)
        self._patch(librosa.feature, "mfcc", mfcc_)  # spectral.py, embedding.py call librosa.feature.<name>
        self._patch(librosa.feature, "melspectrogram", melspectrogram_)
        return self

    def __exit__(self, *exc):
        for module, name, original in reversed(self._saved):
            setattr(module, name, original)


# ---------------------------------------------------------------- the pairs: library, hand-written, agreement


def _sosfilt_chunks(chunks, sos):
    zi = np.zeros((sos.shape[0], 2))
    out = []
    for chunk in chunks:
        y, zi = sosfilt(sos, chunk, zi=zi)
        out.append(y)
    return out


LIBRARY_NAMES = {"find_peaks": "scipy.signal.find_peaks", "sosfilt": "scipy.signal.sosfilt (chunked)",
                 "mfcc": "librosa.feature.mfcc", "melspectrogram": "librosa.feature.melspectrogram"}
PAIRS = {  # name: (library, hand-written, what the hand-written one is)
    "find_peaks": (lambda a: find_peaks(a[0], prominence=a[1])[0], lambda a: dsp.prominent_peaks(*a),
                   "dsp.prominent_peaks"),
    "sosfilt": (lambda a: _sosfilt_chunks(*a), lambda a: list(dsp.bandpass(iter(a[0]), a[1])), "dsp.bandpass"),
    "mfcc": (lambda a: librosa.feature.mfcc(y=a[0], **a[1]), lambda a: melspec.mfcc(a[0], **a[1]), "melspec.mfcc"),
    "melspectrogram": (lambda a: librosa.feature.melspectrogram(y=a[0], **a[1]),
                       lambda a: melspec.mel_power(a[0], **a[1]), "melspec.mel_power"),
}


def _difference(name: str, library, hand) -> str:
    if name == "find_peaks":
        return "identical" if np.array_equal(library, hand) else f"DIFFERENT ({library.size} vs {hand.size} peaks)"
    if name == "sosfilt":
        library, hand = np.concatenate(library), np.concatenate(hand)
    library, hand = np.asarray(library, dtype=np.float64), np.asarray(hand, dtype=np.float64)
    diff = float(np.max(np.abs(library - hand))) if library.size else 0.0
    scale = float(np.max(np.abs(library))) if library.size else 0.0
    return f"max abs diff {diff:.3g} (max abs {scale:.3g})"


def _import_cpu_s(statement: str, runs: int = 3) -> float:
    code = f"import time, numpy; t = time.process_time(); {statement}; print(time.process_time() - t)"
    here = Path(__file__).resolve().parent
    env = os.environ | {"PYTHONPATH": os.pathsep.join((str(here.parent), str(here)))}
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                  env=env).stdout) for _ in range(runs)]
    return min(times)


def bench(length_s: float, repeats: int, seed: int) -> None:
    runs, pauses = speech_layout(duration_s=length_s, seed=seed)
    speech = synth_speech(run_durations_s=runs, pause_durations_s=pauses, seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        sf.write(wav, speech.samples, speech.sample_rate, subtype="PCM_16")
        for _ in range(2):  # warm-up: caches, numba, the embedding network, allocator
            analyse_file(wav)
        with Recorder() as recorder:
            analyse_file(wav)
        pipeline_ms = _cpu_ms(lambda: analyse_file(wav), repeats)
    duration = speech.samples.size / speech.sample_rate
    print(f"\n== recording of {duration:.1f} s (synthetic speech, seed {seed})")
    print(f"pipeline (analyse_file: decode, features, embedding): {pipeline_ms:.1f} ms per recording "
          f"(CPU, median of {repeats})")
    print(f"{'library function':<32} {'calls':>5} {'library ms':>10}  {'hand-written':<20} {'ms':>7} "
          f"{'saving ms':>10} {'% of recording':>15}  agreement")
    figures = {}
    for name, (library, hand, label) in PAIRS.items():
        calls = recorder.calls[name]
        for args in calls:  # warm both up on these very inputs
            library(args), hand(args)
        library_ms = sum(_cpu_ms(lambda a=a, f=library: f(a), repeats) for a in calls)
        hand_ms = sum(_cpu_ms(lambda a=a, f=hand: f(a), repeats) for a in calls)
        figures[name] = (library_ms, hand_ms)
        agreement = "; ".join(_difference(name, library(a), hand(a)) for a in calls) or "-"
        print(f"{LIBRARY_NAMES[name]:<32} {len(calls):>5} {library_ms:>10.2f}  {label:<20} {hand_ms:>7.2f} "
              f"{library_ms - hand_ms:>10.2f} {100 * (library_ms - hand_ms) / pipeline_ms:>14.2f}%  {agreement}")
    for label, names in (("dsp.py vs scipy.signal", ("find_peaks", "sosfilt")),
                         ("melspec.py vs librosa", ("mfcc", "melspectrogram")),
                         ("both", tuple(PAIRS))):
        library_ms, hand_ms = (sum(figures[n][i] for n in names) for i in (0, 1))
        print(f"  {label}: library {library_ms:.2f} ms, hand-written {hand_ms:.2f} ms, saving by the hand-written "
              f"code {library_ms - hand_ms:.2f} ms = {100 * (library_ms - hand_ms) / pipeline_ms:.2f} % of a recording")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lengths", type=float, nargs="+", default=[30.0, 60.0], help="recording lengths, s")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    print(f"numpy {np.__version__}, scipy {sys.modules['scipy'].__version__}, librosa {librosa.__version__}; "
          f"one core (BLAS threads 1); load average {os.getloadavg()[0]:.2f}")
    sos_ms = _cpu_ms(lambda: butter(4, prosody.NUCLEUS_BAND_HZ, btype="bandpass", fs=16000, output="sos"), args.repeats)
    print(f"band-pass design, scipy.signal.butter: {sos_ms:.2f} ms once per process (cached), 0 per recording")
    for length in args.lengths:
        bench(length, args.repeats, args.seed)
    print("\nimport time in a fresh process (CPU s, after numpy; best of 3), for reference only:")
    for statement in ("from scipy.signal import butter, find_peaks, sosfilt",
                      "import librosa",  # lazy: the modules load when first used
                      "from librosa.feature import melspectrogram, mfcc",
                      "from replaced import dsp, melspec"):
        print(f"  {statement}: {_import_cpu_s(statement):.3f} s")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
