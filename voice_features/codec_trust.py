"""Which voice-quality features a recording's codec leaves trustworthy.

Lossy speech codecs keep what prosody needs (timing, pauses, F0: all within speech rate
+-5 %, pause count +-1, F0 median +-0.5 st, F0 range +-1 st of the WAV on every codec measured)
but rebuild the fine cycle-to-cycle detail that jitter, shimmer, HNR and CPP measure.
``benchmarks/bench_codecs.py`` measured, worst over three passages (eSpeak, Festival HTS,
LibriVox), against the WAV original:

=============  =======  ========  =======
codec          jitter   shimmer   HNR
=============  =======  ========  =======
AMR-NB 12.2k   -8.6 %   +5.5 %    +1.2 dB
AMR-NB 4.75k   +22 %    +25 %     -1.3 dB
Opus 16k       -4.1 %   +11 %     -0.7 dB
AAC 64k        +2.1 %   +2.6 %    -0.3 dB
MP3 64k        +2.0 %   +1.4 %    -0.5 dB
mu-law 8 kHz   +3.0 %   +1.0 %    +0.2 dB
=============  =======  ========  =======

A change beyond 5 % (jitter, shimmer) or 1 dB (HNR) is larger than the within-person
differences these features are used to follow, so for those codecs they are withheld
(null, with the reason) rather than reported wrong. CPP is withheld with them: it measures the
same harmonic structure the codec rebuilds.
"""

from __future__ import annotations

from voice_features.audio import AudioInfo

__all__ = ["VOICE_QUALITY_FEATURES", "untrusted_features"]

VOICE_QUALITY_FEATURES = ("jitter_local", "shimmer_local", "hnr_db", "cpp_db")
_MIN_TRUSTED_BIT_RATE = {"aac": 56000, "mp3": 56000, "opus": 32000}
"""Below these bit rates (bit/s) the codec was not measured at a trustworthy setting."""


def _reason(info: AudioInfo) -> str | None:
    codec = info.codec
    if codec == "amrnb":
        return ("AMR-NB (a phone speech codec) rebuilds the voice from a model; it moved jitter by up to 22 %, "
                "shimmer by up to 25 % and HNR by up to 1.3 dB in our measurements.")
    if codec == "amrwb":
        return ("AMR-WB is a model-based phone speech codec like AMR-NB, which moved jitter, shimmer and HNR "
                "well beyond their tolerance in our measurements.")
    family = "mp3" if codec.startswith("mp3") else "aac" if codec.startswith("aac") else codec
    floor = _MIN_TRUSTED_BIT_RATE.get(family)
    if floor is not None and (info.bit_rate is None or info.bit_rate < floor):
        rate = f"{info.bit_rate / 1000:.0f} kbit/s" if info.bit_rate else "an unknown bit rate"
        return (f"{family.upper()} at {rate} is below the {floor // 1000} kbit/s from which voice quality survives "
                "the codec in our measurements (Opus at 16 kbit/s moved shimmer by 11 %).")
    return None


def untrusted_features(info: AudioInfo) -> dict[str, str]:
    """``{feature name: reason}`` for the voice-quality features this recording's codec distorts (empty if none).

    Parameters
    ----------
    info : AudioInfo
        Codec and bit rate as the file declares them (:func:`voice_features.audio.probe_audio`).
    """
    reason = _reason(info)
    return dict.fromkeys(VOICE_QUALITY_FEATURES, reason) if reason else {}
