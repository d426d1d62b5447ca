"""Voice measures on Spanish speech, per voice family: speech rate, pauses and F0 (docs/voices.md, "Spanish").

    nice python benchmarks/bench_voices_es.py [--per-family N]

Families and truth: ``tests/support/voices_es.py`` (eSpeak NG ``es`` and ``es-419`` at several speeds and
pitches; Asterisk's Mexican-Spanish prompts, the only recorded Spanish speech with transcripts found in Debian or
on PyPI). Per family:

- speech rate: measured / true (pylabeador syllables of the transcript over the reference span); bias and the
  share of clips within +-15 % (the English target: |bias| <= 10 %, >= 80 % within 15 %);
- pauses: three consecutive clips joined by 0.6- and 0.9-s gaps: the share of passages whose pause count is
  right within +-1 (the English target) and exactly, and the mean error of the mean pause;
- F0: each clip shifted up 300 cents by sox: the change of F0 median minus 3 st (English target: within 0.5 st)
  and the change of F0 range (within 1 st, the codec table's limit).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.voices_es import ES_FAMILY_SOURCES, es_families, pause_errors, pitch_shift_errors, rate_ratio  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=None, help="clips per family (default: all)")
    args = parser.parse_args()
    by_family = defaultdict(list)
    for clip in es_families(per_family=args.per_family):
        by_family[clip.family].append(clip)
    print("| family | clips | speech rate bias | within ±15 % | passages: pauses ±1 (exact) | mean pause error | "
          "F0 median shift error (worst) | F0 range change (worst) |")
    print("|---|---|---|---|---|---|---|---|")
    for family, clips in by_family.items():
        ratios = np.array([rate_ratio(c) for c in clips])
        triples = [clips[i:i + 3] for i in range(0, len(clips) - 2, 3)]
        pauses = np.array([pause_errors(t) for t in triples])
        shifts = np.array([pitch_shift_errors(c) for c in clips[:10]])
        print(f"| {family} | {len(clips)} | {np.mean(ratios) - 1:+.1%} | {np.mean(np.abs(ratios - 1) <= 0.15):.0%} | "
              f"{np.mean(np.abs(pauses[:, 0]) <= 1):.0%} ({np.mean(pauses[:, 0] == 0):.0%}) of {len(triples)} | "
              f"{np.nanmean(pauses[:, 1]):+.3f} s | {np.mean(shifts[:, 0]):+.2f} st ({np.max(np.abs(shifts[:, 0])):.2f}) | "
              f"{np.mean(shifts[:, 1]):+.2f} st ({np.max(np.abs(shifts[:, 1])):.2f}) |", flush=True)
    print()
    for family, source in ES_FAMILY_SOURCES.items():
        print(f"- {family}: {source}")


if __name__ == "__main__":
    main()
