import math

from numpy.testing import assert_allclose

from voice_features.reading import rates_from_known_syllables


def test_it_divides_the_known_count_by_the_span_and_by_the_speech_time():
    rates = rates_from_known_syllables(syllables=30, speech_intervals=[(0.5, 2.5), (3.5, 6.5)])
    assert_allclose([rates["syllable_count"], rates["speech_rate_syl_s"], rates["articulation_rate_syl_s"]],
                    [30, 30 / 6.0, 30 / 5.0])


def test_it_gives_no_rate_without_speech():
    rates = rates_from_known_syllables(syllables=30, speech_intervals=[])
    assert math.isnan(rates["speech_rate_syl_s"]) and math.isnan(rates["articulation_rate_syl_s"])
