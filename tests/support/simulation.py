"""Seeded simulated cohorts whose truth is known, for tests and method checks.

Patients differ in their natural voices (sex-specific F0, habitual speech rate,
loudness that also depends on the phone) and in how much their voice varies from
day to day. Each follows a PHQ-9 trajectory over weeks (worsening, improving, stable
or an episode that comes and goes). Several recordings a week carry voice effects of
published size: each directional feature's within-person correlation with PHQ-9 is
set to |r| = 0.2-0.4 in the literature's direction, on top of day-to-day noise (part
of it shared across features, as a tired day slows everything down). Women have a
higher mean PHQ-9 than men, as in the epidemiology, and a wider F0 range in
semitones, so a population model on raw features meets a realistic confound.

Pure NumPy/pandas: no Django.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from screening.baselines.baseline import FEATURE_KEYS
from screening.risk_model.deviation import DEPRESSION_DIRECTIONS
from voice_features.registry import BY_KEY

__all__ = ["SIMULATED_R", "SimulatedCohort", "simulate_cohort", "phq9_items_for_total"]

#: Within-person correlation of each directional feature with PHQ-9 the simulation
#: aims for: the registry's composite weight (= the prior's |r|), signed by its direction.
SIMULATED_R: Mapping[str, float] = {key: d.weight for key, d in DEPRESSION_DIRECTIONS.items()}

#: Typical day-to-day SD of each feature within one speaker (feature units, from the registry).
_DAY_SD = {key: BY_KEY[key].day_sd for key in DEPRESSION_DIRECTIONS}
#: Loading of the shared "tired day" factor (fraction of day-to-day variance).
_SHARED_DAY = {"speech_rate_syl_s": 0.4, "articulation_rate_syl_s": 0.4,
               "pause_rate_per_min": 0.3, "pause_mean_s": 0.3, "pause_ratio": 0.4}
#: Within-person PHQ-9 SD the effect sizes refer to (points).
_REFERENCE_PHQ9_SD = 4.0
_EMBEDDING_DIM = 256


@dataclass(frozen=True)
class SimulatedCohort:
    """Simulated data and the truth behind it.

    Attributes
    ----------
    patients : DataFrame
        ``patient_id``, ``sex``, ``age``, ``trajectory``, ``enrolled_at``.
    recordings : DataFrame
        ``recording_id``, ``patient_id``, ``recorded_at``, ``rejected``,
        ``speaker_mismatch``, every contract feature key, ``embedding`` (list).
    phq9 : DataFrame
        ``response_id``, ``patient_id``, ``answered_at``, ``item1`` ... ``item9``,
        ``phq9_total``.
    truth : dict
        ``severity`` (daily latent PHQ-9 per patient), ``beta`` (feature units per
        PHQ-9 point, signed), ``target_r``, ``habits`` (per-patient natural levels).
    """

    patients: pd.DataFrame
    recordings: pd.DataFrame
    phq9: pd.DataFrame
    truth: Mapping[str, Any] = field(default_factory=dict)


def _effect_per_point(feature: str) -> float:
    """Signed feature change per PHQ-9 point giving the target within-person r."""
    r = SIMULATED_R[feature]
    slope = r / np.sqrt(1 - r**2) * _DAY_SD[feature] / _REFERENCE_PHQ9_SD
    return DEPRESSION_DIRECTIONS[feature].sign * slope


def _trajectory(kind: str, weeks: np.ndarray, n_weeks: int, rng: np.random.Generator,
                level: float) -> np.ndarray:
    """Latent PHQ-9 severity (points) at the given times (weeks since enrolment)."""
    change = rng.uniform(6, 12)
    mid = rng.uniform(0.3, 0.7) * n_weeks
    width = rng.uniform(1.0, 2.5)
    step = 1 / (1 + np.exp(-(weeks - mid) / width))
    if kind == "worsening":
        return level + change * step
    if kind == "improving":
        return level + change * (1 - step)
    if kind == "episode":
        bump = np.exp(-0.5 * ((weeks - mid) / (n_weeks / 7)) ** 2)
        return level + change * bump
    return np.full_like(weeks, level, dtype=float)


def phq9_items_for_total(total: int, rng: np.random.Generator,
                         item9_probability: float = 0.0) -> np.ndarray:
    """Nine PHQ-9 item scores (0-3) summing to ``total`` (0-27).

    Item 9 is > 0 with ``item9_probability`` (at least one point when it is).
    """
    items = np.zeros(9, dtype=int)
    item9 = 1 if (total > 0 and rng.random() < item9_probability) else 0
    items[8] = item9
    remaining = total - item9
    while remaining > 0:
        free = np.flatnonzero(items[:8] < 3)
        if free.size == 0:
            items[8] += 1
        else:
            items[rng.choice(free)] += 1
        remaining -= 1
    return items


def _patient_table(n_patients: int, start: datetime,
                   rng: np.random.Generator) -> pd.DataFrame:
    kinds = np.array(["worsening", "improving", "stable", "episode"])
    sex = np.where(rng.random(n_patients) < 0.6, "F", "M")
    return pd.DataFrame({
        "patient_id": [f"P{i:04d}" for i in range(n_patients)],
        "sex": sex,
        "age": rng.integers(20, 75, n_patients),
        "trajectory": kinds[np.arange(n_patients) % kinds.size],
        "enrolled_at": [start] * n_patients,
    })


def _habits(patient: pd.Series, rng: np.random.Generator) -> dict[str, float]:
    """A patient's natural voice: levels unrelated to their depression."""
    female = patient["sex"] == "F"
    return {
        "f0_median_hz": rng.normal(205, 20) if female else rng.normal(118, 14),
        "f0_range_st": rng.normal(7.5, 1.5) if female else rng.normal(6.0, 1.5),
        "f0_sd_st": rng.normal(2.4, 0.4) if female else rng.normal(2.0, 0.4),
        "speech_rate_syl_s": rng.normal(3.9, 0.5) - 0.01 * (patient["age"] - 45),
        "articulation_rate_syl_s": rng.normal(4.8, 0.5) - 0.01 * (patient["age"] - 45),
        "pause_rate_per_min": rng.normal(12, 3),
        "pause_mean_s": rng.normal(0.6, 0.12),
        "pause_ratio": rng.normal(0.22, 0.05),
        "speech_rate_cv": rng.normal(0.25, 0.05),
        "intensity_mean_db": rng.normal(62, 4),
        "jitter_local": rng.normal(0.012, 0.003),
        "shimmer_local": rng.normal(0.06, 0.012),
        "hnr_db": rng.normal(17, 3),
        "voiced_fraction": rng.normal(0.8, 0.05),
    }


def _voice_for_day(habits: Mapping[str, float], severity: float, noise_scale: Mapping[str, float],
                   rng: np.random.Generator) -> dict[str, float]:
    shared = rng.normal()
    f = {}
    for key, day_sd in _DAY_SD.items():
        load = _SHARED_DAY.get(key, 0.0)
        sign = DEPRESSION_DIRECTIONS[key].sign
        noise = np.sqrt(load) * sign * shared + np.sqrt(1 - load) * rng.normal()
        f[key] = (habits[key] + _effect_per_point(key) * severity
                  + day_sd * noise_scale[key] * noise)
    f["f0_median_hz"] = habits["f0_median_hz"] * np.exp(rng.normal(0, 0.03))
    for key, sd in (("jitter_local", 0.002), ("shimmer_local", 0.008), ("hnr_db", 1.0),
                    ("voiced_fraction", 0.03)):
        f[key] = habits[key] + rng.normal(0, sd)
    return _derived(f, rng)


def _derived(f: dict[str, float], rng: np.random.Generator) -> dict[str, float]:
    """Fill the counting features consistently with the rates and clip to valid ranges."""
    f["pause_ratio"] = float(np.clip(f["pause_ratio"], 0.02, 0.8))
    f["pause_mean_s"] = max(f["pause_mean_s"], 0.25)
    f["speech_rate_cv"] = max(f["speech_rate_cv"], 0.01)
    f["pause_rate_per_min"] = max(f["pause_rate_per_min"], 0.5)
    duration = rng.uniform(30, 60)
    f["duration_s"] = duration
    f["speech_s"] = duration * (1 - f["pause_ratio"])
    f["syllable_count"] = round(max(f["speech_rate_syl_s"], 0.5) * duration)
    f["pause_count"] = round(f["pause_rate_per_min"] * duration / 60)
    f["pause_median_s"] = f["pause_mean_s"] * 0.85
    f["f0_median_st"] = 12 * np.log2(f["f0_median_hz"] / 27.5)
    if rng.random() < 0.03:  # pitch tracking fails on some recordings
        for key in ("f0_median_hz", "f0_median_st", "f0_range_st", "f0_sd_st"):
            f[key] = np.nan
    # Features the simulator has no model for (the spectral ones, say) are missing, as NaN.
    return {key: float(f.get(key, np.nan)) for key in FEATURE_KEYS}


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def simulate_cohort(
    *,
    n_patients: int = 80,
    n_weeks: int = 16,
    recordings_per_week: int = 4,
    phq9_every_weeks: int = 2,
    start: datetime = datetime(2025, 1, 6, tzinfo=UTC),
    seed: int = 0,
) -> SimulatedCohort:
    """Simulate a monitored cohort.

    Parameters
    ----------
    n_patients : int
        Patients; trajectories cycle worsening, improving, stable, episode.
    n_weeks : int
        Weeks of follow-up.
    recordings_per_week : int
        Home recordings per patient-week (random days and times).
    phq9_every_weeks : int
        A PHQ-9 at the end of every ``phq9_every_weeks`` weeks, plus one at the end.
    start : datetime
        Enrolment time (tz-aware).
    seed : int
        Everything is reproducible from it.

    Returns
    -------
    SimulatedCohort
    """
    rng = np.random.default_rng(seed)
    patients = _patient_table(n_patients, start, rng)
    emb_depression = _unit(rng.normal(size=_EMBEDDING_DIM))
    recordings, phq9, severity_rows, habits_by_patient = [], [], [], {}
    for _, patient in patients.iterrows():
        pid = patient["patient_id"]
        habits = _habits(patient, rng)
        habits_by_patient[pid] = habits
        noise_scale = {k: float(np.exp(rng.normal(0, 0.35))) for k in _DAY_SD}
        voice_vector = _unit(rng.normal(size=_EMBEDDING_DIM))
        kind = patient["trajectory"]
        level = _starting_level(kind, patient["sex"], rng)
        days = np.arange(n_weeks * 7 + 1)
        severity = _trajectory(kind, days / 7, n_weeks, rng, level)
        severity = np.clip(severity + _ar1(days.size, rng, sd=1.2, phi=0.9), 0, 27)
        severity_rows.append(pd.DataFrame({"patient_id": pid, "day": days,
                                           "severity": severity}))
        recordings += _patient_recordings(pid, start, n_weeks, recordings_per_week,
                                          habits, severity, noise_scale, voice_vector,
                                          emb_depression, rng)
        phq9 += _patient_phq9(pid, start, n_weeks, phq9_every_weeks, severity, rng)
    truth = {
        "severity": pd.concat(severity_rows, ignore_index=True),
        "beta": {k: _effect_per_point(k) for k in SIMULATED_R},
        "target_r": dict(SIMULATED_R),
        "habits": habits_by_patient,
    }
    return SimulatedCohort(patients, pd.DataFrame(recordings), pd.DataFrame(phq9), truth)


def _starting_level(kind: str, sex: str, rng: np.random.Generator) -> float:
    # Women report about 2 PHQ-9 points more on average (a between-person confound).
    female_shift = 2.0 if sex == "F" else 0.0
    if kind == "improving":
        return rng.uniform(5, 9) + female_shift
    if kind == "stable":
        return rng.uniform(2, 14) + female_shift
    return rng.uniform(2, 7) + female_shift


def _ar1(n: int, rng: np.random.Generator, *, sd: float, phi: float) -> np.ndarray:
    x = np.empty(n)
    x[0] = rng.normal(0, sd)
    innovation = sd * np.sqrt(1 - phi**2)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + rng.normal(0, innovation)
    return x


def _patient_recordings(pid, start, n_weeks, per_week, habits, severity, noise_scale,
                        voice_vector, emb_depression, rng) -> list[dict[str, Any]]:
    rows = []
    for week in range(n_weeks):
        for day in np.sort(rng.choice(7, size=per_week, replace=False)):
            day_index = week * 7 + int(day)
            at = start + timedelta(days=day_index, hours=float(rng.uniform(8, 21)))
            mismatch = rng.random() < 0.02
            if mismatch:  # someone else recorded: a different natural voice
                other = _habits(pd.Series({"sex": rng.choice(["F", "M"]), "age": 40}), rng)
                features = _voice_for_day(other, 5.0, noise_scale, rng)
                speaker = _unit(rng.normal(size=_EMBEDDING_DIM))
            else:
                features = _voice_for_day(habits, severity[day_index], noise_scale, rng)
                speaker = voice_vector
            embedding = _unit(speaker + 0.02 * severity[day_index] * emb_depression
                              + rng.normal(0, 0.25 / np.sqrt(_EMBEDDING_DIM) * 4,
                                           _EMBEDDING_DIM))
            rows.append({
                "recording_id": f"{pid}-R{len(rows):04d}",
                "patient_id": pid,
                "recorded_at": at,
                "rejected": bool(rng.random() < 0.03),
                "speaker_mismatch": bool(mismatch),
                **features,
                "embedding": embedding.round(5).tolist(),
            })
    return rows


def _patient_phq9(pid, start, n_weeks, every, severity, rng) -> list[dict[str, Any]]:
    rows = []
    for week in range(every, n_weeks + 1, every):
        day_index = week * 7
        total = int(np.clip(np.round(severity[day_index] + rng.normal(0, 1.5)), 0, 27))
        p_item9 = 0.5 / (1 + np.exp(-(total - 17) / 2))
        items = phq9_items_for_total(total, rng, item9_probability=p_item9)
        rows.append({
            "response_id": f"{pid}-Q{len(rows):02d}",
            "patient_id": pid,
            "answered_at": start + timedelta(days=day_index, hours=20),
            **{f"item{i + 1}": int(v) for i, v in enumerate(items)},
            "phq9_total": int(items.sum()),
        })
    return rows
