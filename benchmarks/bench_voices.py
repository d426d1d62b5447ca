"""Speech-rate accuracy per voice family: synthesised (eSpeak NG, Festival) and recorded human speech.

    python benchmarks/bench_voices.py [--families espeak librivox ...] [--clips] [--snr 10]

For every clip, truth = lexical syllables of its transcript (Festival's CMU lexicon) over the
speech span (energy trim), see ``tests/support/voices.py``. Prints, per family: clips, the
systematic bias (mean of estimate / truth - 1) and the share of clips within +-15 %.
Targets (issue 12): |bias| <= 10 % on every family, >= 80 % of clips within +-15 %.
``--snr`` adds pink noise at that SNR (re the clip's speech power, fixed seed) after the truth is
taken from the clean clip: a robustness check, not part of the target.
Needs ``bash scripts/bootstrap.sh --dev`` (Debian speech, Festival voices) and
``bash scripts/fetch_speech.sh`` (sdist clips); a missing source just drops its family.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.voices import FAMILY_SOURCES, SR, families, load, reference_span_s  # noqa: E402
from voice_features import analyse  # noqa: E402

TOLERANCE = 0.15


def with_pink_noise(x: np.ndarray, snr_db: float, seed: int = 3) -> np.ndarray:
    """``x`` plus pink (1/f) noise at ``snr_db`` re the mean power of its 20-ms frames within 35 dB of the loudest."""
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(x.size))
    spectrum /= np.sqrt(np.maximum(np.arange(spectrum.size), 1))
    noise = np.fft.irfft(spectrum, x.size)
    hop = int(0.02 * SR)
    power = np.mean(x[: x.size // hop * hop].astype(np.float64).reshape(-1, hop) ** 2, axis=1)
    speech_power = float(np.mean(power[power > power.max() / 10**3.5]))
    return (x + noise / np.std(noise) * np.sqrt(speech_power / 10 ** (snr_db / 10))).astype(np.float32)


def measure(clips, snr_db: float | None = None) -> list[dict]:
    """One row per clip: truth and estimated speech rate and their ratio."""
    rows = []
    for clip in clips:
        x = load(clip)
        truth = clip.syllables / reference_span_s(x, SR)
        if snr_db is not None:
            x = with_pink_noise(x, snr_db)
        estimate = analyse(x, sr=SR).features["speech_rate_syl_s"]
        ratio = estimate / truth if np.isfinite(estimate) else 0.0
        rows.append({"family": clip.family, "clip": clip.name, "syllables": clip.syllables,
                     "truth": truth, "estimate": estimate, "ratio": ratio})
    return rows


def table(rows: list[dict]) -> list[tuple[str, int, float, float]]:
    """(family, n clips, bias, share within +-15 %) per family, in first-seen order."""
    by_family = defaultdict(list)
    for row in rows:
        by_family[row["family"]].append(row["ratio"])
    out = []
    for family, ratios in by_family.items():
        r = np.asarray(ratios)
        out.append((family, r.size, float(np.mean(r) - 1.0), float(np.mean(np.abs(r - 1.0) <= TOLERANCE))))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", nargs="*", help="only these families")
    parser.add_argument("--clips", action="store_true", help="also print every clip")
    parser.add_argument("--snr", type=float, help="add pink noise at this SNR, dB (robustness check)")
    args = parser.parse_args()
    rows = measure(families(include=tuple(args.families) if args.families else None), snr_db=args.snr)
    if args.clips:
        for row in rows:
            print(f"{row['family']:<13} {row['clip']:<28} syl={row['syllables']:>3} truth={row['truth']:5.2f} "
                  f"est={row['estimate']:5.2f} ratio={row['ratio']:.2f}")
    print(f"{'family':<13} {'clips':>5} {'bias':>7} {'within15':>9}  source")
    failed = False
    for family, n, bias, share in table(rows):
        ok = abs(bias) <= 0.10 and share >= 0.80
        failed |= not ok
        print(f"{family:<13} {n:>5} {bias:>+7.1%} {share:>9.0%}  {FAMILY_SOURCES.get(family, '')}{'' if ok else '  <- off target'}")
    print("targets: |bias| <= 10 %, >= 80 % of clips within +-15 % -> " + ("met" if not failed else "NOT met"))


if __name__ == "__main__":
    main()
