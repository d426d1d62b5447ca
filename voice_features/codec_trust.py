"""Which features a recording's codec leaves trustworthy: one rule, read from measurements.

Lossy phone codecs keep what prosody needs (timing, pauses, F0: speech rate within ±5 %,
pause count ±1, F0 median ±0.5 st, F0 range ±1 st of the WAV on every codec measured; the
test grid in tests/voice_features/test_codecs.py holds them to it) but rebuild the fine
spectral and cycle-to-cycle detail that voice quality, formants and MFCCs measure.

A feature declares in the registry (``voice_features.registry.Feature.codec_check``) which
measurement below checks it. ``benchmarks/bench_codecs.py`` measured each codec setting as the
worst difference from the WAV original over three passages (eSpeak NG, Festival HTS, LibriVox);
a feature is trusted for a recording when the measurement that applies to the recording's codec
setting stays within the feature's tolerance (:data:`TOLERANCES`), and withheld (null, with the
reason) otherwise. Which measurement applies:

* lossless audio (PCM, FLAC, ALAC, WavPack) at 16 kHz or more is the reference: always trusted;
* a lossy codec: the measured setting of its codec with the highest bit rate at or below the
  recording's (within 10 %: files declare their overall rate; an unknown bit rate, or one up to
  40 % below the lowest measured setting — variable-rate coders average below their target —
  takes the lowest measured one); below every measured rate, or
  a codec never measured (AMR-WB, Vorbis, ...), the feature is withheld as "not measured";
* audio sampled below 16 kHz (telephone band, whatever the codec) must also pass the 8-kHz
  μ-law measurement, which is what an 8-kHz band does to these features; μ-law and A-law use it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CodecSetting", "MEASUREMENTS", "REASON_TEMPLATES", "TOLERANCES", "codec_family", "codec_reason"]

_LOSSLESS = ("flac", "alac", "wavpack")


def codec_family(codec: str | None) -> str:
    """The family of an FFmpeg codec name ('' if unknown).

    ``amr`` (AMR-NB and AMR-WB), ``aac``, ``mp3``, ``opus``, ``lossless`` (linear PCM in any
    sample format, FLAC, ALAC, WavPack), ``g711`` (μ-law and A-law telephone PCM), otherwise
    the name itself. Phone segments (a codec family change is a new phone) and the trust rule
    below both use it.
    """
    name = (codec or "").strip().lower()
    if not name:
        return ""
    if name.startswith("amr"):
        return "amr"
    if name.startswith("aac"):
        return "aac"
    if name.startswith("mp3"):
        return "mp3"
    if name in {"pcm_mulaw", "pcm_alaw"}:
        return "g711"
    if name.startswith("pcm_") or name.startswith(_LOSSLESS):
        return "lossless"
    return name


def _codec(codec: str | None) -> str:
    """The measured codec a codec name belongs to: AMR-NB and AMR-WB are different coders."""
    name = (codec or "").strip().lower()
    if name.startswith("amr"):
        return "amrwb" if "wb" in name else "amrnb"
    return codec_family(name)


@dataclass(frozen=True)
class CodecSetting:
    """One codec setting measured by ``benchmarks/bench_codecs.py``: worst |difference| from WAV."""

    label: str
    codec: str          # as :func:`_codec` names it
    bit_rate: int
    sample_rate: int
    worst: dict[str, float]


#: ``benchmarks/bench_codecs.py`` on 2026-12-07 (three passages; % = relative, dB/Hz = absolute).
#: ``bandwidth_pct`` is the largest of the F1–F3 bandwidth changes, ``mfcc_mean_db``/``mfcc_sd_db``
#: the largest change over MFCC 1–13. A setting above 16 kHz is measured against the same audio stored
#: losslessly at its own rate (a phone's WAV at 48 kHz is what the service trusts as the reference): the
#: 16 → 48 → 16 kHz resampling alone moved the MFCC means by up to 0.8 dB, which the 2026-12-01 table
#: counted against the codec (it withheld the MFCC means of every Opus 64 kbit/s take from the recorder).
MEASUREMENTS: tuple[CodecSetting, ...] = tuple(
    CodecSetting(label, codec, rate, sr, dict(zip(
        ("jitter_pct", "shimmer_pct", "hnr_db", "cpp_db", "f1_pct", "f2_pct", "f3_pct", "bandwidth_pct",
         "mfcc_mean_db", "mfcc_sd_db"), worst, strict=True)))
    for label, codec, rate, sr, worst in (
        ("AMR-NB 12.2 kbit/s", "amrnb", 12200, 8000, (8.62, 5.49, 1.23, 2.21, 8.18, 15.17, 11.16, 32.62, 44.52, 8.85)),
        ("AMR-NB 4.75 kbit/s", "amrnb", 4750, 8000, (22.00, 25.33, 1.25, 3.21, 15.39, 10.85, 14.86, 42.47, 45.53, 10.72)),
        ("Opus 16 kbit/s", "opus", 16000, 16000, (5.44, 10.69, 0.73, 0.61, 4.83, 1.26, 1.41, 7.17, 5.95, 2.74)),
        ("Opus 32 kbit/s", "opus", 32000, 48000, (2.88, 5.09, 0.36, 0.26, 1.87, 2.76, 1.42, 3.68, 7.52, 1.51)),
        ("Opus 64 kbit/s", "opus", 64000, 48000, (3.31, 2.92, 0.31, 0.34, 1.41, 1.13, 0.95, 2.46, 0.30, 0.59)),
        ("AAC 64 kbit/s", "aac", 64000, 44100, (2.21, 2.51, 0.40, 1.28, 12.49, 1.36, 1.20, 8.44, 2.69, 3.54)),
        ("AAC 128 kbit/s", "aac", 128000, 44100, (3.20, 0.69, 0.34, 0.23, 10.70, 1.57, 1.01, 2.90, 0.41, 0.86)),
        ("MP3 64 kbit/s", "mp3", 64000, 44100, (0.75, 1.62, 0.53, 0.81, 2.74, 1.09, 0.38, 1.48, 0.56, 0.73)),
        ("8-kHz μ-law", "g711", 64000, 8000, (2.98, 1.00, 0.20, 2.39, 6.23, 15.58, 5.75, 28.07, 41.30, 9.59)),
    )
)


#: How far a codec may move a feature before it is withheld: the change a personal baseline
#: must not mistake for the patient (about one healthy speaker's day-to-day SD).
TOLERANCES: dict[str, tuple[float, str, str]] = {
    # measurement: (limit, unit, what the limit is)
    "jitter_pct": (5.0, "%", "jitter"),
    "shimmer_pct": (5.0, "%", "shimmer"),
    "hnr_db": (1.0, "dB", "HNR"),
    "cpp_db": (1.0, "dB", "CPP"),                      # the same harmonic structure as HNR, same scale
    "f1_pct": (5.0, "%", "F1"),                        # ~ the just-noticeable formant change (3–5 %)
    "f2_pct": (5.0, "%", "F2"),
    "f3_pct": (5.0, "%", "F3"),
    "bandwidth_pct": (20.0, "%", "the formant bandwidths"),  # Burg bandwidths vary ~20 % between takes
    "mfcc_mean_db": (1.0, "dB", "the MFCC means"),     # twice their baseline scale floor (0.5 dB)
    "mfcc_sd_db": (0.6, "dB", "the MFCC SDs"),         # twice their baseline scale floor (0.3 dB)
}


def gettext_noop(message: str) -> str:
    """Marks an English template for the translation catalogues (makemessages finds the name); this package
    needs no Django, and the sentences are stored in English."""
    return message


# Why a feature is withheld: these English templates filled with values already formatted. The stored reason is
# English (quality["withheld_features"], served as is by the API); the dashboard finds the template and values a
# reason was filled from (:func:`voice_features.registry.withheld_reason_fields`) and says it in the reader's
# language (web/dashboard/views.py, WITHHELD_MEASURES names ``what``).
NOT_MEASURED = gettext_noop("%(codec)s has not been measured for %(what)s, so it is withheld rather than reported "
                            "without knowing what the codec does to it.")
NOT_MEASURED_AT_RATE = gettext_noop("%(codec)s at %(rate)s kbit/s has not been measured for %(what)s, so it is "
                                    "withheld rather than reported without knowing what the codec does to it.")
MOVED = gettext_noop("%(setting)s moved %(what)s by up to %(moved)s %(unit)s in our codec measurements, more than "
                     "the %(limit)s %(unit)s a personal baseline can tell from a real change.")
MOVED_NARROWBAND = gettext_noop(
    "Audio sampled below 16 kHz (measured as 8-kHz μ-law) moved %(what)s by up to %(moved)s %(unit)s in our codec "
    "measurements, more than the %(limit)s %(unit)s a personal baseline can tell from a real change.")
#: Most specific first: a reason is matched against them in this order.
REASON_TEMPLATES = (NOT_MEASURED_AT_RATE, NOT_MEASURED, MOVED_NARROWBAND, MOVED)

_NAMES = {"amrnb": "AMR-NB", "amrwb": "AMR-WB", "opus": "Opus", "aac": "AAC", "mp3": "MP3", "vorbis": "Vorbis"}
_NARROWBAND = next(m for m in MEASUREMENTS if m.codec == "g711")


def _applicable(codec: str, bit_rate: int | None) -> CodecSetting | None:
    measured = sorted((m for m in MEASUREMENTS if m.codec == codec), key=lambda m: m.bit_rate)
    if not measured:
        return None
    if bit_rate is None:
        return measured[0]
    # Files declare their overall rate, a few % off the encoder setting either way; variable-rate
    # coders (Opus) average well below their target on steady voices (16 kbit/s gave 11 kbit/s).
    below = [m for m in measured if m.bit_rate <= bit_rate * 1.1]
    if below:
        return below[-1]
    return measured[0] if bit_rate >= 0.6 * measured[0].bit_rate else None


def _judge(setting: CodecSetting, check: str, *, narrowband: bool = False) -> str | None:
    limit, unit, what = TOLERANCES[check]
    moved = setting.worst[check]
    if moved <= limit:
        return None
    params = {"what": what, "moved": f"{moved:.1f}", "limit": f"{limit:g}", "unit": unit}
    return MOVED_NARROWBAND % params if narrowband else MOVED % (params | {"setting": setting.label})


def codec_reason(check: str, *, codec: str | None, bit_rate: int | None, sample_rate: int | None) -> str | None:
    """Why a feature checked by measurement ``check`` is not trustworthy for this codec setting (None if it is).

    Parameters
    ----------
    check : str
        A key of :data:`TOLERANCES`.
    codec : str or None
        FFmpeg codec name as the file declares it (None or '' = unknown: nothing is withheld).
    bit_rate : int or None
        Declared bit rate, bit/s.
    sample_rate : int or None
        The file's sample rate, Hz.
    """
    family = codec_family(codec)
    if not family:
        return None
    if family not in {"lossless", "g711"}:
        # the codec's own measurement first: its reason is the one a reader of this recording expects
        measured = _codec(codec)
        setting = _applicable(measured, bit_rate)
        if setting is None:
            params = {"codec": _NAMES.get(measured, (codec or "").strip()), "what": TOLERANCES[check][2]}
            if bit_rate:
                return NOT_MEASURED_AT_RATE % (params | {"rate": f"{bit_rate / 1000:g}"})
            return NOT_MEASURED % params
        reason = _judge(setting, check)
        if reason:
            return reason
    if family == "g711":
        return _judge(_NARROWBAND, check)
    if sample_rate is not None and sample_rate < 16000:
        return _judge(_NARROWBAND, check, narrowband=True)
    return None
