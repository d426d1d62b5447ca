"""Cadence voice features: prosody and voice quality from speech audio (no Django here).

>>> from voice_features import analyse, FEATURE_NAMES, FEATURE_SET_VERSION
>>> result = analyse(samples, sr=16000)          # doctest: +SKIP
>>> result.features["speech_rate_syl_s"], result.quality["accepted"]  # doctest: +SKIP

The heavy modules (parselmouth, scipy) load on first use of ``analyse``, so importing the
package (for example for ``voice_features.errors``) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voice_features.errors import VoiceFeaturesError

if TYPE_CHECKING:
    from voice_features.extraction import FEATURE_NAMES, FEATURE_SET_VERSION, AnalysisResult, analyse

__all__ = ["analyse", "AnalysisResult", "FEATURE_NAMES", "FEATURE_SET_VERSION", "VoiceFeaturesError"]

_LAZY = {"analyse", "AnalysisResult", "FEATURE_NAMES", "FEATURE_SET_VERSION"}


def __getattr__(name: str):
    if name in _LAZY:
        from voice_features import extraction

        return getattr(extraction, name)
    raise AttributeError(f"module 'voice_features' has no attribute {name!r}")
