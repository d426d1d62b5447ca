"""A harder simulated cohort: what a clinic's first months look like.

Built on :mod:`tests.support.simulation` (the same natural voices, PHQ-9 trajectories and
published effect sizes), with what makes a real clinic hard:

* **heterogeneous responders**: a patient's voice moves with mood strongly (gain ~1.6),
  weakly (~0.7) or not at all (non-responders, gain 0), and which features carry it differs
  between patients (each feature's gain is the patient's gain times a log-normal factor);
* **adherence decay and gaps**: the chance of recording on a scheduled day falls from 95 % to
  55 % over follow-up, and some patients stop for one or two weeks; a few PHQ-9s are skipped;
* **phone changes**: a third of patients change phone (often the codec family too) once; a
  phone shifts every feature's level (a family-wide part plus the handset's own) and AMR adds noise;
* **sick days**: a cold for a few days makes the voice slower, quieter and flatter whatever the mood;
* **read passages and free speech**: two tasks with different levels and noise;
* **late uploads**: some recordings reach the server days after they were made (``uploaded_at``).

The truth includes, per recording, the **noise-free voice-visible severity** (``visible``): the
latent severity for a patient whose voice moves with mood at all, constant for a non-responder.
Its repeated-measures correlation with PHQ-9 is the ceiling of any voice score.

Pure NumPy/pandas: no Django.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from screening.risk_model.deviation import DEPRESSION_DIRECTIONS
from tests.support.simulation import (
    _DAY_SD,
    _SHARED_DAY,
    SimulatedCohort,
    _ar1,
    _derived,
    _effect_per_point,
    _habits,
    _patient_table,
    _starting_level,
    _trajectory,
    phq9_items_for_total,
)

__all__ = ["simulate_hard_cohort", "RESPONDER_GAIN", "PHONES"]

#: Mean gain of the voice's response to mood per responder type (1 = the published effect sizes).
RESPONDER_GAIN = {"strong": 1.6, "weak": 0.7, "non": 0.0}
#: Phones (model, codec) patients start with or change to.
PHONES = (("Galaxy A52", "amr_nb"), ("iPhone 13", "aac"), ("Pixel 7", "opus"), ("Moto G", "amr_wb"),
          ("iPhone SE", "aac"), ("Galaxy S21", "opus"))
_FAMILY_OF = {"amr_nb": "amr", "amr_wb": "amr", "aac": "aac", "opus": "opus"}
#: Read passage relative to free speech: level shift (feature units) and noise factor.
_READ_SHIFT = {"speech_rate_syl_s": 0.5, "articulation_rate_syl_s": 0.3, "pause_rate_per_min": -3.0,
               "pause_mean_s": -0.1, "pause_ratio": -0.06, "speech_rate_cv": -0.05, "f0_range_st": -0.5,
               "f0_sd_st": -0.2, "intensity_mean_db": 1.0}
_READ_NOISE = 0.75


def _family_shift(rng: np.random.Generator) -> dict[str, dict[str, float]]:
    """Each codec family's systematic shift of every directional feature (in day SDs)."""
    return {family: {k: float(rng.normal(0, 0.8)) * _DAY_SD[k] for k in _DAY_SD}
            for family in ("amr", "aac", "opus")}


def simulate_hard_cohort(
    *,
    n_patients: int = 36,
    n_weeks: int = 16,
    sessions_per_week: int = 4,
    phq9_every_weeks: int = 2,
    start: datetime = datetime(2025, 1, 6, tzinfo=UTC),
    seed: int = 0,
) -> SimulatedCohort:
    """Simulate the harder cohort (see the module's docstring).

    Returns
    -------
    SimulatedCohort
        ``patients`` adds ``age_band``-free ``responder`` and ``gain``; ``recordings`` adds ``task``,
        ``device_model``, ``codec``, ``uploaded_at`` and ``sick``; ``truth`` adds ``visible`` (recording
        id -> noise-free voice-visible severity), ``gains`` (patient -> feature -> gain),
        ``phone_change`` (patient -> time of the change or None) and ``known`` (recording id -> per
        directional feature its ``offset`` and ``noise_sd``: everything but severity and noise, for
        the oracle of :mod:`tests.support.score_signal`).
    """
    rng = np.random.default_rng(seed)
    patients = _patient_table(n_patients, start, rng)
    kinds = np.array(["strong", "weak", "non"])
    patients["responder"] = kinds[rng.permutation(np.arange(n_patients) % 3)]
    families = _family_shift(rng)
    recordings, phq9, severity_rows = [], [], []
    visible: dict[str, float] = {}
    gains_by_patient: dict[str, dict[str, float]] = {}
    changes: dict[str, datetime | None] = {}
    known: dict[str, dict[str, dict[str, float]]] = {}
    days = np.arange(n_weeks * 7 + 1)
    for _, patient in patients.iterrows():
        pid = patient["patient_id"]
        habits = _habits(patient, rng)
        noise_scale = {k: float(np.exp(rng.normal(0, 0.35))) for k in _DAY_SD}
        gain = RESPONDER_GAIN[patient["responder"]]
        gains = {k: gain * float(np.exp(rng.normal(0, 0.5))) for k in _DAY_SD}
        gains_by_patient[pid] = gains
        level = _starting_level(patient["trajectory"], patient["sex"], rng)
        severity = _trajectory(patient["trajectory"], days / 7, n_weeks, rng, level)
        severity = np.clip(severity + _ar1(days.size, rng, sd=1.2, phi=0.9), 0, 27)
        severity_rows.append(pd.DataFrame({"patient_id": pid, "day": days, "severity": severity}))
        phones = [PHONES[i] for i in rng.choice(len(PHONES), size=2, replace=False)]
        change_day = int(rng.integers(21, n_weeks * 7 - 21)) if rng.random() < 1 / 3 else None
        changes[pid] = None if change_day is None else start + timedelta(days=change_day)
        handset = [{k: float(rng.normal(0, 0.6)) * _DAY_SD[k] for k in _DAY_SD} for _ in phones]
        sick = _sick_days(days.size, rng)
        gap = _gap(n_weeks, rng)
        made = 0
        for week in range(n_weeks):
            adherence = 0.95 - 0.40 * week / max(n_weeks - 1, 1)
            for day in np.sort(rng.choice(7, size=sessions_per_week, replace=False)):
                index = week * 7 + int(day)
                if index in gap or rng.random() > adherence:
                    continue
                phone = 1 if change_day is not None and index >= change_day else 0
                model, codec = phones[phone]
                task = "read_passage" if rng.random() < 0.4 else "free_speech"
                parts: dict[str, dict[str, float]] = {}
                row = _recording(pid, made, start, index,
                                 habits, severity[index], gains, noise_scale, task,
                                 families[_FAMILY_OF[codec]], handset[phone], codec, index in sick, rng, parts)
                row.update(device_model=model, codec=codec)
                visible[row["recording_id"]] = float(severity[index]) if gain > 0 else 0.0
                known[row["recording_id"]] = parts
                recordings.append(row)
                made += 1
        phq9 += _phq9(pid, start, n_weeks, phq9_every_weeks, severity, rng)
    truth: dict[str, Any] = {
        "severity": pd.concat(severity_rows, ignore_index=True),
        "visible": visible,
        "gains": gains_by_patient,
        "beta": {k: _effect_per_point(k) for k in _DAY_SD},
        "phone_change": changes,
        "known": known,
    }
    return SimulatedCohort(patients, pd.DataFrame(recordings), pd.DataFrame(phq9), truth)


def _sick_days(n_days: int, rng: np.random.Generator) -> set[int]:
    sick: set[int] = set()
    for _ in range(rng.poisson(1.0)):
        first = int(rng.integers(0, n_days))
        sick.update(range(first, first + int(rng.integers(2, 5))))
    return sick


def _gap(n_weeks: int, rng: np.random.Generator) -> set[int]:
    if rng.random() > 0.4:
        return set()
    first = int(rng.integers(14, n_weeks * 7 - 14))
    return set(range(first, first + int(rng.integers(7, 15))))


def _recording(pid, n, start, index, habits, severity, gains, noise_scale, task, family, handset, codec, sick,
               rng, parts: dict[str, dict[str, float]] | None = None) -> dict[str, Any]:
    """One recording's row; ``parts`` (if given) receives what is known apart from severity and noise:
    per directional feature the ``offset`` (natural level, task, codec family, handset, cold) and the
    ``noise_sd`` (the day-to-day SD of this recording's noise)."""
    shared = rng.normal()
    noise_factor = (_READ_NOISE if task == "read_passage" else 1.0) * (1.3 if codec.startswith("amr") else 1.0)
    f: dict[str, float] = {}
    for key, day_sd in _DAY_SD.items():
        load = _SHARED_DAY.get(key, 0.0)
        sign = DEPRESSION_DIRECTIONS[key].sign
        noise = np.sqrt(load) * sign * shared + np.sqrt(1 - load) * rng.normal()
        f[key] = (habits[key] + (_READ_SHIFT[key] if task == "read_passage" else 0.0) + family[key] + handset[key]
                  + gains[key] * _effect_per_point(key) * severity
                  + day_sd * noise_scale[key] * noise_factor * noise)
        if sick:  # a cold: slower, quieter, flatter, whatever the mood
            f[key] += sign * 2.0 * day_sd
        if parts is not None:
            parts.setdefault("offset", {})[key] = (
                habits[key] + (_READ_SHIFT[key] if task == "read_passage" else 0.0) + family[key] + handset[key]
                + (sign * 2.0 * day_sd if sick else 0.0))
            parts.setdefault("noise_sd", {})[key] = day_sd * noise_scale[key] * noise_factor
    f["f0_median_hz"] = habits["f0_median_hz"] * np.exp(rng.normal(0, 0.03))
    for key, sd in (("jitter_local", 0.002), ("shimmer_local", 0.008), ("hnr_db", 1.0), ("voiced_fraction", 0.03)):
        f[key] = habits[key] + rng.normal(0, sd)
    features = _derived(f, rng)
    recorded_at = start + timedelta(days=index, hours=float(rng.uniform(8, 21)))
    late = rng.random() < 0.1
    mismatch = bool(rng.random() < 0.01)
    if mismatch:  # someone else's voice
        other = _habits(pd.Series({"sex": rng.choice(["F", "M"]), "age": 40}), rng)
        features = _derived({**f, **{k: other[k] for k in _DAY_SD}}, rng)
    return {
        "recording_id": f"{pid}-R{n:04d}",
        "patient_id": pid,
        "recorded_at": recorded_at,
        "uploaded_at": recorded_at + timedelta(days=float(rng.uniform(1, 5)) if late else 0.01),
        "task": task,
        "sick": bool(sick),
        "rejected": bool(rng.random() < 0.03),
        "speaker_mismatch": mismatch,
        **features,
    }


def _phq9(pid, start, n_weeks, every, severity, rng) -> list[dict[str, Any]]:
    rows = []
    for week in range(every, n_weeks + 1, every):
        if rng.random() < 0.1:  # skipped
            continue
        index = week * 7
        total = int(np.clip(np.round(severity[index] + rng.normal(0, 1.5)), 0, 27))
        items = phq9_items_for_total(total, rng, item9_probability=0.5 / (1 + np.exp(-(total - 17) / 2)))
        rows.append({"response_id": f"{pid}-Q{len(rows):02d}", "patient_id": pid,
                     "answered_at": start + timedelta(days=index, hours=20),
                     **{f"item{i + 1}": int(v) for i, v in enumerate(items)}, "phq9_total": int(items.sum())})
    return rows
