"""Syllable-nucleus detector: where nuclei are lost, and its settings chosen with one voice family held out.

    python benchmarks/tune_nuclei.py            # profile + hold-out over the grid below
    python benchmarks/tune_nuclei.py --profile  # only the per-stage counts
    python benchmarks/tune_nuclei.py --span     # hold-out of the speech-span edge settings (SPAN_GRID)

Every clip of ``tests/support/voices.py`` is analysed once by the service's own ``analyse``
(the shared :class:`~voice_features.speech.SpeechAnalysis` is kept: segments, pitch, sound);
then only the nucleus step is re-run for each setting.

**Profile.** Per family: lexical syllables of the transcripts, then how many contour peaks
survive each stage (prominence, silence threshold, inside speech, voiced), and the detected
speech span over the reference span (the segments' first onset to last offset, and the span of the
speech rate, :func:`voice_features.segmentation.speech_span_s`), for the broadband Praat intensity used before (2 dB dip,
voicing within 50 ms) and for the vowel-band contour used now.

**Hold-out.** Grid: band x smoothing window x minimum dip x voicing tolerance (``GRID``). Loss of
a setting on a set of families = mean over those families of the per-clip mean |ratio - 1|
(ratio = measured / true speech rate): it bounds the bias and also counts the spread, the two
halves of the target. For each family in turn the setting with the lowest loss on the *other*
families is chosen and the held-out family's bias and share within +-15 % are printed; the
last line is the setting chosen on all families (the one in ``voice_features/prosody.py``).

**Span hold-out** (``--span``). The same hold-out for the outer edges of the speech span
(:func:`voice_features.segmentation.speech_span_s`, the denominator of the speech rate) with the
service's nuclei: block length x reach inside the segment edges x threshold (the segmentation's
extension or speech threshold), ``SPAN_GRID``; "segment edges" is the span without refinement.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.signal import find_peaks

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.voices import SR, families, load, reference_span_s  # noqa: E402
from voice_features import analyse, extraction, prosody, segmentation  # noqa: E402

GRID = {
    "band_hz": [(300.0, 2500.0), (250.0, 3000.0), (300.0, 3400.0), (400.0, 2000.0)],
    "window_s": [0.03, 0.04, 0.05, 0.06, 0.07],
    "min_dip_db": [1.5, 2.0, 2.5, 3.0],
    "voicing_tolerance_s": [0.03, 0.05, 0.08, 0.12, float("inf")],
}
SPAN_GRID = {
    "block_s": [0.005, 0.01, 0.02],
    "reach_s": [0.032, 0.048, 0.064],
    "threshold": ["extension", "speech"],
}
TOLERANCE = 0.15


def analysed_clips() -> list[dict]:
    """Each clip with its truth and the SpeechAnalysis the service built for it."""
    captured = []
    original = extraction.compute_features

    def capture(analysis):
        captured.append(analysis)
        return original(analysis)

    extraction.compute_features = capture
    try:
        out = []
        for clip in families():
            x = load(clip)
            captured.clear()
            analyse(x, sr=SR)
            out.append({"family": clip.family, "name": clip.name, "syllables": clip.syllables,
                        "truth": clip.syllables / reference_span_s(x, SR), "ref_span": reference_span_s(x, SR),
                        "analysis": captured[0] if captured else None})
        return out
    finally:
        extraction.compute_features = original


def _contour(clip: dict, band_hz, window_s, cache: dict):
    key = (clip["name"], clip["family"], band_hz, window_s)
    if key not in cache:
        a = clip["analysis"]
        cache[key] = prosody.nucleus_contour_db(a.sound.values[0], sr=round(a.sound.sampling_frequency),
                                                band_hz=band_hz, window_s=window_s)
    return cache[key]


def ratio(clip: dict, nuclei: np.ndarray) -> float:
    a = clip["analysis"]
    if a is None:
        return 0.0
    rate = prosody.rate_features(nuclei_s=nuclei, segments=a.segments, span_s=a.speech_span_s)["speech_rate_syl_s"]
    return rate / clip["truth"] if np.isfinite(rate) else 0.0


def nuclei_for(clip: dict, setting: dict, cache: dict) -> np.ndarray:
    a = clip["analysis"]
    if a is None:
        return np.empty(0)
    db, t = _contour(clip, setting["band_hz"], setting["window_s"], cache)
    return prosody.syllable_nuclei(intensity_db=db, frame_times_s=t, threshold_db=segmentation.speech_threshold_db(db),
                                   segments=a.segments, pitch_times_s=a.pitch_times_s, pitch_hz=a.pitch_hz,
                                   min_dip_db=setting["min_dip_db"], voicing_tolerance_s=setting["voicing_tolerance_s"])


def broadband_nuclei(clip: dict) -> np.ndarray:
    """The detector before this change: Praat intensity (64-ms window), 2 dB dips, voicing within 50 ms."""
    a = clip["analysis"]
    if a is None:
        return np.empty(0)
    return prosody.syllable_nuclei(intensity_db=a.intensity_db, frame_times_s=a.intensity_times_s, threshold_db=a.threshold_db,
                                   segments=a.segments, pitch_times_s=a.pitch_times_s, pitch_hz=a.pitch_hz,
                                   min_dip_db=2.0, voicing_tolerance_s=0.05)


def _stages(db, t, threshold, a, min_dip_db, tolerance_s) -> list[int]:
    peaks, _ = find_peaks(db, prominence=min_dip_db)
    above = peaks[db[peaks] > threshold]
    inside = t[above][segmentation.in_segments(t[above], a.segments)]
    voiced = prosody.syllable_nuclei(intensity_db=db, frame_times_s=t, threshold_db=threshold, segments=a.segments,
                                     pitch_times_s=a.pitch_times_s, pitch_hz=a.pitch_hz, min_dip_db=min_dip_db,
                                     voicing_tolerance_s=tolerance_s)
    return [peaks.size, above.size, inside.size, voiced.size]


def profile(clips: list[dict]) -> None:
    cache: dict = {}
    totals: dict = defaultdict(lambda: np.zeros(12))
    for c in clips:
        a = c["analysis"]
        if a is None:
            continue
        old = _stages(a.intensity_db, a.intensity_times_s, a.threshold_db, a, 2.0, 0.05)
        db, t = _contour(c, prosody.NUCLEUS_BAND_HZ, prosody.NUCLEUS_WINDOW_S, cache)
        new = _stages(db, t, segmentation.speech_threshold_db(db), a, prosody.MIN_DIP_DB, prosody.VOICING_TOLERANCE_S)
        segment_span = float(a.segments[-1, 1] - a.segments[0, 0])
        span = float(a.speech_span_s[1] - a.speech_span_s[0])
        totals[c["family"]] += [1, c["syllables"], *old, *new, segment_span / c["ref_span"], span / c["ref_span"]]
    print("Where nuclei are lost (sums per family): peaks > prominence, > silence threshold, in speech, voiced")
    print(f"{'family':<13} {'syl':>4} | {'broadband 2 dB, 50 ms':^27} | {'vowel band (now)':^27} | span/ref: segments, speech_span_s")
    for family, v in totals.items():
        print(f"{family:<13} {v[1]:>4.0f} | {v[2]:>5.0f} {v[3]:>6.0f} {v[4]:>6.0f} {v[5]:>6.0f} | "
              f"{v[6]:>5.0f} {v[7]:>6.0f} {v[8]:>6.0f} {v[9]:>6.0f} | {v[10] / v[0]:.3f} {v[11] / v[0]:.3f}")


def _summary(ratios: np.ndarray) -> tuple[float, float, float]:
    return float(np.mean(ratios) - 1), float(np.mean(np.abs(ratios - 1) <= TOLERANCE)), float(np.mean(np.abs(ratios - 1)))


def hold_out(clips: list[dict]) -> None:
    cache: dict = {}
    names = list(GRID)
    settings = [dict(zip(names, values)) for values in itertools.product(*GRID.values())]
    fams = list(dict.fromkeys(c["family"] for c in clips))
    results = []  # per setting: family -> ratios
    for s in settings:
        by = defaultdict(list)
        for c in clips:
            by[c["family"]].append(ratio(c, nuclei_for(c, s, cache)))
        results.append({f: np.asarray(r) for f, r in by.items()})
    before = defaultdict(list)
    for c in clips:
        before[c["family"]].append(ratio(c, broadband_nuclei(c)))

    def loss(res, fs):
        return float(np.mean([_summary(res[f])[2] for f in fs]))

    def describe(s):
        tol = "none" if not np.isfinite(s["voicing_tolerance_s"]) else f"{s['voicing_tolerance_s'] * 1000:.0f} ms"
        return (f"{s['band_hz'][0]:.0f}-{s['band_hz'][1]:.0f} Hz, {s['window_s'] * 1000:.0f} ms, "
                f"{s['min_dip_db']:g} dB, voicing {tol}")

    print(f"\nHold-out over {len(settings)} settings (loss: mean per-family mean |ratio - 1|)")
    print(f"{'held out':<13} {'chosen on the other families':<44} {'bias':>7} {'within15':>9}   before: bias, within15")
    for f in fams:
        i = min(range(len(settings)), key=lambda k: loss(results[k], [g for g in fams if g != f]))
        b, w, _ = _summary(results[i][f])
        b0, w0, _ = _summary(np.asarray(before[f]))
        print(f"{f:<13} {describe(settings[i]):<44} {b:>+7.1%} {w:>9.0%}   {b0:+.1%}, {w0:.0%}")
    i = min(range(len(settings)), key=lambda k: loss(results[k], fams))
    print(f"chosen on all families: {describe(settings[i])} (loss {loss(results[i], fams):.3f}; "
          f"before {loss({f: np.asarray(r) for f, r in before.items()}, fams):.3f})")
    current = {"band_hz": prosody.NUCLEUS_BAND_HZ, "window_s": prosody.NUCLEUS_WINDOW_S,
               "min_dip_db": prosody.MIN_DIP_DB, "voicing_tolerance_s": prosody.VOICING_TOLERANCE_S}
    print(f"in voice_features/prosody.py:  {describe(current)}")


def span_hold_out(clips: list[dict]) -> None:
    names = list(SPAN_GRID)
    settings = [dict(zip(names, values)) for values in itertools.product(*SPAN_GRID.values())]
    fams = list(dict.fromkeys(c["family"] for c in clips))

    def ratios(setting: dict | None) -> dict[str, np.ndarray]:
        by = defaultdict(list)
        for c in clips:
            a = c["analysis"]
            if a is None:
                by[c["family"]].append(0.0)
                continue
            if setting is None:
                span = (a.segments[0, 0], a.segments[-1, 1])
            else:
                threshold = (segmentation.extension_threshold_db(a.intensity_db) if setting["threshold"] == "extension"
                             else a.threshold_db)
                span = segmentation.speech_span_s(a.sound.values[0], sr=round(a.sound.sampling_frequency), segments=a.segments,
                                                  extension_db=threshold, block_s=setting["block_s"], reach_s=setting["reach_s"])
            rate = prosody.rate_features(nuclei_s=a.syllable_nuclei_s, segments=a.segments, span_s=span)["speech_rate_syl_s"]
            by[c["family"]].append(rate / c["truth"] if np.isfinite(rate) else 0.0)
        return {f: np.asarray(r) for f, r in by.items()}

    results = [ratios(s) for s in settings]
    before = ratios(None)

    def loss(res, fs):
        return float(np.mean([_summary(res[f])[2] for f in fs]))

    def describe(s):
        return f"{s['block_s'] * 1000:.0f}-ms blocks, {s['reach_s'] * 1000:.0f} ms, {s['threshold']} threshold"

    print(f"\nSpan hold-out over {len(settings)} settings (loss: mean per-family mean |ratio - 1|)")
    print(f"{'held out':<13} {'chosen on the other families':<44} {'bias':>7} {'within15':>9}   segment edges: bias, within15")
    for f in fams:
        i = min(range(len(settings)), key=lambda k: loss(results[k], [g for g in fams if g != f]))
        b, w, _ = _summary(results[i][f])
        b0, w0, _ = _summary(before[f])
        print(f"{f:<13} {describe(settings[i]):<44} {b:>+7.1%} {w:>9.0%}   {b0:+.1%}, {w0:.0%}")
    i = min(range(len(settings)), key=lambda k: loss(results[k], fams))
    print(f"chosen on all families: {describe(settings[i])} (loss {loss(results[i], fams):.3f}; "
          f"segment edges {loss(before, fams):.3f})")
    current = next(k for k, s in enumerate(settings) if s == {"block_s": segmentation.SPAN_BLOCK_S,
                                                              "reach_s": segmentation.SPAN_REACH_S, "threshold": "extension"})
    print(f"in voice_features/segmentation.py: {describe(settings[current])} (loss {loss(results[current], fams):.3f}): "
          + ", ".join(f"{f} {_summary(results[current][f])[0]:+.1%} {_summary(results[current][f])[1]:.0%}" for f in fams))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", action="store_true", help="only the per-stage counts")
    parser.add_argument("--span", action="store_true", help="only the hold-out of the speech-span edge settings")
    args = parser.parse_args()
    clips = analysed_clips()
    if args.span:
        span_hold_out(clips)
        return
    profile(clips)
    if not args.profile:
        hold_out(clips)


if __name__ == "__main__":
    main()
