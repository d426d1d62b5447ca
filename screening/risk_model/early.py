"""A score before the personal baseline: population-referenced early estimates.

A personal baseline needs five valid recordings over three days per task and phone, so a new
patient, and every patient after a phone change, would have no voice score for a week or more.
From the first valid recording Cadence instead compares the voice with **population norms**
for people of the same sex, age band, recording task and codec family, and says so:

* **norms** (:class:`PopulationNorms`): per cell (sex, age band, task, codec family) and
  directional feature, the mean and SD of a single recording. They start from a documented
  literature prior (:data:`LITERATURE_NORMS`, per sex and task) and are learnt from the
  clinic's own valid recordings (:func:`learn_norms`), each level of the hierarchy shrunk toward
  the one above it with a pseudo-count of :data:`PRIOR_PATIENTS` patients: (sex, task) from the
  literature, then (sex, task, codec family), then (sex, age band, task, codec family). The unit
  is the patient (their mean in the cell), so a talkative patient does not make the norm.
* **early z** (:func:`early_z`): ``sign x (x - norm mean) / norm SD``, clipped like personal z's;
* **the early model** (a :class:`~screening.risk_model.model.RiskModel` of kind ``"prior"`` until the
  clinic fits one, then ``"early"``): PHQ-9 = intercept + slope x (weighted mean of early z's),
  with its own between-patient (``tau2``) and residual (``sigma2``) variances, so the interval is
  wider than a personal score's; :func:`fit_early_model` fits it by least squares on the clinic's
  PHQ-9 windows (calibration-in-the-large and slope 1 on the fitting data by construction) with
  variance components by moments.
* **the patient's early level** (:func:`early_level`): once the patient has answered PHQ-9s, early
  estimates are levelled by the same empirical-Bayes shrinkage as personal scores
  (:mod:`screening.risk_model.calibration`), of the residuals of every PHQ-9 so far against the mean
  *early* population PHQ-9 of the recordings in its window (every valid recording has one, personal
  or not), under the early model's ``tau2`` and ``sigma2``; re-levelled whenever a PHQ-9 arrives, like
  the personal curve. A patient with no PHQ-9 keeps the population estimate (offset 0, interval from
  ``tau2``); with a level the interval carries the level's posterior variance instead of ``tau2``.
* **after a phone change** (:func:`bridge_shift`): where the clinic's norms know both codec
  families well enough (:data:`MIN_BRIDGE_PATIENTS` patients in each), the new phone's recordings
  are scored against the previous phone's personal baseline, moved by the population difference
  between the families (``bridged``); otherwise the population reference applies (``early``).

Early and bridged estimates never feed the change-from-baseline alert (there is no baseline),
and an absolute-probability alert from an early estimate needs a fitted early model.
Pure Python / NumPy / pandas: no Django.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from screening.numbers import none_if_nan
from screening.risk_model.calibration import PatientCalibration, patient_calibration, phq9_residuals
from screening.risk_model.deviation import (
    DEPRESSION_DIRECTIONS,
    DIRECTIONAL_FEATURES,
    Z_CLIP,
    Deviation,
    composite_index,
)
from screening.risk_model.model import (
    PRIOR_INTERCEPT,
    RiskModel,
    linear_predictor,
    population_phq9,
    predict_risk,
    predictive_numbers,
)
from voice_features.codec_trust import codec_family

__all__ = [
    "PERSONAL",
    "EARLY",
    "BRIDGED",
    "ESTIMATE_TYPES",
    "AGE_BANDS",
    "age_band",
    "LITERATURE_NORMS",
    "PRIOR_PATIENTS",
    "MIN_BRIDGE_PATIENTS",
    "Norm",
    "PopulationNorms",
    "learn_norms",
    "early_z",
    "bridge_shift",
    "bridged_z",
    "EARLY_PRIOR_MODEL",
    "fit_early_model",
    "early_index",
    "LITERATURE_NORMS_MODEL",
    "early_estimate",
    "population_early_estimate",
    "early_levelled",
    "early_level",
    "early_population_record",
    "early_population",
]

#: What a score rests on: the patient's own baseline, the population norms, or the previous
#: phone's baseline carried over a phone change.
PERSONAL, EARLY, BRIDGED = "personal", "early", "bridged"
ESTIMATE_TYPES = (PERSONAL, EARLY, BRIDGED)

#: Age bands of the norms (years, lower bound inclusive).
AGE_BANDS: tuple[tuple[int, int, str], ...] = ((0, 35, "18-34"), (35, 50, "35-49"), (50, 65, "50-64"),
                                              (65, 200, "65+"))

#: Pseudo-count (patients) with which each level of the norms' hierarchy holds on to the level above.
PRIOR_PATIENTS = 5.0
#: Patients a codec family's norms need before a phone change can be bridged across it.
MIN_BRIDGE_PATIENTS = 5

# Literature prior: single-recording mean and SD (between speakers and days together) of adult
# conversational speech on a phone, per sex. Typical values, not quotes of one study: speech rate
# 3.5-4.5 syl/s and articulation rate 4.5-5.5 syl/s in conversation (Jacewicz et al. 2009; de Jong &
# Wempe 2009), pauses of 0.5-0.7 s making a fifth of the time (Campione & Véronis 2002), F0 range
# and SD in semitones wider in women (Traunmüller & Eriksson 1995), level about 60-65 dB at arm's
# length. A read passage is faster, more fluent and a little louder. Codec families have no prior
# shift: the clinic's data learn it.
_FREE = {
    "speech_rate_syl_s": (3.9, 0.6), "articulation_rate_syl_s": (4.8, 0.6), "pause_rate_per_min": (12.0, 3.6),
    "pause_mean_s": (0.6, 0.15), "pause_ratio": (0.22, 0.06), "speech_rate_cv": (0.25, 0.06),
    "intensity_mean_db": (62.0, 4.5),
}
_SEX_F0 = {"F": {"f0_range_st": (7.5, 1.8), "f0_sd_st": (2.4, 0.5)},
           "M": {"f0_range_st": (6.0, 1.8), "f0_sd_st": (2.0, 0.5)}}
_READ_SHIFT = {"speech_rate_syl_s": 0.5, "articulation_rate_syl_s": 0.3, "pause_rate_per_min": -3.0,
               "pause_mean_s": -0.1, "pause_ratio": -0.06, "speech_rate_cv": -0.05, "f0_range_st": -0.5,
               "f0_sd_st": -0.2, "intensity_mean_db": 1.0}


def _literature() -> dict[tuple[str, str], dict[str, tuple[float, float]]]:
    out = {}
    for sex in ("F", "M"):
        for task in ("free_speech", "read_passage"):
            shift = _READ_SHIFT if task == "read_passage" else {}
            out[(sex, task)] = {k: (m + shift.get(k, 0.0), s) for k, (m, s) in {**_FREE, **_SEX_F0[sex]}.items()}
    return out


#: (sex, task) -> feature -> (mean, SD of one recording). Other tasks and unknown sex take the
#: free-speech values of both sexes pooled.
LITERATURE_NORMS: Mapping[tuple[str, str], Mapping[str, tuple[float, float]]] = _literature()


def age_band(age: float | None) -> str:
    """The norms' age band of an age in years ('' if unknown)."""
    if age is None or not math.isfinite(age):
        return ""
    return next(label for low, high, label in AGE_BANDS if low <= age < high)


def _sex(sex: str | None) -> str:
    value = (sex or "").strip().upper()[:1]
    return value if value in {"F", "M"} else ""


def _prior_for(sex: str, task: str) -> dict[str, tuple[float, float]]:
    key_task = task if task in {"free_speech", "read_passage"} else "free_speech"
    if sex in {"F", "M"}:
        return dict(LITERATURE_NORMS[(sex, key_task)])
    f, m = LITERATURE_NORMS[("F", key_task)], LITERATURE_NORMS[("M", key_task)]
    return {k: ((f[k][0] + m[k][0]) / 2, math.sqrt((f[k][1] ** 2 + m[k][1] ** 2) / 2
                                                   + ((f[k][0] - m[k][0]) / 2) ** 2)) for k in f}


@dataclass(frozen=True)
class Norm:
    """One feature's norm in one cell: mean and SD of a single recording, and the patients behind it."""

    mean: float
    sd: float
    n_patients: int = 0


@dataclass(frozen=True)
class PopulationNorms:
    """Norms per cell, each level already shrunk toward the level above (see the module's docstring).

    ``cells`` maps a key ``"sex|age band|task|codec family"`` (``*`` where a level pools) to
    feature -> :class:`Norm`. :meth:`reference` takes the most specific cell that exists.
    """

    cells: Mapping[str, Mapping[str, Norm]] = field(default_factory=dict)
    version: str = "literature"

    def reference(self, *, sex: str | None, age: float | None, task: str, family: str) -> dict[str, Norm]:
        """Feature -> norm for a recording of this patient, task and codec family."""
        s, band = _sex(sex), age_band(age)
        for key in (f"{s}|{band}|{task}|{family}", f"{s}|*|{task}|{family}", f"{s}|*|{task}|*"):
            if key in self.cells:
                return dict(self.cells[key])
        return {k: Norm(m, sd) for k, (m, sd) in _prior_for(s, task).items()}

    def family_patients(self, *, sex: str | None, task: str, family: str) -> int:
        """Patients behind the norms of a codec family (0 if the clinic has none)."""
        cell = self.cells.get(f"{_sex(sex)}|*|{task}|{family}", {})
        return min((n.n_patients for n in cell.values()), default=0)

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version,
                "cells": {key: {k: [n.mean, n.sd, n.n_patients] for k, n in cell.items()}
                          for key, cell in self.cells.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PopulationNorms:
        return cls(cells={key: {k: Norm(float(v[0]), float(v[1]), int(v[2])) for k, v in cell.items()}
                          for key, cell in (data.get("cells") or {}).items()},
                   version=str(data.get("version", "literature")))


def _shrunk(patient_means: np.ndarray, within_var: float, parent: Norm, k: float) -> Norm:
    """Mean and single-recording SD of a cell from its patients' means, shrunk toward ``parent``."""
    m = patient_means[np.isfinite(patient_means)]
    n = m.size
    if n == 0:
        return parent
    mean = (m.sum() + k * parent.mean) / (n + k)
    between = float(((m - mean) ** 2).sum())
    parent_between = max(parent.sd ** 2 - within_var, 0.0) if math.isfinite(within_var) else parent.sd ** 2
    var_between = (between + k * parent_between) / (n + k)
    var = var_between + (within_var if math.isfinite(within_var) else 0.0)
    return Norm(float(mean), float(math.sqrt(max(var, 1e-12))), int(n))


def learn_norms(recordings: pd.DataFrame, *, features: Sequence[str] = DIRECTIONAL_FEATURES,
                k: float = PRIOR_PATIENTS, version: str = "clinic") -> PopulationNorms:
    """Norms from the clinic's valid recordings, shrunk toward the literature prior.

    Parameters
    ----------
    recordings : DataFrame
        One row per valid recording: ``patient_id``, ``sex``, ``age``, ``task``, ``family`` and the
        feature columns (NaN allowed).
    features : sequence of str
    k : float
        Pseudo-count in patients of each level's prior.
    """
    cells: dict[str, dict[str, Norm]] = {}
    if recordings.empty:
        return PopulationNorms(cells, version)
    df = recordings.assign(sex=recordings["sex"].map(_sex), band=recordings["age"].map(age_band))
    for (sex, task), group in df.groupby(["sex", "task"], sort=True):
        prior = _prior_for(sex, task)
        top = {}
        for key in features:
            if key not in group:
                continue
            means = group.groupby("patient_id")[key].mean().to_numpy(dtype=float)
            within = float(group.groupby("patient_id")[key].var(ddof=1).mean())
            top[key] = _shrunk(means, within, Norm(*prior[key]), k)
        cells[f"{sex}|*|{task}|*"] = top
        for family, fam in group.groupby("family", sort=True):
            by_family = {}
            for key, parent in top.items():
                means = fam.groupby("patient_id")[key].mean().to_numpy(dtype=float)
                within = float(fam.groupby("patient_id")[key].var(ddof=1).mean())
                by_family[key] = _shrunk(means, within, parent, k)
            cells[f"{sex}|*|{task}|{family}"] = by_family
            for band, cell in fam.groupby("band", sort=True):
                if not band:
                    continue
                by_band = {}
                for key, parent in by_family.items():
                    means = cell.groupby("patient_id")[key].mean().to_numpy(dtype=float)
                    within = float(cell.groupby("patient_id")[key].var(ddof=1).mean())
                    by_band[key] = _shrunk(means, within, parent, k)
                cells[f"{sex}|{band}|{task}|{family}"] = by_band
    return PopulationNorms(cells, version)


def _clip(z: float) -> float:
    return min(max(z, -Z_CLIP), Z_CLIP)


def early_z(features: Mapping[str, float | None], norms: Mapping[str, Norm]) -> dict[str, float]:
    """Signed, clipped z of each directional feature against population norms (NaN where missing)."""
    out = {}
    for key, direction in DEPRESSION_DIRECTIONS.items():
        value, norm = features.get(key), norms.get(key)
        if value is None or norm is None or not math.isfinite(value) or not norm.sd > 0:
            out[key] = math.nan
        else:
            out[key] = _clip(direction.sign * (float(value) - norm.mean) / norm.sd)
    return out


def bridge_shift(norms: PopulationNorms, *, sex: str | None, age: float | None, task: str, old_family: str,
                 new_family: str, min_patients: int = MIN_BRIDGE_PATIENTS) -> dict[str, float] | None:
    """Feature -> expected change of level from the old codec family to the new one, or None where the
    clinic's norms do not know both families from at least ``min_patients`` patients (then a phone
    change cannot be bridged and the population reference applies)."""
    if not old_family or not new_family:
        return None
    if old_family == new_family:
        return {key: 0.0 for key in DEPRESSION_DIRECTIONS}
    if min(norms.family_patients(sex=sex, task=task, family=old_family),
           norms.family_patients(sex=sex, task=task, family=new_family)) < min_patients:
        return None
    old = norms.reference(sex=sex, age=age, task=task, family=old_family)
    new = norms.reference(sex=sex, age=age, task=task, family=new_family)
    return {key: new[key].mean - old[key].mean for key in DEPRESSION_DIRECTIONS if key in old and key in new}


def bridged_z(features: Mapping[str, float | None], baseline: Mapping[str, tuple[float, float]],
              shift: Mapping[str, float]) -> dict[str, float]:
    """Signed, clipped z of a new phone's recording against the previous phone's personal baseline
    (feature -> (median, scale)), moved by the families' difference ``shift``."""
    out = {}
    for key, direction in DEPRESSION_DIRECTIONS.items():
        value, stats = features.get(key), baseline.get(key)
        if (value is None or stats is None or key not in shift or not math.isfinite(value)
                or not all(math.isfinite(v) for v in stats) or not stats[1] > 0):
            out[key] = math.nan
        else:
            out[key] = _clip(direction.sign * (float(value) - stats[0] - shift[key]) / stats[1])
    return out


def _weights(features: Iterable[str]) -> dict[str, float]:
    return {key: DEPRESSION_DIRECTIONS[key].weight for key in features}


#: Between-person voice differences say less about PHQ-9 than a patient's change from their own
#: normal: most of who speaks slowly is who they are. PHQ-9 points per unit of the early index
#: (weighted mean of early z's): a third of the personal prior's 3 points.
EARLY_PRIOR_POINTS = 1.0
#: How far the clinic's data may plausibly move that slope (prior SD, points per unit index).
EARLY_PRIOR_SLOPE_SD = 1.0
#: Interval of an early estimate under the prior: the personal prior's between-patient SD (5 points)
#: and a residual SD of 4 points instead of 3.5 (the population reference adds its own error).
EARLY_PRIOR_TAU, EARLY_PRIOR_SIGMA = 5.0, 4.0


def _early_prior() -> RiskModel:
    weights = _weights(DIRECTIONAL_FEATURES)
    total = sum(weights.values())
    return RiskModel(version="early-prior-2026.1", kind="prior", intercept=PRIOR_INTERCEPT,
                     coefficients={k: round(EARLY_PRIOR_POINTS * w / total, 6) for k, w in weights.items()},
                     tau2=EARLY_PRIOR_TAU ** 2, sigma2=EARLY_PRIOR_SIGMA ** 2)


#: The uncalibrated early model (literature assumptions; no absolute-probability alerts from it).
EARLY_PRIOR_MODEL: RiskModel = _early_prior()


def early_index(z: pd.DataFrame, features: Sequence[str] = DIRECTIONAL_FEATURES) -> np.ndarray:
    """Weighted mean of the early z's per row (missing z = 0, the population mean)."""
    weights = _weights(features)
    x = z.reindex(columns=list(features)).to_numpy(dtype=float)
    x = np.where(np.isfinite(x), x, 0.0)
    return x @ np.array([weights[k] for k in features]) / sum(weights.values())


def fit_early_model(pairs: pd.DataFrame, *, features: Sequence[str] = DIRECTIONAL_FEATURES,
                    version: str = "early-fitted", min_pairs: int = 30, min_patients: int = 8) -> RiskModel | None:
    """Fit the early model on the clinic's PHQ-9 windows paired with the mean early z's of their recordings.

    Least squares of PHQ-9 on the early index (one slope, shared between features by the literature
    weights, as the personal model does): a new patient's level is unknown, so the relation that
    matters is the marginal one. The slope is shrunk toward the prior's (:data:`EARLY_PRIOR_POINTS`,
    SD :data:`EARLY_PRIOR_SLOPE_SD`) by its patient-clustered variance, and the intercept makes the
    estimates calibrated in the large. ``tau2`` is the between-patient variance
    of the residuals beyond what their within-patient variance (``sigma2``) explains (moments).
    None with fewer than ``min_pairs`` pairs or ``min_patients`` patients.
    """
    df = pairs.dropna(subset=["phq9_total"])
    if len(df) < min_pairs or df["patient_id"].nunique() < min_patients:
        return None
    index = early_index(df, features)
    y = df["phq9_total"].to_numpy(dtype=float)
    groups = df["patient_id"].to_numpy()
    # The slope is learnt from differences between a few dozen patients: its least-squares estimate
    # is shrunk toward the prior's by their precisions, the estimate's variance robust to the
    # clustering of a patient's windows (a patient's PHQ-9s are not independent evidence).
    xc = index - index.mean()
    sxx = float(xc @ xc)
    if sxx <= 0:
        return None
    slope_hat = float(xc @ (y - y.mean())) / sxx
    scores = pd.Series(xc * (y - y.mean() - slope_hat * xc)).groupby(groups).sum()
    se2 = float((scores ** 2).sum()) / sxx ** 2
    prior_var = EARLY_PRIOR_SLOPE_SD ** 2
    slope = ((slope_hat / se2 + EARLY_PRIOR_POINTS / prior_var) / (1 / se2 + 1 / prior_var)
             if se2 > 0 else slope_hat)
    intercept = float(y.mean() - slope * index.mean())
    x = np.column_stack([np.ones_like(index), index])
    resid = pd.Series(y - x @ np.array([intercept, slope]), index=df.index)
    centred = resid - resid.groupby(groups).transform("mean")
    counts = resid.groupby(groups).size()
    dof = len(resid) - len(counts)
    sigma2 = float((centred ** 2).sum() / dof) if dof > 0 else float(resid.var())
    means = resid.groupby(groups).mean()
    tau2 = max(float(means.var(ddof=1)) - sigma2 * float((1 / counts).mean()), 0.0)
    weights = _weights(features)
    total = sum(weights.values())
    return RiskModel(version=version, kind="early", intercept=float(intercept),
                     coefficients={k: float(slope) * w / total for k, w in weights.items()},
                     tau2=tau2, sigma2=sigma2, n_observations=len(df), n_patients=int(len(counts)))


#: Norms from the literature alone (what a clinic without data of its own uses).
LITERATURE_NORMS_MODEL = PopulationNorms()


def early_estimate(features: Mapping[str, float | None], *, sex: str | None, age: float | None, task: str,
                   codec: str, norms: PopulationNorms = LITERATURE_NORMS_MODEL,
                   model: RiskModel = EARLY_PRIOR_MODEL, interval_level: float = 0.8,
                   level: PatientCalibration | None = None) -> dict[str, Any] | None:
    """The early estimate of one recording, as stored with a score whose baseline is pending.

    Returns None when no directional feature could be compared (then there is nothing to say). The
    probability of PHQ-9 >= 10 is left out (None) under an uncalibrated early model: a probability from
    literature assumptions about a patient the clinic does not know yet is not a risk. ``level`` is the
    patient's early level (:func:`early_level`; None: no PHQ-9 yet, the population estimate):
    ``predicted_phq9`` is ``population_phq9`` (the early model's estimate before any level) plus its
    offset, and the interval carries the level's posterior variance (``tau2`` without a level).
    """
    population = population_early_estimate(features, sex=sex, age=age, task=task, codec=codec, norms=norms,
                                            model=model, interval_level=interval_level)
    if population is None:
        return None
    estimate, linear = population
    return estimate if level is None else estimate | early_levelled(linear, level, model=model,
                                                                    interval_level=interval_level)


def population_early_estimate(features: Mapping[str, float | None], *, sex: str | None, age: float | None,
                              task: str, codec: str, norms: PopulationNorms = LITERATURE_NORMS_MODEL,
                              model: RiskModel = EARLY_PRIOR_MODEL,
                              interval_level: float = 0.8) -> tuple[dict[str, Any], float] | None:
    """:func:`early_estimate` without a level, and the early model's unclipped linear predictor from which
    :func:`early_levelled` gives it any level (the nightly run levels a new estimate once the patient's level
    is known, without comparing the features again). None where no directional feature could be compared."""
    family = codec_family(codec)
    z = early_z(features, norms.reference(sex=sex, age=age, task=task, family=family))
    if not any(math.isfinite(v) for v in z.values()):
        return None
    deviation = Deviation(z=z, composite=composite_index(z), embedding_drift=math.nan, embedding_drift_z=math.nan)
    prediction = predict_risk(deviation, model=model, interval_level=interval_level)
    band = age_band(age)
    return {
        "predicted_phq9": prediction.predicted_phq9,
        "interval": [prediction.interval_low, prediction.interval_high],
        "interval_level": interval_level,
        "p_phq9_ge10": prediction.p_phq9_ge10 if model.calibrated else None,
        # The early model's estimate before the patient's level, and the level (offset, PHQ-9s behind it).
        "population_phq9": prediction.predicted_phq9,
        "personal_offset": prediction.personal_offset,
        "n_phq9": prediction.n_phq9,
        # Compared with similar speakers, not with the patient's own normal (which is not known yet).
        "drivers": [d.to_dict() | {"text": d.text.replace(" than usual", " than typical for similar speakers")}
                    for d in prediction.drivers],
        "model_version": model.version,
        "calibrated": model.calibrated,
        "norms_version": norms.version,
        "reference": {"sex": _sex(sex) or "any", "age_band": band or "any", "task": task, "codec_family": family or "any"},
        "z": {k: none_if_nan(v) for k, v in z.items()},
        "index": none_if_nan(deviation.composite),
    }, linear_predictor(z, model=model)


def early_levelled(linear: float, level: PatientCalibration | None, *, model: RiskModel,
                   interval_level: float = 0.8) -> dict[str, Any]:
    """The fields of an early estimate that the patient's early level sets, from the early model's unclipped
    linear predictor: the same floats :func:`predict_risk` gives with that level (:func:`predictive_numbers`)."""
    numbers = predictive_numbers(linear, model=model, calibration=level, interval_level=interval_level)
    return {"predicted_phq9": numbers.predicted_phq9, "interval": [numbers.interval_low, numbers.interval_high],
            "p_phq9_ge10": numbers.p_phq9_ge10 if model.calibrated else None,
            "personal_offset": numbers.personal_offset, "n_phq9": numbers.n_phq9}


def early_population_record(estimate: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a personal score keeps of its recording's early estimate: the early model's population PHQ-9
    (the input of the patient's early level, :func:`early_level`; null where no feature could be compared)
    and the reference it came from."""
    if estimate is None:
        return {"population_phq9": None}
    return {"population_phq9": estimate["population_phq9"], "model_version": estimate["model_version"],
            "norms_version": estimate["norms_version"]}


def early_population(features: Mapping[str, float | None], *, sex: str | None, age: float | None, task: str,
                     codec: str, norms: PopulationNorms = LITERATURE_NORMS_MODEL,
                     model: RiskModel = EARLY_PRIOR_MODEL) -> dict[str, Any]:
    """:func:`early_population_record` of the recording's early estimate, computed without the rest of it (the
    same floats as :func:`early_estimate`'s ``population_phq9``): what a personal score keeps."""
    z = early_z(features, norms.reference(sex=sex, age=age, task=task, family=codec_family(codec)))
    if not any(math.isfinite(v) for v in z.values()):
        return early_population_record(None)
    return {"population_phq9": population_phq9(z, model=model), "model_version": model.version,
            "norms_version": norms.version}


def early_level(phq9: Sequence[tuple[Any, float]], populations: Sequence[tuple[Any, float]], *,
                model: RiskModel) -> PatientCalibration:
    """The patient's early level: the empirical-Bayes shrinkage (:func:`patient_calibration`, the early
    model's ``tau2`` and ``sigma2``) of each PHQ-9's residual against the mean early population PHQ-9 of
    the recordings in its window (:func:`phq9_residuals`, the one pairing rule).

    ``phq9``: (answered_at, total) of the PHQ-9s to level from (the service: every one so far);
    ``populations``: (recorded_at, early population PHQ-9) of every valid recording, personal scores'
    included (a patient's early windows are few; their level is the patient's, not the window's).
    """
    return patient_calibration([r for _, r in phq9_residuals(list(phq9), list(populations))], model=model)
