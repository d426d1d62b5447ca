"""Feature stability across phone codecs: each codec copy of a passage against its WAV original.

    python benchmarks/bench_codecs.py [--passages 3]

Passages are three sentences of one voice family (eSpeak NG, Festival HTS, LibriVox readings,
see ``tests/support/voices.py``) joined by pauses of known length over a -60 dBFS noise floor.
Each is encoded with every codec of ``tests/support/codecs.py:PHONE_CODECS``, decoded by the
service's own loader and analysed. Prints, per codec, the worst difference from the WAV over
the passages. Targets (issue 12): speech rate +-5 %, pause count +-1, F0 median +-0.5 st,
F0 range +-1 st. The voice-quality columns (jitter, shimmer, HNR, CPP) and the spectral ones
(formant means F1-F3 and F1 bandwidth in %, the largest MFCC mean and SD change in dB over
coefficients 1-13) show how far lossy coding moves the fine structure;
a codec that runs above 16 kHz (Opus at 48 kHz, AAC and MP3 at 44.1 kHz) is compared with the
same audio stored losslessly at its own rate, since a WAV from a phone at that rate is the
reference the service trusts; resampling 16 -> 48 -> 16 kHz alone moves the MFCC means by up
to 0.8 dB, which is not the codec's doing. Codecs at 8 kHz are compared with the 16-kHz WAV (their
band loss is what the narrowband rule is about);
``voice_features/codec_trust.py`` withholds them where this table shows they cannot be trusted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.codecs import PHONE_CODECS, encode, passage  # noqa: E402
from tests.support.voices import SR, families, load  # noqa: E402
from voice_features import analyse  # noqa: E402
from voice_features.audio import load_audio  # noqa: E402

PASSAGE_FAMILIES = ("espeak", "festival-hts", "librivox")


def passages(n_sentences: int = 3) -> dict[str, np.ndarray]:
    clips = families(include=PASSAGE_FAMILIES)
    out = {}
    for family in PASSAGE_FAMILIES:
        chosen = [c for c in clips if c.family == family][:n_sentences]
        if len(chosen) == n_sentences:
            out[family] = passage([load(c) for c in chosen], sr=SR, seed=len(out))
    return out


def differences(original: dict, copy: dict) -> dict[str, float]:
    """Copy minus original: speech rate in %, the rest in their own units."""
    return {
        "rate_pct": 100 * (copy["speech_rate_syl_s"] / original["speech_rate_syl_s"] - 1),
        "pauses": copy["pause_count"] - original["pause_count"],
        "f0_med_st": copy["f0_median_st"] - original["f0_median_st"],
        "f0_rng_st": copy["f0_range_st"] - original["f0_range_st"],
        "jitter_pct": 100 * (copy["jitter_local"] / original["jitter_local"] - 1),
        "shimmer_pct": 100 * (copy["shimmer_local"] / original["shimmer_local"] - 1),
        "hnr_db": copy["hnr_db"] - original["hnr_db"],
        "cpp_db": copy["cpp_db"] - original["cpp_db"],
        "f1_pct": 100 * (copy["f1_mean_hz"] / original["f1_mean_hz"] - 1),
        "f2_pct": 100 * (copy["f2_mean_hz"] / original["f2_mean_hz"] - 1),
        "f3_pct": 100 * (copy["f3_mean_hz"] / original["f3_mean_hz"] - 1),
        "f1bw_pct": 100 * (copy["f1_bw_hz"] / original["f1_bw_hz"] - 1),
        "f2bw_pct": 100 * (copy["f2_bw_hz"] / original["f2_bw_hz"] - 1),
        "f3bw_pct": 100 * (copy["f3_bw_hz"] / original["f3_bw_hz"] - 1),
        "mfcc_db": max((copy[f"mfcc{k}_mean"] - original[f"mfcc{k}_mean"] for k in range(1, 14)), key=abs),
        "mfccsd_db": max((copy[f"mfcc{k}_sd"] - original[f"mfcc{k}_sd"] for k in range(1, 14)), key=abs),
    }


#: Settings phones also send, measured here to place the trust thresholds (not in the test grid).
EXTRA_CODECS = {
    "opus 32k": lambda x, sr: encode(x, sr, fmt="ogg", codec="libopus", rate=48000, bit_rate=32000),
    "opus 64k": lambda x, sr: encode(x, sr, fmt="ogg", codec="libopus", rate=48000, bit_rate=64000),
    "aac 128k": lambda x, sr: encode(x, sr, fmt="ipod", codec="aac", rate=44100, bit_rate=128000),
    "flac 16k": lambda x, sr: encode(x, sr, fmt="flac", codec="flac", rate=16000),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=3, help="sentences per passage")
    args = parser.parse_args()
    originals = {name: (x, analyse(x, sr=SR).features) for name, x in passages(args.passages).items()}
    columns = ("rate_pct", "pauses", "f0_med_st", "f0_rng_st", "jitter_pct", "shimmer_pct", "hnr_db", "cpp_db",
               "f1_pct", "f2_pct", "f3_pct", "f1bw_pct", "f2bw_pct", "f3bw_pct", "mfcc_db", "mfccsd_db")
    limits = {"rate_pct": 5.0, "pauses": 1.0, "f0_med_st": 0.5, "f0_rng_st": 1.0}
    print(f"passages: {', '.join(originals)}; worst |difference| from the WAV original")
    print(f"{'codec':<14}" + "".join(f"{c:>11}" for c in columns))
    references: dict[tuple[str, int], dict] = {}
    for codec, make in (PHONE_CODECS | EXTRA_CODECS).items():
        worst = dict.fromkeys(columns, 0.0)
        for name, (x, base) in originals.items():
            decoded = load_audio(make(x, SR))
            rate = decoded.info.sample_rate
            if rate > SR:  # the same audio losslessly at the codec's rate: what a WAV from that phone gives
                if (name, rate) not in references:
                    lossless = load_audio(encode(x, SR, fmt="flac", codec="flac", rate=rate))
                    references[name, rate] = analyse(lossless.samples, sr=lossless.sample_rate).features
                base = references[name, rate]
            d = differences(base, analyse(decoded.samples, sr=decoded.sample_rate).features)
            for c in columns:
                if abs(d[c]) > abs(worst[c]) or not np.isfinite(d[c]):
                    worst[c] = d[c]
        flags = "".join("" if abs(worst[c]) <= lim else f"  {c} off" for c, lim in limits.items())
        print(f"{codec:<14}" + "".join(f"{worst[c]:>+11.2f}" for c in columns) + flags)


if __name__ == "__main__":
    main()
