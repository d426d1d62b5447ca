"""The feature registry: one declaration per feature, read by every consumer."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from voice_features import registry
from voice_features.registry import BY_KEY, DEPRESSION_DIRECTIONS, FEATURES, SCALE_FLOOR, TASKS

REPO = Path(registry.__file__).resolve().parents[1]


def test_it_declares_each_key_once_with_what_people_read():
    keys = [f.key for f in FEATURES]
    assert len(keys) == len(set(keys))
    for f in FEATURES:
        assert f.unit and f.label and f.description.endswith("."), f.key
        assert f.scale_floor > 0, f.key
        assert f.tasks <= TASKS and f.tasks, f.key


def test_it_points_every_feature_at_a_function_that_exists():
    for f in FEATURES:
        module, name = f.computed_by.split(":")
        assert hasattr(importlib.import_module(module), name), f.computed_by


def test_it_gives_every_directional_feature_a_source_and_a_typical_day_sd():
    for key, direction in DEPRESSION_DIRECTIONS.items():
        assert direction.sign in (-1, 1) and 0 < direction.weight < 1
        assert BY_KEY[key].reference and BY_KEY[key].day_sd > SCALE_FLOOR[key]


@pytest.mark.parametrize(("codec", "family"), [("pcm_s16le", "lossless"), ("pcm_f32le", "lossless"), ("pcm_mulaw", "g711"),
                                               ("pcm_alaw", "g711"), ("FLAC", "lossless"), ("alac", "lossless"),
                                               ("amr_nb", "amr"), ("amrwb", "amr"), ("aac_latm", "aac"),
                                               ("mp3float", "mp3"), ("opus", "opus"), ("", "")])
def test_it_groups_codecs_into_one_set_of_families(codec, family):
    from screening.baselines import segments
    from voice_features.codec_trust import codec_family

    assert codec_family(codec) == family
    assert segments.codec_family is codec_family  # phone segments and codec trust share one definition


def test_it_says_which_task_and_codec_a_feature_is_valid_for():
    assert registry.valid_for("speech_rate_syl_s", task="read_passage")
    assert not registry.valid_for("speech_rate_syl_s", task="sustained_vowel")
    assert registry.valid_for("jitter_local", task="sustained_vowel", codec="pcm_s16le", sample_rate=16000)
    assert not registry.valid_for("jitter_local", codec="amrnb", bit_rate=12200, sample_rate=8000)
    assert registry.valid_for("jitter_local")  # unknown codec excludes nothing
    assert registry.valid_for("f0_median_hz", codec="amrnb")  # prosody holds on every codec measured


@pytest.mark.parametrize(("codec", "bit_rate", "sample_rate", "trusted", "withheld"), [
    # measured within tolerance / beyond it (voice_features/codec_trust.py:MEASUREMENTS)
    ("opus", 23578, 48000, {"jitter_local", "hnr_db", "cpp_db", "f1_mean_hz"}, {"shimmer_local", "mfcc2_mean"}),
    ("opus", 70000, 48000, {"shimmer_local", "mfcc2_sd"}, {"mfcc2_mean"}),
    ("aac", 67295, 44100, {"jitter_local", "shimmer_local", "f2_mean_hz"}, {"cpp_db", "f1_mean_hz"}),
    ("pcm_mulaw", 64000, 8000, {"jitter_local", "hnr_db"}, {"cpp_db", "f2_mean_hz", "f3_bw_hz", "mfcc1_mean"}),
    # an 8-kHz band does to lossless PCM what it does to μ-law
    ("pcm_s16le", 128000, 8000, {"jitter_local"}, {"f2_mean_hz", "mfcc1_mean"}),
    ("flac", None, 44100, {"cpp_db", "mfcc1_mean", "f1_bw_hz"}, set()),
    # never measured, or below every measured rate: withheld, and the reason says so
    ("amrwb", 23850, 16000, set(), {"jitter_local", "f1_mean_hz"}),
    ("vorbis", 96000, 44100, set(), {"hnr_db"}),
    ("aac", 24000, 44100, set(), {"jitter_local"}),
])
def test_it_trusts_a_codec_setting_only_where_it_was_measured_within_tolerance(codec, bit_rate, sample_rate,
                                                                             trusted, withheld):
    reasons = registry.withheld_features(trusted | withheld | {"speech_rate_syl_s", "f0_median_st"}, codec=codec,
                                         bit_rate=bit_rate, sample_rate=sample_rate)
    assert set(reasons) == withheld
    for reason in reasons.values():
        assert reason.endswith(".") and "_" not in reason and len(reason) > 60
    if codec in {"amrwb", "vorbis"} or bit_rate == 24000:
        assert all("not been measured" in r for r in reasons.values())


def test_a_sustained_vowel_has_no_speech_rate_but_keeps_its_voice_quality():
    keys = ["speech_rate_syl_s", "pause_count", "f0_range_st", "jitter_local", "hnr_db", "f0_median_hz"]
    reasons = registry.withheld_features(keys, task="sustained_vowel", codec="pcm_s16le", sample_rate=16000)
    assert set(reasons) == {"speech_rate_syl_s", "pause_count", "f0_range_st"}
    assert "sustained vowel" in reasons["speech_rate_syl_s"]


def test_the_docs_page_is_generated_from_the_registry():
    page = registry.features_page()
    assert all(f"| `{f.key}` |" in page for f in FEATURES)
    assert registry.FEATURE_SET_VERSION in page
    assert "| `speech_rate_syl_s` | syllables/s |" in page and "| lower (0.35) |" in page
