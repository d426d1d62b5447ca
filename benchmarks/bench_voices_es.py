"""Voice measures on Spanish speech, per voice family: speech rate, pauses and F0 (docs/voices.md, "Spanish").

    nice python benchmarks/bench_voices_es.py [--per-family N] [--all-transcripts] [--english-control]

Families and truth: ``tests/support/voices_es.py`` (eSpeak NG ``es`` and ``es-419`` at several speeds and
pitches; Asterisk's Mexican-Spanish prompts and Tux Paint's spoken stamp descriptions, the recorded Spanish speech
with transcripts found in Debian; none on PyPI). Clips whose transcript is not what was said are left out by one
rule for every family (``plausible_transcripts``; ``--all-transcripts`` keeps them). Per family:

- speech rate: measured / true (pylabeador syllables of the transcript over the reference span); bias and the
  share of clips within +-15 % (the English target: |bias| <= 10 %, >= 80 % within 15 %);
- pauses: three consecutive clips joined by 0.6- and 0.9-s gaps: the share of passages whose pause count is
  right within +-1 (the English target) and exactly, and the mean error of the mean pause;
- F0: each clip shifted up 300 cents by sox: the change of F0 median minus 3 st (English target: within 0.5 st)
  and the change of F0 range (within 1 st, the codec table's limit).

``--english-control`` measures speech rate on the same Asterisk voice's English prompts
(``apt-get install asterisk-core-sounds-en asterisk-core-sounds-en-wav``; truth from Festival's CMU lexicon as for the English families): is a shortfall
on the Spanish prompts the speaker's or the language's?
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.voices_es import (  # noqa: E402
    ES_FAMILY_SOURCES,
    es_families,
    pause_errors,
    pitch_shift_errors,
    plausible_transcripts,
    rate_ratio,
)


def english_control(limit: int = 60, all_transcripts: bool = False) -> None:
    import gzip
    import re

    from tests.support.voices import SR, Clip, load, reference_span_s, syllable_counts
    from voice_features import analyse

    folder = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
    clips = []
    for line in gzip.open("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz", "rt", errors="replace"):
        m = re.match(r"^([\w-]+):\s*(.+)$", line.strip())
        if (m and not re.search(r"[\d\[\]<>]", m.group(2)) and len(m.group(2).split()) >= 6
                and not re.search(r"\b[A-Z]{2,}\b", m.group(2)) and (folder / f"{m.group(1)}.wav").exists()):
            clips.append(Clip("asterisk-en-us", m.group(1), folder / f"{m.group(1)}.wav", m.group(2)))
    clips = clips[:limit]
    clips = [Clip(c.family, c.name, c.path, c.text, n) for c, n in zip(clips, syllable_counts([c.text for c in clips]))]
    if not all_transcripts:
        clips = plausible_transcripts(clips)  # the rule every Spanish family gets
    ratios = []
    for clip in clips:
        x = load(clip)
        ratios.append(analyse(x, sr=SR).features["speech_rate_syl_s"] / (clip.syllables / reference_span_s(x)))
    r = np.array(ratios)
    print(f"| asterisk-en-us (control) | {r.size} | {r.mean() - 1:+.1%} | {np.mean(np.abs(r - 1) <= 0.15):.0%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=None, help="clips per family (default: all)")
    parser.add_argument("--all-transcripts", action="store_true",
                        help="keep the clips whose transcript-implied rate is off the family's median (and duplicates)")
    parser.add_argument("--english-control", action="store_true",
                        help="speech rate on the same Asterisk voice's English prompts, then stop")
    args = parser.parse_args()
    if args.english_control:
        english_control(all_transcripts=args.all_transcripts)
        return
    by_family = defaultdict(list)
    for clip in es_families(per_family=args.per_family, all_transcripts=args.all_transcripts):
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
