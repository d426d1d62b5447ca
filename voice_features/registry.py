"""The one feature registry: every voice feature declared once.

A declaration gives the key (the JSON name), unit, display label, description, the
function that computes it, its scale floor for baselines, the recording tasks and codecs
it is valid for, and — where the literature gives one — how it moves with depression.
Extraction, baselines, deviations, the dashboard, the docs table (``docs/features.md``)
and the tests all read this module. Adding a feature means: one declaration here, its
function, its test.

This module imports nothing heavy (no NumPy, no Praat): the scoring layer reads it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from voice_features.codec_trust import REASON_TEMPLATES, TOLERANCES, codec_reason, gettext_noop

__all__ = [
    "FEATURE_SET_VERSION",
    "RecordingTask",
    "RECORDING_TASKS",
    "TASKS",
    "SPEECH_TASKS",
    "FeatureDirection",
    "Feature",
    "FEATURES",
    "FEATURE_NAMES",
    "BY_KEY",
    "DEPRESSION_DIRECTIONS",
    "SCALE_FLOOR",
    "DASHBOARD_FEATURES",
    "UCUM_UNITS",
    "valid_for",
    "withheld_features",
    "withheld_reason_fields",
    "WITHHELD_TEMPLATES",
    "features_table_markdown",
    "features_page",
]

FEATURE_SET_VERSION = "4.0.0"
"""Bump the major part whenever a feature's definition or a threshold changes its values,
the minor part when a feature is added (earlier feature sets simply lack it)."""

#: Each feature unit (``Feature.unit``) as a UCUM code, for exports (FHIR Observation.valueQuantity).
UCUM_UNITS: Mapping[str, str] = {
    "s": "s", "Hz": "Hz", "dB": "dB", "semitones": "{semitone}", "syllables": "{syllable}",
    "syllables/s": "{syllable}/s", "pauses": "{pause}", "pauses/min": "{pause}/min", "fraction": "1", "CV": "1",
}


@dataclass(frozen=True)
class RecordingTask:
    """What the patient was asked to do: its stored name (``Recording.task``), its label, and whether it is
    running speech (timing, pauses and intonation only mean something there)."""

    name: str
    label: str
    running_speech: bool


#: The recording protocols (issue 12), declared once: ``clinic.protocols.Task`` (the model's choices, the
#: passages and prompts) and every feature's ``tasks`` read them.
RECORDING_TASKS: tuple[RecordingTask, ...] = (
    RecordingTask("read_passage", "Read passage", running_speech=True),
    RecordingTask("free_speech", "Free speech", running_speech=True),
    RecordingTask("sustained_vowel", "Sustained vowel", running_speech=False),
    RecordingTask("counting", "Counting", running_speech=True),
)
TASKS: frozenset[str] = frozenset(task.name for task in RECORDING_TASKS)
#: Tasks with running speech: timing, pauses and intonation only mean something there.
SPEECH_TASKS: frozenset[str] = frozenset(task.name for task in RECORDING_TASKS if task.running_speech)

_MIXED = "Mixed or no consistent findings (Cummins et al. 2015; Low et al. 2020)."
_TIMING = ("Psychomotor retardation: Alpert et al. 2001; Cannizzaro et al. 2004; Mundt et al. 2012; "
           "Trevino et al. 2011; Yamamoto et al. 2020.")
_PROSODY = "Reduced prosodic variation and loudness: reviews of Cummins et al. 2015 and Low et al. 2020."
_CODEC_DISTORTED = "van Son 2005: lossy speech codecs distort jitter, shimmer and noise measures."
_CODEC_BANDWIDTH = "Narrow-band and lossy codecs change the spectrum the cepstrum is taken from."
_CODEC_BANDWIDTH_FORMANTS = "Narrow-band and model-based codecs (AMR) move the formants (benchmarks/bench_codecs.py)."


@dataclass(frozen=True)
class FeatureDirection:
    """How a feature moves with depression, and its part in the composite index.

    ``sign`` is +1 if the feature rises with depression severity, -1 if it falls;
    ``weight`` is its weight in the composite index, equal to the within-person |r| with
    PHQ-9 the prior model assumes (0 = direction documented but not in the composite);
    the deviation text reads "<phrase> than usual" for a positive signed z and
    ``opposite`` for a negative one.
    """

    sign: int
    weight: float
    phrase: str
    opposite: str


@dataclass(frozen=True)
class Feature:
    """One voice feature.

    Attributes
    ----------
    key : str
        JSON name, as stored and served by the API.
    unit, label, description : str
        For people: the unit, a short display label, one sentence of definition.
    computed_by : str
        ``"module:function"``; the function takes a
        :class:`voice_features.speech.SpeechAnalysis` and returns a mapping that holds
        this key (one function may compute several features from shared work).
    scale_floor : float
        Smallest baseline scale, feature units (about half of a healthy speaker's
        day-to-day SD, so it only bites when the spread is implausibly small).
    reference : str
        Source of the direction, or why there is none ("" for bookkeeping features).
    direction : FeatureDirection or None
        None where the literature gives no consistent direction.
    day_sd : float or None
        Typical within-speaker day-to-day SD, feature units (simulation and methods).
    tasks : frozenset of str
        Recording tasks the feature is valid for.
    codec_check : str or None
        The codec measurement that decides whether a recording's codec leaves this feature
        trustworthy (a key of ``voice_features.codec_trust.TOLERANCES``); None = any codec
        (prosody: held to its tolerances by the codec test grid).
    dashboard : bool
        Plotted against the personal baseline on the clinician's patient page.
    """

    key: str
    unit: str
    label: str
    description: str
    computed_by: str
    scale_floor: float
    reference: str = ""
    direction: FeatureDirection | None = None
    day_sd: float | None = None
    tasks: frozenset[str] = TASKS
    codec_check: str | None = None
    dashboard: bool = False


_TIMING_FN = "voice_features.extractors:timing"
_PAUSE_FN = "voice_features.extractors:pauses"
_F0_FN = "voice_features.extractors:f0"
_VQ_FN = "voice_features.extractors:jitter_shimmer"

FEATURES: tuple[Feature, ...] = (
    Feature("duration_s", "s", "Duration", "Whole recording.", "voice_features.extractors:durations", 1.0),
    Feature("speech_s", "s", "Speech time", "Time in speech (phonation time).", "voice_features.extractors:durations", 1.0),
    Feature("syllable_count", "syllables", "Syllables", "Acoustic syllable nuclei: voiced peaks of vowel-band (400-2000 Hz) energy (de Jong & Wempe 2009 style).",
            _TIMING_FN, 3.0, tasks=SPEECH_TASKS),
    Feature("speech_rate_syl_s", "syllables/s", "Speech rate",
            "Syllables per second from the first speech onset to the last offset (edges placed on 10-ms blocks).", _TIMING_FN, 0.10, _TIMING,
            FeatureDirection(-1, 0.35, "speech slower", "speech faster"), 0.25, SPEECH_TASKS, dashboard=True),
    Feature("articulation_rate_syl_s", "syllables/s", "Articulation rate", "Syllables per second of speech.",
            _TIMING_FN, 0.10, _TIMING, FeatureDirection(-1, 0.25, "articulation slower", "articulation faster"),
            0.25, SPEECH_TASKS, dashboard=True),
    Feature("pause_count", "pauses", "Pauses", "Silent pauses of at least 0.25 s between speech runs.",
            _PAUSE_FN, 1.0, tasks=SPEECH_TASKS),
    Feature("pause_rate_per_min", "pauses/min", "Pause frequency", "Pauses per minute of recording.", _PAUSE_FN, 1.0,
            _TIMING, FeatureDirection(+1, 0.25, "more frequent pauses", "fewer pauses"), 2.5, SPEECH_TASKS,
            dashboard=True),
    Feature("pause_mean_s", "s", "Mean pause", "Mean pause duration.", _PAUSE_FN, 0.05, _TIMING,
            FeatureDirection(+1, 0.30, "longer pauses", "shorter pauses"), 0.08, SPEECH_TASKS, dashboard=True),
    Feature("pause_median_s", "s", "Median pause", "Median pause duration.", _PAUSE_FN, 0.05, tasks=SPEECH_TASKS),
    Feature("pause_ratio", "fraction", "Pause ratio", "Pause time / (speech + pause time).", _PAUSE_FN, 0.02, _TIMING,
            FeatureDirection(+1, 0.35, "more time in pauses", "less time in pauses"), 0.035, SPEECH_TASKS),
    Feature("pause_mad_s", "s", "Pause variability", "Median absolute deviation of pause durations (at least 2 pauses).",
            "voice_features.extractors:pause_variability", 0.03,
            "More variable pauses with depression (Mundt et al. 2012; Yamamoto et al. 2020); not in the composite.",
            FeatureDirection(+1, 0.0, "pauses more uneven", "pauses more even"), tasks=SPEECH_TASKS),
    Feature("speech_rate_cv", "CV", "Speech-rate variability",
            "Coefficient of variation of articulation rate across speech runs of at least 0.5 s.", _TIMING_FN, 0.02,
            _TIMING, FeatureDirection(+1, 0.20, "speech rate more uneven", "speech rate steadier"), 0.04,
            SPEECH_TASKS, dashboard=True),
    Feature("f0_median_hz", "Hz", "Median F0", "Median F0 over voiced frames.", _F0_FN, 3.0, _MIXED),
    Feature("f0_median_st", "semitones", "Median F0 (st)", "Median F0 over voiced frames, semitones re 27.5 Hz.",
            _F0_FN, 0.3, _MIXED),
    Feature("f0_range_st", "semitones", "F0 range", "5th-95th percentile F0 range over voiced frames.", _F0_FN, 0.5,
            _PROSODY, FeatureDirection(-1, 0.20, "pitch range narrower", "pitch range wider"), 1.0, SPEECH_TASKS,
            dashboard=True),
    Feature("f0_sd_st", "semitones", "F0 variability", "Standard deviation of F0 over voiced frames.", _F0_FN, 0.2,
            _PROSODY, FeatureDirection(-1, 0.20, "intonation flatter", "intonation livelier"), 0.3, SPEECH_TASKS),
    Feature("f0_rel_sd", "fraction", "Relative F0 variability",
            "Standard deviation of F0 in Hz divided by its mean, over voiced frames.",
            "voice_features.extractors:f0_relative_variability", 0.01,
            f"{_PROSODY} Not in the composite (f0_sd_st carries intonation there).",
            FeatureDirection(-1, 0.0, "intonation flatter", "intonation livelier"), tasks=SPEECH_TASKS),
    Feature("intensity_mean_db", "dB", "Loudness", "Mean intensity over speech (energy average).",
            "voice_features.extractors:intensity", 1.0, _PROSODY,
            FeatureDirection(-1, 0.25, "voice quieter", "voice louder"), 2.0, dashboard=True),
    Feature("intensity_sd_db", "dB", "Loudness variability", "Standard deviation of the intensity contour over speech.",
            "voice_features.extractors:intensity_variability", 0.5,
            "Less varied loudness with depression (review of Cummins et al. 2015); not in the composite, no prior |r|.",
            FeatureDirection(-1, 0.0, "loudness flatter", "loudness livelier"), tasks=SPEECH_TASKS),
    Feature("jitter_local", "fraction", "Jitter", "Local jitter (Praat definition).", _VQ_FN, 0.001,
            f"{_MIXED} {_CODEC_DISTORTED}", codec_check="jitter_pct"),
    Feature("shimmer_local", "fraction", "Shimmer", "Local shimmer (Praat definition).", _VQ_FN, 0.005,
            f"{_MIXED} {_CODEC_DISTORTED}", codec_check="shimmer_pct"),
    Feature("hnr_db", "dB", "HNR", "Harmonics-to-noise ratio over voiced stretches (Praat cc).",
            "voice_features.extractors:hnr", 0.5, f"{_MIXED} {_CODEC_DISTORTED}", codec_check="hnr_db"),
    Feature("voiced_fraction", "fraction", "Voiced fraction", "Voiced frames / speech frames.",
            "voice_features.extractors:voicing", 0.02, _MIXED),
    Feature("cpp_db", "dB", "CPP", "Smoothed cepstral peak prominence over voiced speech (Praat PowerCepstrogram).",
            "voice_features.extractors:cpp", 0.3, f"{_MIXED} {_CODEC_DISTORTED}", codec_check="cpp_db"),
    *(Feature(f"f{k}_mean_hz", "Hz", f"F{k}", f"Mean F{k} over voiced frames (Praat Burg).",
              "voice_features.extractors:formants", 10.0 * k, f"{_MIXED} {_CODEC_BANDWIDTH_FORMANTS}",
              codec_check=f"f{k}_pct") for k in (1, 2, 3)),
    *(Feature(f"f{k}_bw_hz", "Hz", f"F{k} bandwidth", f"Mean F{k} bandwidth over voiced frames (Praat Burg).",
              "voice_features.extractors:formants", 5.0 + 5.0 * k, f"{_MIXED} {_CODEC_DISTORTED}",
              codec_check="bandwidth_pct")
      for k in (1, 2, 3)),
    *(Feature(f"mfcc{k}_{stat}", "dB", f"MFCC {k} {stat.upper()}", f"{name} of MFCC {k} over speech frames (librosa, 40 mel bands).",
              "voice_features.extractors:mfcc", floor, f"{_MIXED} {_CODEC_BANDWIDTH}", codec_check=f"mfcc_{stat}_db")
      for k in range(1, 14) for stat, name, floor in (("mean", "Mean", 0.5), ("sd", "Standard deviation", 0.3))),
)

FEATURE_NAMES: tuple[str, ...] = tuple(f.key for f in FEATURES)
BY_KEY: Mapping[str, Feature] = {f.key: f for f in FEATURES}

#: Features in the composite index and the risk model, with their direction and weight.
#: Features outside it are reported as unsigned z (e.g. F0 level, whose findings are mixed).
DEPRESSION_DIRECTIONS: Mapping[str, FeatureDirection] = {
    f.key: f.direction for f in FEATURES if f.direction is not None and f.direction.weight > 0
}
SCALE_FLOOR: Mapping[str, float] = {f.key: f.scale_floor for f in FEATURES}
#: ``(key, label, unit)`` of the features plotted on the patient page.
DASHBOARD_FEATURES: tuple[tuple[str, str, str], ...] = tuple((f.key, f.label, f.unit) for f in FEATURES if f.dashboard)


_TASK_REASON = {"sustained_vowel": gettext_noop(
    "Not defined for this task: a sustained vowel has no running speech: no syllables, pauses or intonation.")}

#: Every English template a withheld feature's reason is filled from (codec_trust's, then the tasks'), most
#: specific first; the dashboard translates a stored reason through them (docs/translation.md).
WITHHELD_TEMPLATES: tuple[str, ...] = (*REASON_TEMPLATES, *_TASK_REASON.values())


def _pattern(template: str) -> re.Pattern:
    """A template as a regular expression: each ``%(name)s`` a group, a name seen before the same text again."""
    out, seen = [], set()
    for literal, name in re.findall(r"(.*?)(?:%\((\w+)\)s|$)", template, flags=re.S):
        out.append(re.escape(literal))
        if name:
            out.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
            seen.add(name)
    return re.compile("".join(out) + r"\Z", flags=re.S)


_WITHHELD_PATTERNS = tuple((template, _pattern(template)) for template in WITHHELD_TEMPLATES)


def withheld_reason_fields(reason: str) -> tuple[str, dict[str, str]] | None:
    """The template and values a stored withheld-feature reason was filled from, or None (a reason worded by
    another version): ``template % values == reason``."""
    for template, pattern in _WITHHELD_PATTERNS:
        found = pattern.match(reason or "")
        if found and template % found.groupdict() == reason:
            return template, found.groupdict()
    return None


def withheld_features(keys: Iterable[str], *, task: str | None = None, codec: str | None = None,
                      bit_rate: int | None = None, sample_rate: int | None = None) -> dict[str, str]:
    """``{feature: reason}`` for the features of ``keys`` that a recording of ``task`` sent with this
    codec setting cannot be trusted for; the worker stores them as null with the reason.

    None for ``task`` or ``codec`` means unknown, which excludes nothing.
    """
    withheld = {}
    for key in keys:
        feature = BY_KEY.get(key)
        if feature is None:
            continue
        if task is not None and task not in feature.tasks:
            withheld[key] = _TASK_REASON.get(task) or f"Not defined for this task: {task}."
        elif feature.codec_check is not None:
            reason = codec_reason(feature.codec_check, codec=codec, bit_rate=bit_rate, sample_rate=sample_rate)
            if reason:
                withheld[key] = reason
    return withheld


def valid_for(key: str, *, task: str | None = None, codec: str | None = None, bit_rate: int | None = None,
              sample_rate: int | None = None) -> bool:
    """Whether feature ``key`` is trustworthy for a recording of ``task`` sent with this codec setting."""
    return not withheld_features([key], task=task, codec=codec, bit_rate=bit_rate, sample_rate=sample_rate)


_PAGE_HEAD = """# Voice features

Generated from `voice_features/registry.py` by `python -m voice_features.registry > docs/features.md`;
do not edit by hand. Feature-set version {version}.

Every feature is a float in the `features` object of a recording (API, `extract_features --json`),
null where undefined (no speech, too few voiced frames), never a made-up 0. Pitch values drop
Praat's unvoiced (0 Hz) frames; semitones are re 27.5 Hz.

**Depression direction**: "higher"/"lower" is the direction published for depression; the number
is the feature's weight in the composite voice-deviation index (its prior within-person |r| with
PHQ-9, see docs/screening.md); "none" means the literature gives no consistent direction, and the
feature is reported as an unsigned z only. **Tasks**: the recording protocols a feature means something
for (timing and intonation need running speech); for other tasks the feature is null with the reason.
**Codecs**: features that lossy codecs can distort are trusted for a codec setting only where
`benchmarks/bench_codecs.py` measured the change within the tolerance shown; elsewhere they are null
with the reason (`voice_features/codec_trust.py`, docs/voices.md).

## Adding a feature
1. Declare it once in `FEATURES` in `voice_features/registry.py` (key, unit, label, description, the
   function that computes it, scale floor, reference, direction if the literature gives one, tasks, codec check)
   and bump the minor part of `FEATURE_SET_VERSION`.
2. Write its function: it takes a `voice_features.speech.SpeechAnalysis` and returns a mapping holding
   the key (shared work — Praat objects, segments, pauses — is on the analysis object).
3. Write its known-answer test. Then regenerate this page.

Extraction, baselines (scale floor), deviations and the risk prior (direction and weight), the
dashboard plots and the simulators all read the registry.

## Features

"""


def features_page() -> str:
    """The whole of ``docs/features.md``."""
    return _PAGE_HEAD.format(version=FEATURE_SET_VERSION) + features_table_markdown()


def features_table_markdown() -> str:
    """The feature table of ``docs/features.md``, generated from the registry."""
    rows = ["| key | unit | meaning | depression direction (composite weight) | tasks | codecs | source |",
            "|---|---|---|---|---|---|---|"]
    for f in FEATURES:
        if f.direction is None:
            direction = "none"
        else:
            direction = ("higher" if f.direction.sign > 0 else "lower") + f" ({f.direction.weight:g})"
        tasks = "all" if f.tasks == TASKS else ", ".join(sorted(f.tasks))
        codecs = "any" if f.codec_check is None else "codec measured: {2} moved ≤ {0:g} {1}".format(
            *TOLERANCES[f.codec_check])
        rows.append(f"| `{f.key}` | {f.unit} | {f.description} | {direction} | {tasks} | {codecs} | {f.reference or '—'} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(features_page(), end="")
