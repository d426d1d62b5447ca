"""Voice measures on Spanish speech: speech rate, pauses and F0 within the English tolerances, on a small sample.

The whole measurement, every clip of every Spanish family, is ``benchmarks/bench_voices_es.py`` (its table is in
docs/voices.md, "Spanish"); truth and sources: tests/support/voices_es.py. Here: the first clips of each family.
Targets as for English: speech-rate bias within +-10 % and >= 80 % of clips within +-15 % (the synthesised
families; the recorded Mexican-Spanish prompts miss the second, see docs/voices.md), pause count within +-1,
F0 median moving with a pitch shift within 0.5 st and F0 range within 1 st.
"""

from __future__ import annotations

import numpy as np
import pytest

from clinic.protocols import PASSAGES
from tests.support import voices, voices_es
from tests.voice_features.conftest import require_binary
from voice_features.pipeline import analyse_file

SYNTHESISED = ("espeak-es", "espeak-es-419")
RECORDED = "asterisk-es-mx"
PER_FAMILY = 5


@pytest.fixture(scope="module")
def clips() -> dict[str, list[voices.Clip]]:
    require_binary("espeak-ng")
    require_binary("sox")
    by_family: dict[str, list[voices.Clip]] = {}
    for clip in voices_es.es_families(per_family=PER_FAMILY):
        by_family.setdefault(clip.family, []).append(clip)
    if RECORDED not in by_family:
        message = "Spanish prompts missing: apt-get install asterisk-core-sounds-es asterisk-core-sounds-es-wav"
        pytest.fail(message) if __import__("os").environ.get("CI") == "true" else pytest.skip(message)
    return by_family


@pytest.mark.parametrize("family", SYNTHESISED)
def test_speech_rate_on_synthesised_spanish_meets_the_english_target(clips, family):
    ratios = np.array([voices_es.rate_ratio(c) for c in clips[family]])
    assert abs(ratios.mean() - 1) <= 0.10, f"{family}: bias {ratios.mean() - 1:+.1%}"
    assert np.mean(np.abs(ratios - 1) <= 0.15) >= 0.80, f"{family}: {ratios}"


def test_speech_rate_on_recorded_spanish_keeps_its_bias_within_10_percent(clips):
    ratios = np.array([voices_es.rate_ratio(c) for c in clips[RECORDED]])
    assert abs(ratios.mean() - 1) <= 0.10, f"bias {ratios.mean() - 1:+.1%}: {ratios}"


@pytest.mark.parametrize("family", (*SYNTHESISED, RECORDED))
def test_pauses_between_spanish_sentences_are_counted_within_one(clips, family):
    count_error, mean_error = voices_es.pause_errors(clips[family][:3])
    assert abs(count_error) <= 1
    assert abs(mean_error) <= 0.15


@pytest.mark.parametrize("family", (SYNTHESISED[0], RECORDED))
def test_f0_follows_a_pitch_shift_of_spanish_speech(clips, family):
    median_error, range_change = voices_es.pitch_shift_errors(clips[family][1])
    assert abs(median_error) <= 0.5
    assert abs(range_change) <= 1.0


def test_a_spanish_read_passage_takes_its_speech_rate_from_its_syllable_count(tmp_path):
    """As in English: the passage's 183 syllables over the speech span, whatever the nucleus detector counts."""
    import subprocess

    passage = PASSAGES["viento_norte"]
    wav = tmp_path / "viento.wav"
    subprocess.run([require_binary("espeak-ng"), "-v", "es", "-s", "150", "-w", str(wav), passage.text], check=True)
    features = analyse_file(wav, known_syllables=passage.syllables, with_embedding=False)["features"]
    truth = passage.syllables / voices.reference_span_s(voices.load(voices.Clip("es", "viento", wav, "")))
    assert features["syllable_count"] == passage.syllables
    assert features["speech_rate_syl_s"] == pytest.approx(truth, rel=0.05)
