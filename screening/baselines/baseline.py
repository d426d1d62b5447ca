"""Personal voice baselines: robust per-feature centre and scale for one patient.

A baseline is an immutable snapshot built from a patient's own earlier, valid
recordings. It stores everything needed to reproduce a past deviation score:
per-feature median, scale and count, the embedding centroid and the spread of the
baseline recordings' own embedding drift, and the ids of the recordings it used.

Pure Python / NumPy: no Django. The screening service stores ``Baseline.to_json()``.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

import numpy as np

from screening.numbers import nan_if_none, none_if_nan
from voice_features import registry

__all__ = [
    "FEATURE_KEYS",
    "DEFAULT_TASK",
    "MAD_TO_SD",
    "SCALE_FLOOR",
    "BaselinePolicy",
    "FeatureStats",
    "Baseline",
    "BaselineRecording",
    "robust_stats",
    "select_baseline_recordings",
    "choose_from_candidates",
    "SortedCandidates",
    "build_baseline",
]

#: Feature keys of the ``voice_features`` registry (docs/features.md).
FEATURE_KEYS: tuple[str, ...] = registry.FEATURE_NAMES

#: Makes the median absolute deviation a consistent estimator of a normal SD.
MAD_TO_SD = 1.4826

#: Smallest scale (feature units) a baseline may have, per feature (declared in the
#: feature registry). Five recordings of a very steady speaker can give a MAD near 0,
#: and then an ordinary day would score z = 20.
SCALE_FLOOR: Mapping[str, float] = registry.SCALE_FLOOR

#: The task of a recording that names none (clinic.protocols.Task.FREE_SPEECH).
DEFAULT_TASK = "free_speech"

#: Floor for the scale of embedding drift (1 - cosine similarity).
DRIFT_SCALE_FLOOR = 0.01


@dataclass(frozen=True)
class BaselinePolicy:
    """Which earlier recordings form the baseline for a recording made at time ``t``.

    Parameters
    ----------
    The rolling window is ``[t - window_days, t - guard_days)``: a lagged window.
    Depression develops over weeks and an episode lasts months; a window of the last
    few weeks would absorb the very change it should detect (the deviation of a
    steadily worsening patient would stay flat). A lag of 90 days keeps the baseline
    on the patient's earlier normal through the onset of an episode, while still
    following slow changes unrelated to mood (a new phone, ageing, season) within
    about three months. See docs/screening.md.

    Parameters
    ----------
    n_initial : int
        Valid recordings needed before any baseline exists (the enrolment baseline).
    window_days : float
        Oldest recording age in the rolling window, days before ``t``.
    guard_days : float
        Recordings younger than ``guard_days`` never enter the rolling window.
    max_n : int
        At most this many (the most recent) recordings of the window are used.
    min_days : int
        A baseline's recordings must come from at least this many distinct days: five
        uploads in one minute say nothing about a patient's day-to-day range.
    """

    n_initial: int = 5
    window_days: float = 365.0
    guard_days: float = 90.0
    max_n: int = 40
    min_days: int = 3

    def to_dict(self) -> dict[str, Any]:
        return {
            "min_days": self.min_days,
            "n_initial": self.n_initial,
            "window_days": self.window_days,
            "guard_days": self.guard_days,
            "max_n": self.max_n,
        }


@dataclass(frozen=True)
class BaselineRecording:
    """One candidate recording for a baseline (plain data, e.g. from a queryset).

    ``features`` maps feature keys to floats (NaN/None where undefined);
    ``embedding`` is an optional vector; ``rejected``/``speaker_mismatch`` exclude it.
    ``task`` is the recording task (clinic.protocols.Task), ``language`` the language spoken
    and ``segment`` the phone segment (:mod:`screening.baselines.segments`): a recording's
    baseline is built only from earlier recordings of the same task, language and segment.
    """

    recording_id: str
    recorded_at: datetime
    features: Mapping[str, float | None]
    embedding: Sequence[float] | None = None
    rejected: bool = False
    speaker_mismatch: bool = False
    task: str = DEFAULT_TASK
    segment: str = ""
    language: str = "en"

    @property
    def valid(self) -> bool:
        return not (self.rejected or self.speaker_mismatch)


@dataclass(frozen=True)
class FeatureStats:
    """Robust centre and scale of one feature: ``median``, ``scale`` (units), ``n``."""

    median: float
    scale: float
    n: int


@dataclass(frozen=True)
class Baseline:
    """Immutable baseline snapshot of one patient.

    Attributes
    ----------
    features : dict
        Feature key -> :class:`FeatureStats`. Features with no valid value are absent.
    embedding_centroid : tuple of float or None
        Mean of the L2-normalised baseline embeddings.
    drift_median, drift_scale : float
        Centre and (floored) robust scale of the baseline recordings' own
        leave-one-out drift ``1 - cos`` from the centroid; NaN without embeddings.
    recording_ids : tuple of str
        The recordings the baseline was built from, oldest first.
    built_at : datetime
        When it was built (the time of the recording it serves, for reproducibility).
    kind : str
        ``"initial"`` (first ``n_initial`` valid recordings) or ``"rolling"``.
    task, segment : str
        The recording task and phone segment the baseline belongs to.
    """

    features: Mapping[str, FeatureStats]
    embedding_centroid: tuple[float, ...] | None
    drift_median: float
    drift_scale: float
    recording_ids: tuple[str, ...]
    built_at: datetime
    kind: str
    policy: BaselinePolicy = field(default_factory=BaselinePolicy)
    task: str = DEFAULT_TASK
    segment: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": {
                k: {"median": v.median, "scale": v.scale, "n": v.n}
                for k, v in self.features.items()
            },
            "embedding_centroid": (
                None if self.embedding_centroid is None else list(self.embedding_centroid)
            ),
            "drift_median": none_if_nan(self.drift_median),
            "drift_scale": none_if_nan(self.drift_scale),
            "recording_ids": list(self.recording_ids),
            "built_at": self.built_at.isoformat(),
            "kind": self.kind,
            "policy": self.policy.to_dict(),
            "task": self.task,
            "segment": self.segment,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Baseline:
        centroid = data.get("embedding_centroid")
        return cls(
            features={
                k: FeatureStats(float(v["median"]), float(v["scale"]), int(v["n"]))
                for k, v in data["features"].items()
            },
            embedding_centroid=None if centroid is None else tuple(float(c) for c in centroid),
            drift_median=nan_if_none(data.get("drift_median")),
            drift_scale=nan_if_none(data.get("drift_scale")),
            recording_ids=tuple(str(r) for r in data["recording_ids"]),
            built_at=datetime.fromisoformat(data["built_at"]),
            kind=str(data["kind"]),
            policy=BaselinePolicy(**data.get("policy", {})),
            task=str(data.get("task", DEFAULT_TASK)),
            segment=str(data.get("segment", "")),
        )

    @classmethod
    def from_json(cls, text: str) -> Baseline:
        return cls.from_dict(json.loads(text))


def robust_stats(values: Sequence[float | None], *, floor: float = 0.0) -> FeatureStats:
    """Median and floored, normal-consistent MAD of the finite values.

    Parameters
    ----------
    values : sequence of float
        One feature over the baseline recordings; NaN/None are ignored.
    floor : float
        Minimum scale, feature units.

    Returns
    -------
    FeatureStats
        ``scale = max(1.4826 * MAD, floor)``; NaN centre/scale when no finite value.
    """
    x = np.asarray([np.nan if v is None else v for v in values], dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return FeatureStats(math.nan, math.nan, 0)
    median = float(np.median(x))
    mad = float(np.median(np.abs(x - median)))
    return FeatureStats(median, max(MAD_TO_SD * mad, floor), int(x.size))


def select_baseline_recordings(
    recordings: Sequence[BaselineRecording],
    *,
    at: datetime,
    policy: BaselinePolicy = BaselinePolicy(),
    task: str | None = None,
    segment: str | None = None,
    language: str | None = None,
) -> tuple[list[BaselineRecording], str]:
    """Choose the recordings that form the baseline for a recording made at ``at``.

    Only valid recordings made strictly before ``at`` are candidates (so the recording
    being scored never enters its own baseline), and, where ``task`` / ``segment`` /
    ``language`` are given, only those of that task, phone segment and language. With fewer than ``n_initial``
    candidates there is no baseline (empty list). The rolling window is the last
    ``max_n`` candidates made in ``[at - window_days, at - guard_days)``; while that
    holds fewer than ``n_initial`` recordings (the first weeks, or after a long gap)
    the most recent ``n_initial`` candidates older than the guard are used, and failing
    that the first ``n_initial`` candidates (the enrolment baseline). Every set must also
    span ``min_days`` distinct days; where it does not, it grows until it does.

    Returns
    -------
    recordings : list of BaselineRecording
        Oldest first.
    kind : str
        ``"initial"``, ``"rolling"`` or ``"none"``.
    """
    candidates = sorted((r for r in recordings if r.valid and r.recorded_at < at
                         and (task is None or r.task == task) and (segment is None or r.segment == segment)
                         and (language is None or r.language == language)),
                        key=lambda r: (r.recorded_at, r.recording_id))
    return choose_from_candidates(candidates, at=at, policy=policy)


def choose_from_candidates(
    candidates: Sequence[BaselineRecording], *, at: datetime, policy: BaselinePolicy = BaselinePolicy()
) -> tuple[list[BaselineRecording], str]:
    """:func:`select_baseline_recordings` once its candidates are chosen: ``candidates`` are the valid
    recordings of the task and segment made before ``at``, ordered by (recorded_at, recording_id)."""
    return SortedCandidates(candidates).choose(len(candidates), at=at, policy=policy)


class SortedCandidates:
    """Baseline candidates in baseline order (by time), with what choosing reads precomputed: their times and a
    running count of the days they start, so that the nightly run, which plans a baseline for every recording
    of a patient, counts the distinct days of any run of them in constant time instead of building a set each
    time. ``choose(k, ...)`` is :func:`choose_from_candidates` over the first ``k``."""

    def __init__(self, records: Sequence[BaselineRecording]) -> None:
        self.records = list(records)
        self.times = [r.recorded_at for r in self.records]
        days = [t.date() for t in self.times]
        # Distinct days of a run are counted from where the day changes, which needs equal days to be adjacent
        # (true of times in one zone, as the database gives them); otherwise days are counted as a set.
        self._days_list = None if all(a <= b for a, b in zip(days, days[1:])) else days
        self._starts = [0]
        for j, day in enumerate(days):
            self._starts.append(self._starts[-1] + (j == 0 or day != days[j - 1]))

    def days(self, start: int, end: int) -> int:
        """Distinct days among ``records[start:end]``."""
        if end <= start:
            return 0
        if self._days_list is not None:
            return len(set(self._days_list[start:end]))
        return 1 + self._starts[end] - self._starts[start + 1]

    def _enough(self, start: int, end: int, policy: BaselinePolicy) -> bool:
        return end - start >= policy.n_initial and self.days(start, end) >= policy.min_days

    def choose(self, k: int, *, at: datetime, policy: BaselinePolicy = BaselinePolicy()
               ) -> tuple[list[BaselineRecording], str]:
        if not self._enough(0, k, policy):
            return [], "none"
        # The candidates made before the guard are a leading run (times are sorted), the window the last
        # max_n of them made after its start.
        guard = min(k, bisect_left(self.times, at - timedelta(days=policy.guard_days)))
        opens = bisect_left(self.times, at - timedelta(days=policy.window_days))
        start = max(min(opens, guard), guard - policy.max_n)
        if self._enough(start, guard, policy):
            return self.records[start:guard], "rolling"
        for n in range(policy.n_initial, guard + 1):  # the shortest enough run ending at the guard
            if self.days(guard - n, guard) >= policy.min_days:
                return self.records[guard - n:guard], "rolling"
        for n in range(policy.n_initial, k + 1):  # the enrolment baseline: the shortest enough leading run
            if self.days(0, n) >= policy.min_days:
                return self.records[:n], "initial"
        return [], "initial"


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def _embedding_summary(
    embeddings: list[Sequence[float]],
) -> tuple[tuple[float, ...] | None, float, float]:
    """Centroid and leave-one-out drift centre/scale of the baseline embeddings."""
    if len(embeddings) < 2:
        if len(embeddings) == 1:
            return tuple(_unit(np.asarray(embeddings, dtype=float))[0]), math.nan, math.nan
        return None, math.nan, math.nan
    units = _unit(np.asarray(embeddings, dtype=float))
    centroid = units.mean(axis=0)
    # Leave-one-out: a recording is part of the full centroid, so its drift from it
    # would understate how far a new recording normally lies.
    n = units.shape[0]
    loo = (centroid[None, :] * n - units) / (n - 1)
    cos = np.sum(_unit(loo) * units, axis=1)
    stats = robust_stats(list(1.0 - cos), floor=DRIFT_SCALE_FLOOR)
    return tuple(float(c) for c in centroid), stats.median, stats.scale


def _values(features: Mapping[str, float | None], keys: list[str]) -> list | tuple:
    """``[features.get(key) for key in keys]``; one C call where every key is there (a catch-up night builds
    ten thousand baselines of 20-40 recordings each)."""
    if len(keys) > 1:
        try:
            return itemgetter(*keys)(features)
        except KeyError:
            pass
    return [features.get(key) for key in keys]


def _feature_stats(chosen: Sequence[BaselineRecording], feature_keys: Sequence[str]) -> dict[str, FeatureStats]:
    """:func:`robust_stats` of every feature over the chosen recordings (features with no finite value left
    out): the columns with a value in every recording in one NumPy call, the others one by one. The same
    floats: a column's median and MAD are the same operations whether NumPy takes it alone or along an axis."""
    keys = list(feature_keys)
    matrix = np.array([_values(r.features, keys) for r in chosen], dtype=float).reshape(len(chosen), len(keys))
    complete = np.isfinite(matrix).all(axis=0)
    medians = np.median(matrix[:, complete], axis=0)
    mads = np.median(np.abs(matrix[:, complete] - medians), axis=0)
    full = dict(zip(np.flatnonzero(complete).tolist(), zip(medians.tolist(), mads.tolist(), strict=True),
                    strict=True))
    n = len(chosen)
    stats = {}
    for i, key in enumerate(keys):
        if i in full:
            median, mad = full[i]
            s = FeatureStats(median, max(MAD_TO_SD * mad, SCALE_FLOOR.get(key, 0.0)), n)
        else:
            s = robust_stats(matrix[:, i], floor=SCALE_FLOOR.get(key, 0.0))
        if s.n > 0:
            stats[key] = s
    return stats


def build_baseline(
    recordings: Sequence[BaselineRecording],
    *,
    at: datetime,
    policy: BaselinePolicy = BaselinePolicy(),
    feature_keys: Sequence[str] = FEATURE_KEYS,
    task: str | None = None,
    segment: str | None = None,
    chosen: tuple[list[BaselineRecording], str] | None = None,
) -> Baseline | None:
    """Build the baseline snapshot that serves a recording made at ``at``.

    Parameters
    ----------
    recordings : sequence of BaselineRecording
        The patient's recordings (any order; invalid ones are skipped).
    at : datetime
        Time of the recording to be scored.
    policy : BaselinePolicy
        Window rules.
    feature_keys : sequence of str
        Features to summarise.
    task, segment : str, optional
        Build only from recordings of this task and phone segment (None: any).
    chosen : (recordings, kind), optional
        A selection :func:`select_baseline_recordings` already made for ``at``.

    Returns
    -------
    Baseline or None
        None while the patient has fewer than ``policy.n_initial`` valid recordings.
    """
    chosen, kind = chosen or select_baseline_recordings(recordings, at=at, policy=policy, task=task, segment=segment)
    if not chosen:
        return None
    stats = _feature_stats(chosen, feature_keys)
    embeddings = [r.embedding for r in chosen if r.embedding is not None]
    centroid, drift_median, drift_scale = _embedding_summary(embeddings)
    return Baseline(
        features=stats,
        embedding_centroid=centroid,
        drift_median=drift_median,
        drift_scale=drift_scale,
        recording_ids=tuple(r.recording_id for r in chosen),
        built_at=at,
        kind=kind,
        policy=policy,
        task=task or DEFAULT_TASK,
        segment=segment or "",
    )
