"""How much of what the voice carries reaches the served PHQ-9 estimate, on a simulated cohort.

Composes the production maths as the screening service serves scores, without the database:
per task and phone segment personal baselines (:mod:`screening.baselines.baseline`), early
estimates against population norms and bridges across phone changes
(:mod:`screening.risk_model.early`), the reliability-weighted personal combination
(:mod:`screening.risk_model.personal`) on top of the population model fitted on other patients
(:mod:`screening.risk_model.fitting`), and the patient's one personal level
(:mod:`screening.risk_model.calibration`). Used by ``benchmarks/bench_score_signal.py`` (full
cohorts, several seeds) and by fast tests (small cohorts). The product never imports it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from screening.baselines.baseline import BaselineRecording, build_baseline
from screening.baselines.segments import DeviceInfo, codec_family, device_segments
from screening.risk_model.calibration import Calibrations, patient_calibration, phq9_residuals
from screening.risk_model.deviation import DEPRESSION_DIRECTIONS, DIRECTIONAL_FEATURES, deviation_from_baseline
from screening.risk_model.early import (
    BRIDGED,
    EARLY,
    EARLY_PRIOR_MODEL,
    PERSONAL,
    bridge_shift,
    bridged_z,
    early_level,
    early_z,
    fit_early_model,
    learn_norms,
)
from screening.risk_model.fitting import fit_population_model, repeated_measures_corr
from screening.risk_model.model import RiskModel, predict_frame
from screening.risk_model.personal import (
    PersonalCombination,
    _blup_weights,
    fit_loading_prior,
    personal_combination,
    personalise_model,
)
from screening.validation.pairing import pair_phq9_with_voice, window_slices
from tests.support.simulation import _SHARED_DAY

__all__ = ["score_recordings", "evaluate", "Figures"]

FEATURES = tuple(DIRECTIONAL_FEATURES)


def _answers(phq9: pd.DataFrame) -> pd.DataFrame:
    return phq9.rename(columns={"response_id": "phq9_id", "phq9_total": "total"})


def score_recordings(cohort, norms) -> pd.DataFrame:
    """Every valid recording with its personal, early and (after a phone change) bridged z's.

    Columns: recording_id, patient_id, recorded_at, task, family, segment, ``p_<feature>`` (personal
    z, NaN before the baseline), ``e_<feature>`` (early z), ``b_<feature>`` (bridged z, NaN where no
    bridge) and ``type`` (personal / bridged / early: what the service serves).
    """
    recordings = cohort.recordings
    patients = cohort.patients.set_index("patient_id")
    rows = []
    for pid, group in recordings.groupby("patient_id", sort=False):
        sex, age = patients.loc[pid, "sex"], float(patients.loc[pid, "age"])
        segments = device_segments(DeviceInfo(r.recording_id, r.recorded_at, r.device_model, r.codec)
                                   for r in group.itertuples())
        records = [BaselineRecording(recording_id=r["recording_id"], recorded_at=r["recorded_at"],
                                     features={k: r[k] for k in FEATURES}, rejected=bool(r["rejected"]),
                                     speaker_mismatch=bool(r["speaker_mismatch"]), task=r["task"],
                                     segment=segments[r["recording_id"]][1])
                   for r in group.to_dict("records")]
        first = {}  # segment index -> (key, first time, codec family)
        for rec, r in zip(records, group.to_dict("records"), strict=True):
            index, key = segments[rec.recording_id]
            first.setdefault(index, (key, rec.recorded_at, codec_family(r["codec"])))
        for rec, r in zip(records, group.to_dict("records"), strict=True):
            if not rec.valid:
                continue
            index, key = segments[rec.recording_id]
            family = codec_family(r["codec"])
            baseline = build_baseline(records, at=rec.recorded_at, task=rec.task, segment=key)
            personal = (deviation_from_baseline(rec.features, baseline).z if baseline is not None
                        else dict.fromkeys(FEATURES, math.nan))
            early = early_z(rec.features, norms.reference(sex=sex, age=age, task=rec.task, family=family))
            bridged = dict.fromkeys(FEATURES, math.nan)
            kind = PERSONAL if baseline is not None else EARLY
            if baseline is None and index > 0:
                old_key, _, old_family = first[index - 1]
                old = build_baseline(records, at=first[index][1], task=rec.task, segment=old_key)
                shift = bridge_shift(norms, sex=sex, age=age, task=rec.task, old_family=old_family,
                                     new_family=family)
                if old is not None and shift is not None:
                    bridged = bridged_z(rec.features, {k: (s.median, s.scale) for k, s in old.features.items()},
                                        shift)
                    kind = BRIDGED
            rows.append({"recording_id": rec.recording_id, "patient_id": pid, "recorded_at": rec.recorded_at,
                         "task": rec.task, "family": family, "segment": index, "sex": sex, "age": age,
                         "type": kind, "sick": bool(r.get("sick", False)),
                         **{f"p_{k}": v for k, v in personal.items() if k in FEATURES},
                         **{f"e_{k}": v for k, v in early.items()}, **{f"b_{k}": v for k, v in bridged.items()}})
    return pd.DataFrame(rows)


def _z(frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    return frame[[f"{prefix}{k}" for k in FEATURES]].set_axis(list(FEATURES), axis=1)


def _pick(mask: pd.Series, a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``a`` where ``mask`` holds, else of ``b``."""
    return a.where(np.repeat(mask.to_numpy()[:, None], a.shape[1], axis=1), b)


def _pairs(phq9: pd.DataFrame, frame: pd.DataFrame, columns) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=["patient_id", "answered_at", "phq9_total", *columns])
    if "voice_score" not in frame:
        frame = frame.assign(voice_score=0.0)
    return pair_phq9_with_voice(_answers(phq9), frame, columns=tuple(columns), min_recordings=1).pairs


def _window_of(recordings: pd.DataFrame, phq9: pd.DataFrame) -> pd.Series:
    """The PHQ-9 (response id) whose window holds each recording, or None."""
    out = pd.Series(None, index=recordings.index, dtype=object)
    for pid, mine in recordings.groupby("patient_id"):
        answers = phq9[phq9.patient_id == pid].sort_values("answered_at")
        order = mine.sort_values("recorded_at")
        times = pd.to_datetime(order["recorded_at"], utc=True).to_numpy(dtype="datetime64[ns]")
        answered = pd.to_datetime(answers["answered_at"], utc=True).to_numpy(dtype="datetime64[ns]")
        lo, hi = window_slices(times, answered, 14.0)
        for rid, a, b in zip(answers["response_id"], lo, hi, strict=True):
            out[order.index[a:b]] = rid
    return out


@dataclass(frozen=True)
class Models:
    population: RiskModel
    early: RiskModel
    norms: object
    loadings: object


def fit_clinic(cohort, train: set[str]) -> Models:
    """What the clinic fits on its patients ``train``: norms, the population model, the early model
    and the population loadings (each from the training patients' data only)."""
    recs = cohort.recordings[cohort.recordings.patient_id.isin(train) & ~cohort.recordings.rejected
                             & ~cohort.recordings.speaker_mismatch]
    table = recs.merge(cohort.patients[["patient_id", "sex", "age"]], on="patient_id")
    table = table.assign(family=table["codec"].map(codec_family))
    norms = learn_norms(table)
    scored = score_recordings(cohort.__class__(cohort.patients[cohort.patients.patient_id.isin(train)],
                                               cohort.recordings[cohort.recordings.patient_id.isin(train)],
                                               cohort.phq9, cohort.truth), norms)
    phq9 = cohort.phq9[cohort.phq9.patient_id.isin(train)]
    personal = scored[scored.type == PERSONAL]
    p_pairs = _pairs(phq9, personal.join(_z(personal, "p_")), FEATURES)
    population = fit_population_model(p_pairs).model
    e_pairs = _pairs(phq9, scored.join(_z(scored, "e_")), FEATURES)
    early = fit_early_model(e_pairs) or EARLY_PRIOR_MODEL
    loadings = fit_loading_prior(p_pairs)
    return Models(population, early, norms, loadings)


@dataclass(frozen=True)
class Figures:
    seed: int
    values: dict

    def __getitem__(self, key):
        return self.values[key]


#: How the served curve is levelled from the patient's PHQ-9s (:func:`_served`). The service gives the
#: patient's personal curve one level, from every PHQ-9 so far (``screening.nightly.scoring.score_patient``,
#: re-levelled as PHQ-9s arrive); the benchmark levels the early (and bridged) estimates too, by the same
#: empirical-Bayes shrinkage of their own residuals. One level per patient is invisible to the repeated-measures
#: correlation; what a PHQ-9 can leak into it is a level that differs *within* a patient: the early curve's
#: offset from the personal curve. For each PHQ-9 window, that must not come from the window's own PHQ-9.
#:
#: * ``difference_leave_one_out`` (the headline): the personal curve keeps its one level (from every PHQ-9,
#:   as served now); the early curve is placed at that level plus its offset from the personal curve,
#:   ``early level - personal level``, both estimated from every PHQ-9 but the one whose window holds the
#:   recording: the curve as the service levels it now, with only the window's own PHQ-9 withheld. If
#:   anything it errs low (an early window's offset moves against its own PHQ-9 by about 1 / (n - 1));
#: * ``all`` (diagnostic, **leaks**): both curves levelled from every PHQ-9, each early window's own
#:   included (the headline before 2026-12-07);
#: * ``difference_prospective`` (diagnostic): the offset from the PHQ-9s answered before the recording;
#: * ``service`` (the product's code path): early estimates levelled as the service levels them
#:   (``screening.risk_model.early.early_level`` over every recording's early population PHQ-9, clipped to the
#:   scale as ``early_estimate`` stores it, the served estimate clipped too; ``screening.nightly.scoring``), and
#:   no bridge (the service has none: bridged recordings get early estimates), the personal curve with its one
#:   level, measured like the headline: the early curve's offset from the personal curve with the window's own
#:   PHQ-9 withheld from both levels;
#: * ``early_unlevelled`` (diagnostic): early estimates with no level at all, as the service stored them until
#:   2026-12-07, the personal curve with its one level;
#: * ``prospective`` and ``leave_one_out`` (diagnostics): each recording's levels, personal and early, from
#:   the PHQ-9s answered before it, or from all but its window's. No PHQ-9 of its own window, but the level
#:   then varies from window to window within a patient, and that enters the rm-corr: prospective levels step
#:   at every PHQ-9 (the first windows sit at the population's level, later ones at the patient's), and a
#:   left-out level moves against what was left out (about -1 / (n - 1) of the window's own residual).
SERVED_MODES = ("difference_leave_one_out", "all", "difference_prospective", "service", "early_unlevelled",
                "prospective", "leave_one_out")
HEADLINE = SERVED_MODES[0]


def _offsets(model: RiskModel, source: pd.DataFrame, population: pd.Series, targets: pd.DataFrame,
             phq9: pd.DataFrame, mode: str) -> pd.Series:
    """The patient's level (points) at each recording of ``targets``, from the residuals of their PHQ-9s against
    the mean ``population`` (raw PHQ-9 per recording of ``source``) of each window (:func:`phq9_residuals`):
    from every PHQ-9 (``all``), from those answered strictly before the recording (``prospective``), or from all
    but the one whose window holds it (``leave_one_out``). 0 for a patient without residuals."""
    out = pd.Series(0.0, index=targets.index)
    for pid, mine in targets.groupby("patient_id"):
        answers = phq9[phq9.patient_id == pid].sort_values("answered_at")
        own = source[source.patient_id == pid]
        residuals = phq9_residuals(list(zip(answers.answered_at, answers.phq9_total, strict=True)),
                                   list(zip(own.recorded_at, population[own.index], strict=True)))
        levels = Calibrations(residuals, model)
        if mode == "all":
            out[mine.index] = levels.latest.offset
        elif mode == "prospective":
            out[mine.index] = [levels.before(at).offset for at in mine.recorded_at]
        elif mode == "leave_one_out":
            answered = dict(zip(answers.response_id, answers.answered_at, strict=True))
            for window, members in mine.groupby(mine["window"].fillna("-"), sort=False):
                left_out = answered.get(window)
                out[members.index] = patient_calibration([r for t, r in residuals if t != left_out],
                                                         model=model).offset
        else:
            raise ValueError(f"unknown level mode {mode!r}")
    return out


def _service_early_offsets(models: Models, frame: pd.DataFrame, stored: pd.Series, targets: pd.DataFrame,
                           phq9: pd.DataFrame) -> pd.Series:
    """The early level the service gives each early recording of ``targets``
    (:func:`screening.risk_model.early.early_level`, the product's function, from the patient's PHQ-9s and the
    early population PHQ-9 of every recording), with the PHQ-9 of the recording's own window withheld."""
    out = pd.Series(0.0, index=targets.index)
    for pid, mine in targets.groupby("patient_id"):
        answers = phq9[phq9.patient_id == pid].sort_values("answered_at")
        own = frame[frame.patient_id == pid]
        populations = list(zip(own.recorded_at, stored[own.index], strict=True))
        for window, members in mine.groupby(mine["window"].fillna("-"), sort=False):
            kept = answers[answers.response_id != window]
            out[members.index] = early_level(list(zip(kept.answered_at, kept.phq9_total, strict=True)), populations,
                                             model=models.early).offset
    return out


def _served(models: Models, frame: pd.DataFrame, early_population: pd.Series, population: pd.Series,
            phq9: pd.DataFrame, mode: str) -> pd.Series:
    """The served PHQ-9 of every recording of ``frame``: early estimates from ``early_population`` (the early
    model's raw PHQ-9, every recording), personal and bridged ones from ``population`` (the personalised
    model's, indexed by those recordings), each levelled as ``mode`` says (:data:`SERVED_MODES`)."""
    personal = frame.loc[population.index]
    early = frame[~frame.index.isin(population.index)]
    served = pd.Series(np.nan, index=frame.index)
    if mode in ("all", "prospective", "leave_one_out"):
        served[early.index] = early_population[early.index] + _offsets(models.early, frame, early_population,
                                                                       early, phq9, mode)
        served[personal.index] = population + _offsets(models.population, personal, population, personal,
                                                       phq9, mode)
        return served
    if mode == "service":
        # The service has no bridge: a recording without a personal baseline gets an early estimate.
        own = frame[frame.type == PERSONAL]
        own_population = population[own.index]
        rest = frame[frame.type != PERSONAL]
        level = _offsets(models.population, own, own_population, frame, phq9, "all")  # one per patient
        served[own.index] = own_population + level[own.index]
        stored = early_population.clip(0.0, 27.0)  # what early_estimate stores as population_phq9
        offset = (_service_early_offsets(models, frame, stored, rest, phq9)
                  - _offsets(models.population, own, own_population, rest, phq9, "leave_one_out"))
        served[rest.index] = (stored[rest.index] + level[rest.index] + offset).clip(0.0, 27.0)
        return served
    level = _offsets(models.population, personal, population, frame, phq9, "all")  # one per patient
    served[personal.index] = population + level[personal.index]
    if mode == "early_unlevelled":
        served[early.index] = early_population[early.index]

    elif mode in ("difference_leave_one_out", "difference_prospective"):
        held = mode.removeprefix("difference_")
        offset = (_offsets(models.early, frame, early_population, early, phq9, held)
                  - _offsets(models.population, personal, population, early, phq9, held))
        served[early.index] = early_population[early.index] + level[early.index] + offset
    else:
        raise ValueError(f"unknown level mode {mode!r}")
    return served


def _true_combination(models: Models, loadings: dict[str, float]) -> PersonalCombination:
    """The personal combination with a patient's true loadings (signed z per PHQ-9 point) and each
    feature's window-mean z noise 1/3 (about three recordings of unit-variance z), the population
    weights from the clinic's loadings under the same noise (so that the model's scale is kept alike)."""
    prior = replace(models.loadings, noise=dict.fromkeys(FEATURES, 1 / 3))
    population = _blup_weights({k: max(v, 0.0) for k, v in prior.mu.items()}, prior, None)
    return PersonalCombination(loadings, _blup_weights(loadings, prior, None), population, {}, 0)


def _true_loadings(cohort, pid: str) -> dict[str, float]:
    """A patient's true loading per feature in z units: gain x |effect per point| / their median noise SD."""
    known, gains, beta = cohort.truth["known"], cohort.truth["gains"][pid], cohort.truth["beta"]
    ids = cohort.recordings.loc[cohort.recordings.patient_id == pid, "recording_id"]
    return {k: gains[k] * abs(beta[k]) / float(np.median([known[r]["noise_sd"][k] for r in ids])) for k in FEATURES}


def _personal_predictions(models: Models, frame: pd.DataFrame, phq9: pd.DataFrame, *, weighted: bool,
                          leave_out: bool | str, true_loadings: dict | None = None) -> pd.Series:
    """Personal (and bridged) recordings' population PHQ-9 from the personalised model; with
    ``leave_out`` each PHQ-9 window's recordings get weights from the patient's *other* windows, with
    ``leave_out="prospective"`` each recording gets weights from the windows of the PHQ-9s answered before it (what
    a nightly service could serve: it knows no later PHQ-9); with ``true_loadings`` (patient -> feature -> loading)
    the weights rest on those instead (a diagnostic)."""
    z = _pick(frame["type"].eq(PERSONAL), _z(frame, "p_"), _z(frame, "b_"))
    out = pd.Series(np.nan, index=frame.index)
    prospective = leave_out == "prospective"
    for pid, mine in frame.groupby("patient_id"):
        answers = phq9[phq9.patient_id == pid]
        pairs = _pairs(answers, mine[mine.type == PERSONAL].join(_z(mine, "p_")), FEATURES) \
            if weighted else None
        groups = mine["recorded_at"] if prospective else mine["window"].fillna("-")
        for key, members in mine.groupby(groups, sort=False):
            use = pairs
            if weighted and prospective and pairs is not None and not pairs.empty:
                use = pairs[pairs.answered_at < key]
            elif weighted and leave_out and pairs is not None and not pairs.empty:
                use = pairs[pairs.phq9_id != key]
            if true_loadings is not None:
                model = personalise_model(models.population, _true_combination(models, true_loadings[pid]))
            elif weighted:
                model = personalise_model(models.population, personal_combination(use, prior=models.loadings))
            else:
                model = models.population
            out[members.index] = predict_frame(model, z.loc[members.index])["raw_prediction"]
    return out


def evaluate(cohort, *, seed: int, folds: int = 2) -> Figures:
    """Fit the clinic's models on all but one fold of patients and measure on that fold, for every fold
    (patients shuffled by ``seed``); the held-out folds' windows are pooled (see the benchmark)."""
    ids = cohort.patients["patient_id"].to_numpy().copy()
    np.random.default_rng(seed).shuffle(ids)
    parts = [_held_out(cohort, set(ids) - set(held), set(held)) for held in np.array_split(ids, folds)]
    figures = _figures(seed, pd.concat([p[0] for p in parts], ignore_index=True),
                       pd.concat([p[1] for p in parts], ignore_index=True),
                       [w for p in parts for w in p[2]], parts[0][3], _severity_var(cohort))
    figures.values["shares"] = {pid: share for p in parts for pid, share in _shares(p[0], p[1], p[3]).items()}
    return figures


def _severity_var(cohort) -> float:
    """The population's within-patient variance of the latent severity (a simulation parameter)."""
    severity = cohort.truth.get("severity")
    if severity is None or severity.empty:
        return 16.0
    centred = severity["severity"] - severity.groupby("patient_id")["severity"].transform("mean")
    return float((centred ** 2).mean())


def _shares(frame: pd.DataFrame, phq9: pd.DataFrame, models: Models) -> dict[str, dict]:
    """Per patient: the features their weighted score rests on (shares from all their PHQ-9 windows)."""
    out = {}
    for pid, mine in frame[frame.type == PERSONAL].groupby("patient_id"):
        pairs = _pairs(phq9[phq9.patient_id == pid], mine.join(_z(mine, "p_")), FEATURES)
        combination = personal_combination(pairs, prior=models.loadings)
        out[pid] = {"n_pairs": combination.n_pairs, "shares": dict(combination.shares),
                    "total_weight": sum(combination.weights.values()),
                    "population_weight": sum(combination.population_weights.values())}
    return out


def _held_out(cohort, train: set[str], held: set[str]):
    """One fold: the held-out patients' recordings with every served estimate, and their PHQ-9s."""
    models = fit_clinic(cohort, train)
    sub = cohort.__class__(cohort.patients[cohort.patients.patient_id.isin(held)],
                           cohort.recordings[cohort.recordings.patient_id.isin(held)],
                           cohort.phq9[cohort.phq9.patient_id.isin(held)], cohort.truth)
    frame = score_recordings(sub, models.norms)
    phq9 = sub.phq9
    frame["window"] = _window_of(frame, phq9)
    frame["visible"] = frame["recording_id"].map(cohort.truth["visible"])
    if "known" in cohort.truth:
        frame = frame.join(_oracle_terms(cohort, frame))
    # Served PHQ-9 per recording, each estimate type from its own model and level: ``served_<variant>`` levelled
    # as the headline says (HEADLINE), ``served_weighted_<mode>`` the weighted variant with the other levellings.
    early_population = predict_frame(models.early, _z(frame, "e_"))["raw_prediction"]
    pb = frame[frame.type != EARLY]
    variants = [("uniform", False, False, None), ("weighted", True, True, None),
                ("weighted_in_sample", True, False, None), ("weighted_prospective", True, "prospective", None)]
    if "known" in cohort.truth:
        variants.append(("true_loadings", True, False, {pid: _true_loadings(cohort, pid) for pid in held}))
    for name, weighted, leave_out, true_loadings in variants:
        population = _personal_predictions(models, pb, phq9, weighted=weighted, leave_out=leave_out,
                                           true_loadings=true_loadings)[pb.index]
        # The nightly service scores with the model's fixed shares (docs/screening.md §3b): ``served_uniform_service``
        # is what it serves.
        modes = {"weighted": SERVED_MODES, "uniform": (HEADLINE, "service"), "weighted_prospective": ("service",)}
        for mode in modes.get(name, (HEADLINE,)):
            frame[f"served_{name}" if mode == HEADLINE else f"served_{name}_{mode}"] = \
                _served(models, frame, early_population, population, phq9, mode)
    served_z = _pick(frame["type"].eq(EARLY), _z(frame, "e_"),
                     _pick(frame["type"].eq(PERSONAL), _z(frame, "p_"), _z(frame, "b_")))
    for key in FEATURES:
        frame[f"z_{key}"] = served_z[key]
    frame["is_personal"] = frame["type"].eq(PERSONAL).astype(float)
    frame["early_prospective"] = early_population + _offsets(models.early, frame, early_population, frame, phq9,
                                                             "prospective")
    frame["early_population"] = early_population
    frame["early_prior"] = predict_frame(EARLY_PRIOR_MODEL, _z(frame, "e_"))["raw_prediction"]
    valid = sub.recordings[~sub.recordings.rejected & ~sub.recordings.speaker_mismatch]
    with_recording = sorted(set(_window_of(valid, phq9).dropna()))
    return frame, phq9, with_recording, models


def _oracle_terms(cohort, frame: pd.DataFrame) -> pd.DataFrame:
    """Per recording, the terms of the oracle: the generalised-least-squares (BLUE) estimate of the
    severity from the recording's directional features with every simulation parameter known.

    With ``y_k = feature_k - offset_k`` (the patient's natural level, task, codec family, handset and
    cold removed at their true values), ``c_k = gain_k * beta_k`` (the patient's true per-feature gain
    times the published effect per PHQ-9 point) and the true noise covariance
    ``Sigma = D (l l' + diag(1 - l_k^2)) D`` (``D`` the recording's true noise SDs, ``l`` the shared
    "tired day" loadings), ``oracle_num = c' Sigma^-1 y`` and ``oracle_info = c' Sigma^-1 c`` (the
    BLUE is their ratio, its variance ``1 / oracle_info``). Features missing on the recording drop
    out. Non-responders (all gains 0) carry no information: both are 0.
    """
    known, gains, beta = cohort.truth["known"], cohort.truth["gains"], cohort.truth["beta"]
    raw = cohort.recordings.set_index("recording_id")
    signs = np.array([DEPRESSION_DIRECTIONS[k].sign for k in FEATURES], dtype=float)
    load = np.sqrt(np.array([_SHARED_DAY.get(k, 0.0) for k in FEATURES])) * signs
    shared = np.outer(load, load) + np.diag(1 - load ** 2)
    num, info, blue, var = [], [], [], []
    for rid, pid in zip(frame["recording_id"], frame["patient_id"], strict=True):
        parts = known[rid]
        y = np.array([raw.at[rid, k] - parts["offset"][k] for k in FEATURES], dtype=float)
        c = np.array([gains[pid][k] * beta[k] for k in FEATURES])
        sd = np.array([parts["noise_sd"][k] for k in FEATURES])
        ok = np.isfinite(y)
        if not np.any(c[ok] != 0):
            num.append(0.0)
            info.append(0.0)
            blue.append(0.0)
            var.append(0.0)
            continue
        cov = shared[np.ix_(ok, ok)] * np.outer(sd[ok], sd[ok])
        a = np.linalg.solve(cov, c[ok])
        num.append(float(a @ y[ok]))
        info.append(float(a @ c[ok]))
        blue.append(num[-1] / info[-1])
        var.append(1 / info[-1])
    return pd.DataFrame({"oracle_num": num, "oracle_info": info, "oracle_rec": blue, "oracle_var": var},
                        index=frame.index)


def _oracle_windows(pairs: pd.DataFrame, severity_var: float) -> pd.DataFrame:
    """Each window's oracle estimates from the window means of ``oracle_num`` / ``oracle_info``.

    ``oracle_blue``: the window's recordings pooled by their precision, ``sum num / sum info`` (the
    BLUE of the window's severity, variance ``1 / sum info``). ``oracle``: that shrunk toward the
    patient's precision-weighted mean estimate by the known reliability ``S info_w / (1 + S info_w)``
    (``S`` the population's within-patient severity variance): the best linear predictor, which weighs
    a noisy window (a weak responder's, one recording) less. ``oracle_mean``: the recordings' BLUEs
    averaged as the served score is (plain mean), then shrunk the same way. Constant for non-responders.
    """
    out = pairs.copy()
    n = out["n_recordings"].astype(float)
    info = out["oracle_info"] * n
    with np.errstate(divide="ignore", invalid="ignore"):
        blue = np.where(info > 0, out["oracle_num"] / out["oracle_info"], 0.0)
    out["oracle_blue"] = blue
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_info = np.where(out["oracle_var"] > 0, n / out["oracle_var"], 0.0)  # 1 / var of the plain mean
    for name, estimate, precision in (("oracle", out["oracle_blue"], info),
                                      ("oracle_mean", out["oracle_rec"], pd.Series(mean_info, index=out.index))):
        shrunk = pd.Series(0.0, index=out.index)
        for _, mine in out.groupby("patient_id"):
            w = precision[mine.index]
            if w.sum() <= 0:
                continue
            centre = float((w * estimate[mine.index]).sum() / w.sum())
            k = severity_var * w / (1 + severity_var * w)
            shrunk[mine.index] = centre + k * (estimate[mine.index] - centre)
        out[name] = shrunk
    return out


def _figures(seed: int, frame: pd.DataFrame, phq9: pd.DataFrame, with_recording: list, models: Models,
             severity_var: float = 16.0) -> Figures:
    values = {}
    oracle = "oracle_num" in frame
    columns = ["visible", "served_uniform", "served_uniform_service", "served_weighted", "served_weighted_in_sample",
               "served_weighted_prospective_service",
               *[f"served_weighted_{mode}" for mode in SERVED_MODES[1:]],
               "early_prospective", "early_population", "early_prior", "is_personal",
               *[f"z_{k}" for k in FEATURES],
               *(["oracle_num", "oracle_info", "oracle_rec", "oracle_var", "served_true_loadings"] if oracle else [])]
    pairs = _pairs(phq9, frame, columns)
    if oracle:
        pairs = _oracle_windows(pairs, severity_var)
    personal_pairs = pairs[pairs.is_personal == 1.0]
    rm = lambda df, col: repeated_measures_corr(df, x=col, y="phq9_total")  # noqa: E731
    singles = {k: rm(pairs, f"z_{k}") for k in FEATURES}
    singles_personal = {k: rm(personal_pairs, f"z_{k}") for k in FEATURES}
    best = max(singles, key=lambda k: singles[k] if math.isfinite(singles[k]) else -1)
    best_personal = max(singles_personal, key=lambda k: singles_personal[k] if math.isfinite(singles_personal[k]) else -1)
    # Coverage: PHQ-9 windows that contain a valid recording; which have a score, of which type.
    with_recording = set(with_recording)
    types = frame.dropna(subset=["window"]).groupby("window")["type"].agg(set)
    personal_windows = {w for w, t in types.items() if PERSONAL in t}
    scored_windows = set(types.index)
    n = len(with_recording)
    values.update({
        "windows_with_recording": n,
        "coverage": len(scored_windows & with_recording) / n if n else math.nan,
        "coverage_personal": len(personal_windows & with_recording) / n if n else math.nan,
        "coverage_early_only": len((scored_windows - personal_windows) & with_recording) / n if n else math.nan,
        "ceiling": rm(pairs, "visible"),
        "predicted": rm(pairs, "served_weighted"),
        **{f"predicted_{mode}": rm(pairs, f"served_weighted_{mode}") for mode in SERVED_MODES[1:]},
        "predicted_in_sample": rm(pairs, "served_weighted_in_sample"),
        "predicted_uniform": rm(pairs, "served_uniform"),
        "served": rm(pairs, "served_uniform_service"),
        "served_personal_prospective": rm(pairs, "served_weighted_prospective_service"),
        "best_single": singles[best], "best_single_feature": best,
        "ceiling_personal": rm(personal_pairs, "visible"),
        "predicted_personal": rm(personal_pairs, "served_weighted"),
        "uniform_personal": rm(personal_pairs, "served_uniform"),
        "best_single_personal": singles_personal[best_personal], "best_single_personal_feature": best_personal,
        "early_model": models.early.version, "early_calibrated": models.early.calibrated,
        "loadings_source": models.loadings.source,
    })
    if oracle:
        values.update({name: rm(pairs, name) for name in ("oracle", "oracle_blue", "oracle_mean")})
        values["predicted_true_loadings"] = rm(pairs, "served_true_loadings")
        values["oracle_personal"] = rm(personal_pairs, "oracle")
    values.update(_calibration(pairs))
    return Figures(seed, values)


def _slope(x: pd.Series, y: pd.Series) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 5 or np.var(x[ok]) == 0:
        return math.nan
    return float(np.polyfit(x[ok], y[ok], 1)[0])


def _calibration(pairs: pd.DataFrame) -> dict:
    """Calibration slopes (PHQ-9 on prediction) of the early estimates on held-out patients, each window
    with the mean early estimate of its recordings: as served then (population estimate plus the level
    from the PHQ-9s answered before), for a new patient (no level), under the literature prior, and the
    windows the service actually serves with early estimates."""
    early = pairs[pairs.is_personal < 1.0]
    return {
        "early_slope_prospective": _slope(pairs["early_prospective"], pairs["phq9_total"]),
        "early_slope_new_patient": _slope(pairs["early_population"], pairs["phq9_total"]),
        "early_slope_prior": _slope(pairs["early_prior"], pairs["phq9_total"]),
        "early_slope_served_windows": _slope(early["early_prospective"], early["phq9_total"]),
        "early_served_windows": len(early),
        "early_mae_prospective": float(np.nanmean(np.abs(pairs["early_prospective"] - pairs["phq9_total"]))),
        "early_mae_served_windows": float(np.nanmean(np.abs(early["early_prospective"] - early["phq9_total"]))),
    }
