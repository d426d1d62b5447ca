"""Test–retest reliability of voice features: ICC(3,1) and the minimal detectable change.

Pure pandas/pingouin, no Django. A *pair* is two accepted recordings of the same patient and
task made a few days apart in a stable period (no PHQ-9 change of 5 points or more around
them), so the difference between them is measurement noise, not a change in mood.

ICC(3,1) is the two-way mixed, consistency, single-measurement ICC (Shrout & Fleiss 1979;
Koo & Li 2016): it ignores a systematic shift between the first and second session, which
is what a personal baseline removes anyway. SEM = SD × √(1 − ICC) with SD the SD of all the
pair values; MDC95 = 1.96 × √2 × SEM (Weir 2005): a change from one recording to the next
smaller than that cannot be told apart from measurement noise with 95 % confidence.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

__all__ = ["MIN_PAIRS", "Reliability", "RetestRecording", "exceeds_mdc", "feature_reliability", "retest_pairs"]

#: Fewer pairs than this give an ICC too unstable to act on.
MIN_PAIRS = 10
#: Minimal important difference of PHQ-9 (points): a period is stable when PHQ-9 moved less.
PHQ9_STABLE_BELOW = 5


@dataclass(frozen=True)
class RetestRecording:
    patient_id: int
    task: str
    recorded_at: datetime
    features: dict[str, float | None]


@dataclass(frozen=True)
class Reliability:
    task: str
    feature: str
    n_pairs: int
    icc: float | None
    icc_ci_low: float | None
    icc_ci_high: float | None
    sem: float | None
    mdc95: float | None
    reason: str = ""  # why the figures are missing


def _stable(patient_phq9: Sequence[tuple[datetime, int]], start: datetime, end: datetime) -> bool:
    """No PHQ-9 change of a minimal important difference between the answers bracketing [start, end]."""
    before = [total for at, total in patient_phq9 if at <= start]
    during = [total for at, total in patient_phq9 if start < at <= end]
    after = [total for at, total in patient_phq9 if at > end]
    around = ([before[-1]] if before else []) + during + ([after[0]] if after else [])
    return len(around) < 2 or max(around) - min(around) < PHQ9_STABLE_BELOW


def retest_pairs(
    recordings: Iterable[RetestRecording],
    phq9: dict[int, Sequence[tuple[datetime, int]]],
    *,
    min_days: float = 2.0,
    max_days: float = 14.0,
) -> list[tuple[RetestRecording, RetestRecording]]:
    """One pair per patient and task: the latest two recordings ``min_days``–``max_days`` apart in a stable period."""
    by_key: dict[tuple[int, str], list[RetestRecording]] = {}
    for rec in recordings:
        by_key.setdefault((rec.patient_id, rec.task), []).append(rec)
    pairs = []
    for (patient_id, _task), recs in by_key.items():
        recs.sort(key=lambda r: r.recorded_at)
        history = sorted(phq9.get(patient_id, ()))
        for later_index in range(len(recs) - 1, 0, -1):
            later = recs[later_index]
            earlier = next((r for r in reversed(recs[:later_index])
                            if timedelta(days=min_days) <= later.recorded_at - r.recorded_at <= timedelta(days=max_days)),
                           None)
            if earlier is not None and _stable(history, earlier.recorded_at, later.recorded_at):
                pairs.append((earlier, later))
                break
    return pairs


def _finite(value) -> bool:
    return value is not None and math.isfinite(float(value))


def feature_reliability(pairs: Sequence[tuple[RetestRecording, RetestRecording]], *, task: str,
                        features: Sequence[str]) -> list[Reliability]:
    """ICC(3,1), its 95 % CI, SEM and MDC95 per feature over the pairs of one task."""
    import pingouin  # loaded for a report, not with the module

    task_pairs = [p for p in pairs if p[0].task == task]
    out = []
    for feature in features:
        rows = [(i, session, float(rec.features[feature]))
                for i, pair in enumerate(task_pairs)
                if all(_finite(r.features.get(feature)) for r in pair)
                for session, rec in enumerate(pair)]
        n_pairs = len(rows) // 2
        if n_pairs < MIN_PAIRS:
            out.append(Reliability(task, feature, n_pairs, None, None, None, None, None,
                                   reason=f"insufficient data: {n_pairs} retest pairs, at least {MIN_PAIRS} needed"))
            continue
        frame = pd.DataFrame(rows, columns=["pair", "session", "value"])
        if frame["value"].std(ddof=1) == 0:
            out.append(Reliability(task, feature, n_pairs, None, None, None, None, None,
                                   reason="insufficient data: the feature does not vary between recordings"))
            continue
        table = pingouin.intraclass_corr(data=frame, targets="pair", raters="session", ratings="value")
        icc3 = table.set_index("Type").loc["ICC(C,1)"]  # pingouin's name for ICC(3,1): consistency, single
        icc = float(icc3["ICC"])
        low, high = (float(v) for v in icc3["CI95"])
        sem = float(frame["value"].std(ddof=1)) * math.sqrt(max(0.0, 1.0 - icc))
        out.append(Reliability(task, feature, n_pairs, icc, low, high, sem, 1.96 * math.sqrt(2.0) * sem))
    return out


def exceeds_mdc(change: float | None, mdc95: float | None) -> bool | None:
    """Whether a change is larger than the minimal detectable change (None when either is unknown)."""
    if not (_finite(change) and _finite(mdc95)):
        return None
    return bool(abs(float(change)) > float(mdc95))

