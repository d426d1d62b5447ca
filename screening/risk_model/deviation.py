"""Deviation of one recording from the patient's own baseline.

Robust z-scores per feature, signed so that a positive value always means "moved in
the direction published for depression"; embedding drift from the baseline centroid;
and a composite voice-deviation index. Pure Python / NumPy: no Django.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from screening.baselines.baseline import (
    Baseline,
)
from screening.numbers import nan_if_none, none_if_nan
from voice_features import registry
from voice_features.registry import FeatureDirection

__all__ = [
    "FeatureDirection",
    "DEPRESSION_DIRECTIONS",
    "DIRECTIONAL_FEATURES",
    "Z_CLIP",
    "Deviation",
    "robust_z",
    "embedding_drift",
    "composite_index",
    "reliability_weights",
    "deviation_from_baseline",
    "aggregate_deviations",
]

#: Largest |z| kept; one wild recording (a cough, a door slam) should not dominate.
Z_CLIP = 6.0


#: The one table of depression directions, read from the feature registry (see
#: docs/features.md and docs/screening.md for sources). Features absent from it are
#: reported as unsigned z but do not enter the composite index or the risk model
#: (e.g. F0 level, whose findings are mixed).
DEPRESSION_DIRECTIONS: Mapping[str, FeatureDirection] = registry.DEPRESSION_DIRECTIONS

DIRECTIONAL_FEATURES: tuple[str, ...] = tuple(DEPRESSION_DIRECTIONS)


@dataclass(frozen=True)
class Deviation:
    """Deviation of one recording (or an aggregate) from a baseline.

    Attributes
    ----------
    z : dict
        Feature -> robust z. Signed (positive = depression direction) for features in
        :data:`DEPRESSION_DIRECTIONS`, plain ``(x - median) / scale`` for the others.
        NaN where the feature or its baseline is missing.
    composite : float
        Weighted mean of the signed z's (NaN if none is available).
    embedding_drift : float
        ``1 - cosine similarity`` to the baseline centroid (NaN without embeddings).
    embedding_drift_z : float
        Drift as a robust z against the baseline recordings' own drift.
    baseline_recording_ids : tuple of str
        Ids of the recordings in the baseline used, for reproducibility.
    n_recordings : int
        Recordings summarised (1 for a single recording).
    reliability : dict
        Feature -> reliability factor (0–1) the composite was weighted with (see
        :func:`reliability_weights`); empty when no test–retest figures existed.
    """

    z: Mapping[str, float]
    composite: float
    embedding_drift: float
    embedding_drift_z: float
    baseline_recording_ids: tuple[str, ...] = ()
    n_recordings: int = 1
    reliability: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "z": {k: none_if_nan(v) for k, v in self.z.items()},
            "composite": none_if_nan(self.composite),
            "embedding_drift": none_if_nan(self.embedding_drift),
            "embedding_drift_z": none_if_nan(self.embedding_drift_z),
            "baseline_recording_ids": list(self.baseline_recording_ids),
            "n_recordings": self.n_recordings,
            **({"reliability": dict(self.reliability)} if self.reliability else {}),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Deviation:
        return cls(
            z={k: nan_if_none(v) for k, v in data["z"].items()},
            composite=nan_if_none(data["composite"]),
            embedding_drift=nan_if_none(data["embedding_drift"]),
            embedding_drift_z=nan_if_none(data["embedding_drift_z"]),
            baseline_recording_ids=tuple(data.get("baseline_recording_ids", ())),
            n_recordings=int(data.get("n_recordings", 1)),
            reliability=dict(data.get("reliability") or {}),
        )


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def robust_z(value: float | None, *, median: float, scale: float, sign: int = 1) -> float:
    """Signed, clipped robust z: ``sign * (value - median) / scale`` within ±Z_CLIP.

    NaN if any input is missing or the scale is not positive.
    """
    if not (_finite(value) and _finite(median) and _finite(scale)) or scale <= 0:
        return math.nan
    z = float(sign * (value - median) / scale)
    return min(max(z, -Z_CLIP), Z_CLIP)  # np.clip's value for a finite float, without its per-call cost


def embedding_drift(embedding: Sequence[float], centroid: Sequence[float]) -> float:
    """``1 - cosine similarity`` between an embedding and a centroid (0 = same direction).

    NaN if either vector has zero norm.
    """
    a = np.asarray(embedding, dtype=float)
    b = np.asarray(centroid, dtype=float)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return math.nan
    return float(1.0 - np.dot(a, b) / (na * nb))


def reliability_weights(icc: Mapping[str, float | None]) -> dict[str, float]:
    """Reliability factor per directional feature from the clinic's test–retest ICC(3,1).

    A feature's share of the composite is its registry weight times this factor: the ICC clipped
    to [0, 1], so a feature that does not repeat (ICC ≤ 0) drops out and one with ICC 0.9 counts
    nine times as much as one with ICC 0.1. A directional feature without a measured ICC (too few
    stable pairs yet) gets the median of the measured ones, so it is neither favoured nor dropped.
    With no measured ICC at all the result is empty and the registry weights apply unchanged.
    """
    measured = {k: min(max(float(v), 0.0), 1.0) for k, v in icc.items()
                if k in DEPRESSION_DIRECTIONS and v is not None and math.isfinite(v)}
    if not measured:
        return {}
    typical = float(np.median(list(measured.values())))
    return {key: measured.get(key, typical) for key in DEPRESSION_DIRECTIONS}


def composite_index(z: Mapping[str, float], reliability: Mapping[str, float] | None = None) -> float:
    """Weighted mean of the signed z's of the directional features, NaN-aware.

    Each feature's weight is its registry weight, times its reliability factor when
    ``reliability`` (from :func:`reliability_weights`) is given. Missing features drop out
    and the weights of the others are renormalised.
    """
    num = den = 0.0
    for key, direction in DEPRESSION_DIRECTIONS.items():
        value = z.get(key, math.nan)
        weight = direction.weight * (reliability.get(key, 1.0) if reliability else 1.0)
        if _finite(value) and weight > 0:
            num += weight * value
            den += weight
    return num / den if den > 0 else math.nan


def deviation_from_baseline(
    features: Mapping[str, float | None],
    baseline: Baseline,
    *,
    embedding: Sequence[float] | None = None,
    reliability: Mapping[str, float] | None = None,
) -> Deviation:
    """Score one recording against a baseline snapshot.

    Parameters
    ----------
    features : mapping
        Feature key -> value in contract units (NaN/None allowed).
    baseline : Baseline
        The snapshot that serves this recording.
    embedding : sequence of float, optional
        The recording's voice embedding.
    reliability : mapping, optional
        Reliability factors for the composite, from :func:`reliability_weights` for the
        recording's task.

    Returns
    -------
    Deviation
    """
    z = {}
    for key, stats in baseline.features.items():
        sign = DEPRESSION_DIRECTIONS[key].sign if key in DEPRESSION_DIRECTIONS else 1
        z[key] = robust_z(features.get(key), median=stats.median, scale=stats.scale,
                          sign=sign)
    for key in DEPRESSION_DIRECTIONS:
        z.setdefault(key, math.nan)
    drift = drift_z = math.nan
    if embedding is not None and baseline.embedding_centroid is not None:
        drift = embedding_drift(embedding, baseline.embedding_centroid)
        drift_z = robust_z(drift, median=baseline.drift_median, scale=baseline.drift_scale)
    return Deviation(
        z=z,
        composite=composite_index(z, reliability),
        embedding_drift=drift,
        embedding_drift_z=drift_z,
        baseline_recording_ids=baseline.recording_ids,
        reliability=dict(reliability or {}),
    )


def aggregate_deviations(deviations: Sequence[Deviation]) -> Deviation:
    """Summarise several recordings (a patient-week, the 14 days before a PHQ-9).

    Each z is the NaN-aware mean over recordings; the composite is recomputed from
    those means, weighted by the members' mean reliability factors (recordings of different
    tasks carry different ones). With no recordings every value is NaN and ``n_recordings`` is 0.
    """
    keys = sorted({k for d in deviations for k in d.z} | set(DEPRESSION_DIRECTIONS))
    z = {k: _nanmean([d.z.get(k, math.nan) for d in deviations]) for k in keys}
    ids = tuple(dict.fromkeys(i for d in deviations for i in d.baseline_recording_ids))
    weighted = [d.reliability for d in deviations if d.reliability]
    reliability = ({k: float(np.mean([r.get(k, 1.0) for r in weighted])) for k in DEPRESSION_DIRECTIONS}
                   if weighted else {})
    return Deviation(
        z=z,
        composite=composite_index(z, reliability),
        embedding_drift=_nanmean([d.embedding_drift for d in deviations]),
        embedding_drift_z=_nanmean([d.embedding_drift_z for d in deviations]),
        baseline_recording_ids=ids,
        n_recordings=len(deviations),
        reliability=reliability,
    )


def _nanmean(values: Sequence[float]) -> float:
    if len(values) < 8:
        # NumPy adds fewer than 8 numbers one after another from 0.0, as this does: the same
        # result without its per-call cost (a patient-week has a handful of recordings).
        finite = [float(v) for v in values if v is not None and math.isfinite(v)]
        return sum(finite, 0.0) / len(finite) if finite else math.nan
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else math.nan
