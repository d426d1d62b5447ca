"""Pair each PHQ-9 with the voice scores of the two weeks it asks about.

The PHQ-9 asks about the last two weeks, so the voice score compared with it is the
mean of that patient's recordings in the ``window_days`` before it:
``answered_at - window_days < recorded_at <= answered_at``. A PHQ-9 with fewer than
``min_recordings`` usable recordings in its window is not used, but it is counted with
its reason, never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from clinic.phq9 import MAX_TOTAL, WINDOW_DAYS
from screening.validation.text import gettext_noop

__all__ = [
    "PHQ9_COLUMNS",
    "SCORE_COLUMNS",
    "PAIR_COLUMNS",
    "PATIENT_COLUMNS",
    "UNPAIRED_NO_RECORDINGS",
    "UNPAIRED_TOO_FEW_RECORDINGS",
    "ValidationInputError",
    "require_columns",
    "PairingResult",
    "pair_phq9_with_voice",
    "window_slices",
]

PHQ9_COLUMNS = ("patient_id", "phq9_id", "answered_at", "total", "item9")
SCORE_COLUMNS = (
    "patient_id",
    "recording_id",
    "recorded_at",
    "voice_score",
    "predicted_phq9",
    "prob_ge10",
)
PATIENT_COLUMNS = ("patient_id", "sex", "birth_year", "language")
AGGREGATED_SCORES = ("voice_score", "predicted_phq9", "prob_ge10")
PAIR_COLUMNS = (
    "patient_id",
    "phq9_id",
    "answered_at",
    "phq9_total",
    "item9",
    "n_recordings",
    "voice_score",
    "predicted_phq9",
    "prob_ge10",
    "oof",
)

#: Only recordings with a personal voice score count: an early estimate (no personal baseline yet) has none.
UNPAIRED_NO_RECORDINGS = gettext_noop("no recordings with a voice score in the window")
UNPAIRED_TOO_FEW_RECORDINGS = gettext_noop("fewer recordings with a voice score in the window than the minimum")


class ValidationInputError(ValueError):
    """The data handed to the validation report are not usable as given."""


@dataclass(frozen=True)
class PairingResult:
    """PHQ-9 answers paired with their window's voice scores.

    Attributes
    ----------
    pairs : pandas.DataFrame
        One row per used PHQ-9, columns :data:`PAIR_COLUMNS`, sorted by patient and time.
        ``oof`` is True only when every recording in the window was scored out-of-fold.
    unpaired : pandas.DataFrame
        The PHQ-9 answers not used: patient_id, phq9_id, answered_at, n_recordings, reason.
    n_phq9 : int
        All PHQ-9 answers given.
    window_days, min_recordings : int
        The pairing rule that produced this result.
    """

    pairs: pd.DataFrame
    unpaired: pd.DataFrame
    n_phq9: int
    window_days: int
    min_recordings: int
    unpaired_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def n_unpaired(self) -> int:
        return len(self.unpaired)


def require_columns(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    """Raise :class:`ValidationInputError` naming the ``columns`` that ``frame`` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationInputError(f"{name} lacks columns: {', '.join(missing)}")


def _as_utc(series: pd.Series, name: str) -> pd.Series:
    # A naive timestamp is ambiguous by hours, which moves recordings across the window
    # edge; refuse rather than guess the zone.
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC")
    if any(pd.Timestamp(value).tzinfo is None for value in series):
        raise ValidationInputError(f"{name} must be timezone-aware")
    return pd.to_datetime(series, utc=True)


def _window_means(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Mean of ``values`` (NaN skipped) over recordings ``lo[i]:hi[i]``."""
    finite = np.isfinite(values)
    sums = np.concatenate([[0.0], np.cumsum(np.where(finite, values, 0.0))])
    counts = np.concatenate([[0], np.cumsum(finite)])
    n = counts[hi] - counts[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (sums[hi] - sums[lo]) / np.maximum(n, 1), np.nan)


def window_slices(
    recorded: np.ndarray, answered: np.ndarray, window_days: float
) -> tuple[np.ndarray, np.ndarray]:
    """The recordings each PHQ-9 is paired with: ``recorded[lo[i]:hi[i]]``.

    The one pairing rule of Cadence (fitting, calibration and validation): PHQ-9 ``i``
    covers the half-open window ``(answered[i] - window_days, answered[i]]``.
    Both are ``datetime64[ns]`` arrays (UTC); ``recorded`` must be sorted.
    """
    window = np.timedelta64(int(round(window_days * 86_400)), "s").astype("timedelta64[ns]")
    # side="right" on both edges gives the half-open window (answered - window, answered].
    lo = np.searchsorted(recorded, answered - window, side="right")
    hi = np.searchsorted(recorded, answered, side="right")
    return lo, hi


def _pair_one_patient(
    answers: pd.DataFrame, recordings: pd.DataFrame, window_days: float, columns: tuple[str, ...]
) -> pd.DataFrame:
    lo, hi = window_slices(recordings["recorded_at"].to_numpy(dtype="datetime64[ns]"),
                           answers["answered_at"].to_numpy(dtype="datetime64[ns]"), window_days)
    out = answers.copy()
    out["n_recordings"] = hi - lo
    for column in columns:
        out[column] = _window_means(recordings[column].to_numpy(dtype=float), lo, hi)
    oof = recordings["oof"].to_numpy(dtype=bool)
    not_oof = np.concatenate([[0], np.cumsum(~oof)])
    out["oof"] = (not_oof[hi] - not_oof[lo] == 0) & (hi > lo)
    return out


def _clean_scores(scores: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    require_columns(scores, ("patient_id", "recorded_at", "voice_score", *columns), "scores")
    clean = scores.copy()
    clean["recorded_at"] = _as_utc(clean["recorded_at"], "scores.recorded_at")
    # A recording without a voice score was not scored (rejected, failed): it must not
    # count towards the minimum number of recordings.
    clean = clean[np.isfinite(clean["voice_score"].astype(float))]
    # Without the column nobody has said the predictions were out-of-fold, so they are not.
    clean["oof"] = clean["oof"].fillna(False).astype(bool) if "oof" in clean else False
    return clean.sort_values(["patient_id", "recorded_at"], kind="stable")


def _clean_phq9(phq9: pd.DataFrame) -> pd.DataFrame:
    require_columns(phq9, PHQ9_COLUMNS, "phq9")
    clean = phq9.loc[:, list(PHQ9_COLUMNS)].copy()
    clean["answered_at"] = _as_utc(clean["answered_at"], "phq9.answered_at")
    totals = clean["total"].astype(float)
    if ((totals < 0) | (totals > MAX_TOTAL)).any() or totals.isna().any():
        raise ValidationInputError(f"PHQ-9 totals must lie in 0-{MAX_TOTAL}")
    return clean.rename(columns={"total": "phq9_total"}).sort_values(
        ["patient_id", "answered_at"], kind="stable"
    )


def _unpaired_reason(n_recordings: int) -> str:
    return UNPAIRED_NO_RECORDINGS if n_recordings == 0 else UNPAIRED_TOO_FEW_RECORDINGS


def pair_phq9_with_voice(
    phq9: pd.DataFrame,
    scores: pd.DataFrame,
    *,
    window_days: int = WINDOW_DAYS,
    min_recordings: int = 2,
    columns: tuple[str, ...] = AGGREGATED_SCORES,
) -> PairingResult:
    """Pair every PHQ-9 with the mean voice scores of the window before it.

    Parameters
    ----------
    phq9 : pandas.DataFrame
        Columns patient_id, phq9_id, answered_at (tz-aware), total (0-27), item9 (0-3).
    scores : pandas.DataFrame
        Per-recording scores: patient_id, recording_id, recorded_at (tz-aware),
        voice_score, predicted_phq9, prob_ge10 and optionally ``oof`` (bool).
        Recordings with a missing voice_score are ignored.
    window_days : int
        Length of the window before each PHQ-9, days.
    min_recordings : int
        Fewest scored recordings in the window for the PHQ-9 to be used.
    columns : tuple of str
        The per-recording columns averaged over the window (NaN skipped): the scores
        for validation, the signed z's for fitting the risk model.

    Returns
    -------
    PairingResult
    """
    if window_days <= 0 or min_recordings < 1:
        raise ValidationInputError("window_days must be > 0 and min_recordings >= 1")
    answers = _clean_phq9(phq9)
    columns = tuple(columns)
    recordings = _clean_scores(scores, columns)
    by_patient = dict(tuple(recordings.groupby("patient_id", sort=False)))
    empty = recordings.iloc[0:0]
    paired = [
        _pair_one_patient(group, by_patient.get(patient, empty), window_days, columns)
        for patient, group in answers.groupby("patient_id", sort=False)
    ]
    every = (
        pd.concat(paired, ignore_index=True)
        if paired
        else answers.assign(**{c: pd.Series(dtype=float) for c in ("n_recordings", *columns, "oof")})
    )
    pair_columns = list(dict.fromkeys([*PAIR_COLUMNS[:6], *columns, "oof"]))
    used = every["n_recordings"] >= min_recordings
    unpaired = every.loc[~used, ["patient_id", "phq9_id", "answered_at", "n_recordings"]]
    unpaired = unpaired.assign(reason=[_unpaired_reason(int(n)) for n in unpaired["n_recordings"]])
    return PairingResult(
        pairs=every.loc[used, pair_columns].reset_index(drop=True),
        unpaired=unpaired.reset_index(drop=True),
        n_phq9=len(answers),
        window_days=int(window_days),
        min_recordings=int(min_recordings),
        unpaired_reasons={str(k): int(v) for k, v in unpaired["reason"].value_counts().items()},
    )
