"""The patient's personal level: empirical-Bayes calibration to their own PHQ-9 history.

Each PHQ-9 is paired with the recordings of the window it asks about by the one pairing
rule of Cadence (:func:`screening.validation.pairing.window_slices`); its residual is the
total minus the mean population prediction of those recordings, and the patient's level
(``u_patient`` of :mod:`screening.risk_model.model`) is the shrunken mean residual.

The level is a property of the patient, not of a day: the scores a clinician reads all
carry the *same* level, the one estimated from every PHQ-9 answered so far
(:meth:`Calibrations.latest`). A level that stepped each time a PHQ-9 arrived would
put the model's learning into the patient's curve: on simulated cohorts those steps
took the within-patient correlation of the predicted PHQ-9 with PHQ-9 from 0.60 (the
voice's own) down to 0.35-0.47 (docs/screening.md, "Personal level").
:meth:`Calibrations.at` (PHQ-9s answered up to a time) and :meth:`Calibrations.before`
(strictly before it) are kept for prospective evaluation. Pure Python / NumPy: no Django.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from clinic.phq9 import WINDOW_DAYS
from screening.risk_model.model import RiskModel
from screening.validation.pairing import window_slices

__all__ = ["PatientCalibration", "patient_calibration", "phq9_residuals", "Calibrations"]


@dataclass(frozen=True)
class PatientCalibration:
    """Empirical-Bayes estimate of one patient's offset from the population model.

    ``offset = shrinkage * mean_residual`` with
    ``shrinkage = n * tau2 / (n * tau2 + sigma2)``; ``variance`` is the posterior
    variance ``tau2 * sigma2 / (n * tau2 + sigma2)`` (= tau2 with n = 0).
    """

    offset: float
    variance: float
    n: int
    shrinkage: float

    def to_dict(self) -> dict[str, Any]:
        return {"offset": self.offset, "variance": self.variance, "n": self.n,
                "shrinkage": self.shrinkage}


def patient_calibration(
    residuals: Sequence[float], *, model: RiskModel
) -> PatientCalibration:
    """Shrink the mean residual of a patient's PHQ-9s toward the population.

    Parameters
    ----------
    residuals : sequence of float
        ``observed PHQ-9 - population prediction`` (points) for each of the patient's
        PHQ-9s with voice data; NaN entries are ignored.
    model : RiskModel
        Supplies ``tau2`` and ``sigma2``.

    Returns
    -------
    PatientCalibration
        Offset 0 and variance ``tau2`` when there is no residual.
    """
    r = np.asarray(residuals, dtype=float)
    r = r[np.isfinite(r)]
    n = int(r.size)
    denominator = n * model.tau2 + model.sigma2
    shrinkage = n * model.tau2 / denominator if denominator > 0 else 0.0
    offset = shrinkage * float(r.mean()) if n else 0.0
    variance = model.tau2 * model.sigma2 / denominator if denominator > 0 else 0.0
    return PatientCalibration(offset=offset, variance=variance, n=n, shrinkage=shrinkage)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _utc_ns(times: Sequence[datetime]) -> np.ndarray:
    times = list(times)
    if all(type(t) is datetime for t in times):
        # Plain datetimes (what the database gives): exact integer microseconds, as pandas would
        # give, without building a Series for every patient; naive ones are taken as UTC, as there.
        micros = [((t if t.tzinfo is not None else t.replace(tzinfo=UTC)) - _EPOCH) // _MICROSECOND
                  for t in times]
        return (np.array(micros, dtype=np.int64) * 1000).view("datetime64[ns]")
    return pd.to_datetime(pd.Series(times, dtype=object), utc=True).to_numpy(dtype="datetime64[ns]")


def phq9_residuals(
    phq9: Sequence[tuple[datetime, float]],
    population: Sequence[tuple[datetime, float]],
    *,
    window_days: float = WINDOW_DAYS,
) -> list[tuple[datetime, float]]:
    """Each PHQ-9 total minus the mean population PHQ-9 of the recordings in its window.

    Parameters
    ----------
    phq9 : sequence of (answered_at, total)
    population : sequence of (recorded_at, population PHQ-9), one per recording
    window_days : float
        The window ``(answered_at - window_days, answered_at]`` the PHQ-9 asks about.

    Returns
    -------
    list of (answered_at, residual)
        Only PHQ-9s with at least one recording in their window, in the given order.
    """
    if not phq9 or not population:
        return []
    ordered = sorted(population, key=lambda item: item[0])
    values = np.array([value for _, value in ordered], dtype=float)
    lo, hi = window_slices(_utc_ns([t for t, _ in ordered]), _utc_ns([t for t, _ in phq9]),
                           window_days)
    return [(answered_at, float(total) - float(values[a:b].mean()))
            for (answered_at, total), a, b in zip(phq9, lo, hi, strict=True) if b > a]


class Calibrations:
    """A patient's level from the PHQ-9 residuals answered up to any time.

    ``residuals`` must be in time order. :attr:`latest` uses all of them (what every
    served score carries); :meth:`at` is prospective: only PHQ-9s answered at or
    before ``when``; :meth:`before` only those answered strictly before it.
    """

    def __init__(self, residuals: Sequence[tuple[datetime, float]], model: RiskModel) -> None:
        self.times = [t for t, _ in residuals]
        values = [r for _, r in residuals]
        self.by_count = [patient_calibration(values[:k], model=model) for k in range(len(values) + 1)]

    @property
    def latest(self) -> PatientCalibration:
        return self.by_count[-1]

    def at(self, when: datetime) -> PatientCalibration:
        return self.by_count[bisect_right(self.times, when)]

    def before(self, when: datetime) -> PatientCalibration:
        """Only PHQ-9s answered strictly before ``when``: the level a score recorded at ``when`` can be
        validated with, since a PHQ-9 answered at that very instant has it in its window
        (``answered_at - window < recorded_at <= answered_at``)."""
        return self.by_count[bisect_left(self.times, when)]
