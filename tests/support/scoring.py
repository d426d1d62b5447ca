"""Deviation scoring of a whole table of simulated recordings, for tests and method checks.

It composes the production pieces exactly as the screening service does for one patient
(:func:`screening.baselines.baseline.build_baseline` on the valid recordings before each
one, then :func:`screening.risk_model.deviation.deviation_from_baseline`), without the
database. The product never imports it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from screening.baselines.baseline import (
    FEATURE_KEYS,
    Baseline,
    BaselinePolicy,
    BaselineRecording,
    build_baseline,
)
from screening.risk_model.deviation import Deviation, deviation_from_baseline

__all__ = ["score_patient_history", "deviation_frame"]


def score_patient_history(
    recordings: Sequence[BaselineRecording],
    *,
    policy: BaselinePolicy = BaselinePolicy(),
) -> list[tuple[BaselineRecording, Baseline | None, Deviation | None]]:
    """Score every recording of one patient against the baseline that served it.

    Every recording is scored (a rejected one too, so the caller can show it), but
    only valid recordings ever enter a baseline. Recordings made before a baseline
    exists get ``(recording, None, None)``.
    """
    out = []
    for rec in sorted(recordings, key=lambda r: r.recorded_at):
        baseline = build_baseline(recordings, at=rec.recorded_at, policy=policy)
        deviation = (None if baseline is None else
                     deviation_from_baseline(rec.features, baseline, embedding=rec.embedding))
        out.append((rec, baseline, deviation))
    return out


def _records(frame: pd.DataFrame) -> list[BaselineRecording]:
    has_embedding = "embedding" in frame
    keys = [k for k in FEATURE_KEYS if k in frame]
    return [
        BaselineRecording(
            recording_id=str(row["recording_id"]),
            recorded_at=row["recorded_at"],
            features={k: row[k] for k in keys},
            embedding=row["embedding"] if has_embedding else None,
            rejected=bool(row.get("rejected", False)),
            speaker_mismatch=bool(row.get("speaker_mismatch", False)),
        )
        for row in frame.to_dict("records")
    ]


def deviation_frame(
    recordings: pd.DataFrame, *, policy: BaselinePolicy = BaselinePolicy()
) -> pd.DataFrame:
    """Deviation of every valid recording in a table (several patients).

    Parameters
    ----------
    recordings : DataFrame
        ``recording_id``, ``patient_id``, ``recorded_at``, feature columns, optional
        ``embedding``, ``rejected`` and ``speaker_mismatch``.

    Returns
    -------
    DataFrame
        One row per valid recording that had a baseline: ``recording_id``,
        ``patient_id``, ``recorded_at``, a column per z, ``composite``,
        ``embedding_drift``, ``embedding_drift_z``.
    """
    rows = []
    for patient_id, group in recordings.groupby("patient_id", sort=False):
        for rec, _, dev in score_patient_history(_records(group), policy=policy):
            if dev is None or not rec.valid:
                continue
            rows.append({"recording_id": rec.recording_id, "patient_id": patient_id,
                         "recorded_at": rec.recorded_at, **dev.z,
                         "composite": dev.composite,
                         "embedding_drift": dev.embedding_drift,
                         "embedding_drift_z": dev.embedding_drift_z})
    return pd.DataFrame(rows)
