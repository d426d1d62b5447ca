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


def test_the_scoring_layer_reads_the_registry():
    from screening.scoring.baseline import FEATURE_KEYS
    from screening.scoring.baseline import SCALE_FLOOR as baseline_floor
    from screening.scoring.deviation import DEPRESSION_DIRECTIONS as deviation_directions
    from web.dashboard.selectors import KEY_FEATURES

    assert FEATURE_KEYS == registry.FEATURE_NAMES
    assert baseline_floor is SCALE_FLOOR and deviation_directions is DEPRESSION_DIRECTIONS
    assert [k for k, _, _ in KEY_FEATURES] == [f.key for f in FEATURES if f.dashboard]


@pytest.mark.parametrize(("codec", "family"), [("pcm_s16le", "pcm"), ("pcm_f32le", "pcm"), ("pcm_mulaw", "pcm_mulaw"),
                                               ("FLAC", "flac"), ("amr_nb", "amr_nb")])
def test_it_groups_codecs_into_families(codec, family):
    assert registry.codec_family(codec) == family


def test_it_says_which_task_and_codec_a_feature_is_valid_for():
    assert registry.valid_for("speech_rate_syl_s", task="read_passage")
    assert not registry.valid_for("speech_rate_syl_s", task="sustained_vowel")
    assert registry.valid_for("jitter_local", task="sustained_vowel", codec="pcm_s16le")
    assert not registry.valid_for("jitter_local", codec="amr_nb")
    assert registry.valid_for("jitter_local")  # unknown codec excludes nothing
    assert registry.valid_for("f0_median_hz", codec="opus")


def test_the_docs_page_is_generated_from_the_registry():
    page = registry.features_page()
    assert all(f"| `{f.key}` |" in page for f in FEATURES)
    assert registry.FEATURE_SET_VERSION in page
    assert "| `speech_rate_syl_s` | syllables/s |" in page and "| lower (0.35) |" in page
