"""Speech rate of a read text whose syllable count is known.

When a patient reads a known passage, counting syllables acoustically adds nothing but error:
the rates come from the text's syllable count and the measured speech timing instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["rates_from_known_syllables"]


def rates_from_known_syllables(*, syllables: int, speech_intervals: Sequence[tuple[float, float]]) -> dict[str, float]:
    """Syllable count, speech rate and articulation rate from a known syllable count.

    Parameters
    ----------
    syllables : int
        Syllables in the text that was read.
    speech_intervals : sequence of (start_s, end_s)
        Speech runs in time order, seconds.

    Returns
    -------
    dict
        ``syllable_count``; ``speech_rate_syl_s`` (per s from the first speech onset to the last
        offset); ``articulation_rate_syl_s`` (per s of speech). NaN rates when there is no speech.
    """
    runs = np.asarray(speech_intervals, dtype=float).reshape(-1, 2)
    span = float(runs[-1, 1] - runs[0, 0]) if len(runs) else 0.0
    speech = float((runs[:, 1] - runs[:, 0]).sum()) if len(runs) else 0.0
    return {
        "syllable_count": float(syllables),
        "speech_rate_syl_s": syllables / span if span > 0 else float("nan"),
        "articulation_rate_syl_s": syllables / speech if speech > 0 else float("nan"),
    }
