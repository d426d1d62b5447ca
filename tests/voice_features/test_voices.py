"""Speech rate on several voice families at once: eSpeak NG, three Festival voices and recorded human speech.

Ground truth and sources: tests/support/voices.py (syllables from the transcripts via
Festival's CMU lexicon). The same measurement is printed in full by benchmarks/bench_voices.py.
Targets (issue 12): systematic bias within +-10 % and >= 80 % of clips within +-15 %, per family.
Families still off target are marked xfail(strict) with the level they reach guarded, so an
improvement or a regression both show.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.support import voices
from tests.voice_features.conftest import require_binary
from voice_features import analyse

ROOT = Path(__file__).resolve().parents[2]
MET = ("espeak", "festival-kal", "festival-ked", "festival-hts", "cards")
NOT_YET = {"librivox": 0.20, "studio-read": 0.15, "words": 0.16}
"""Families short of the target, with the |bias| they stay within today (a regression guard)."""


def _require_recorded_speech() -> None:
    if not (voices.SPEECH_DIR / "arctic" / "arctic_a0009.wav").exists():
        subprocess.run(["bash", str(ROOT / "scripts" / "fetch_speech.sh")], capture_output=True, check=False)
    missing = [name for name, path in voices.RECORDED_SOURCES.items() if not Path(path).exists()]
    if missing:
        message = f"recorded speech missing: {', '.join(missing)} (bash scripts/bootstrap.sh --dev)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def ratios() -> dict[str, np.ndarray]:
    for binary in ("espeak-ng", "festival", "text2wave"):
        require_binary(binary)
    _require_recorded_speech()
    by_family: dict[str, list[float]] = {}
    for clip in voices.families(synth_per_family=10):
        x = voices.load(clip)
        truth = clip.syllables / voices.reference_span_s(x)
        estimate = analyse(x, sr=voices.SR).features["speech_rate_syl_s"]
        by_family.setdefault(clip.family, []).append(estimate / truth if np.isfinite(estimate) else 0.0)
    return {family: np.asarray(r) for family, r in by_family.items()}


def _bias(r: np.ndarray) -> float:
    return float(np.mean(r) - 1.0)


def _within(r: np.ndarray) -> float:
    return float(np.mean(np.abs(r - 1.0) <= 0.15))


def test_every_family_is_measured(ratios):
    assert set(ratios) == set(MET) | set(NOT_YET)
    assert all(r.size >= 3 for r in ratios.values())


@pytest.mark.parametrize("family", MET)
def test_speech_rate_meets_the_target_on(ratios, family):
    r = ratios[family]
    assert abs(_bias(r)) <= 0.10, f"{family}: bias {_bias(r):+.1%}"
    assert _within(r) >= 0.80, f"{family}: {_within(r):.0%} of clips within 15 %"


@pytest.mark.parametrize("family", sorted(NOT_YET))
def test_families_short_of_the_target_do_not_regress(ratios, family):
    assert abs(_bias(ratios[family])) <= NOT_YET[family], f"{family}: bias {_bias(ratios[family]):+.1%}"


@pytest.mark.xfail(strict=True, reason="real connected speech still reads low (syllables merge); see docs/voices.md")
@pytest.mark.parametrize("family", sorted(NOT_YET))
def test_speech_rate_target_on_recorded_speech(ratios, family):
    r = ratios[family]
    assert abs(_bias(r)) <= 0.10 and _within(r) >= 0.80
