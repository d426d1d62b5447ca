"""Assemble the PHQ-9 validation report and render it as JSON or CSV (the pairs).

:func:`build_report` takes DataFrames (the caller builds them from the database) and
returns a :class:`ValidationReport`: ``content``, a JSON-ready dict of every statistic with
a one-line plain-language ``interpretation`` per section, plus the pairs behind it.
The HTML page is rendered from a Django template by :mod:`screening.reports.html`, with the
plots of :mod:`.plots`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from clinic.phq9 import MINIMAL_IMPORTANT_DIFFERENCE, SCREENING_CUTOFF, WINDOW_DAYS
from screening.numbers import json_ready
from screening.validation import accuracy, alert_stats, stats, subgroups
from screening.validation.pairing import pair_phq9_with_voice
from screening.validation.tripod import tripod_ai

__all__ = [
    "FORMATS",
    "SECTION_TITLES",
    "PREDICTION_SECTIONS",
    "ValidationReport",
    "build_report",
    "render_csv",
    "render_json",
]

FORMATS = ("json", "html", "csv")
SECTION_TITLES = {
    "between_person": "Between patients: patient means",
    "within_person": "Within patients: repeated-measures correlation",
    "mixed_model": "Linear mixed model",
    "screening_accuracy": "Screening accuracy at PHQ-9 \u2265 {cutoff}",
    "calibration": "Calibration of the probability",
    "decision_curve": "Decision curve: net benefit at risk thresholds 5\u201350 %",
    "three_way": "Three-way output: low, indeterminate, high",
    "reliable_change": "Reliable change (Jacobson\u2013Truax) and agreement on changes of \u2265 {mid} points",
    "by_site": "Results per care team and leave-one-team-out",
    "tripod_ai": "TRIPOD+AI reporting items",
    "bland_altman": "Agreement of predicted and observed PHQ-9 (Bland\u2013Altman)",
    "change_detection": "Detection of PHQ-9 changes of \u2265 {mid} points",
    "subgroups": "Breakdown by sex, age band, language, codec, device and recording task",
    "alerts": "Alert burden and positive predictive value of risk alerts",
}
SCORE_NAMES = {"voice_score": "the voice score", "predicted_phq9": "the predicted PHQ-9"}
#: Sections whose numbers come from the fitted risk model rather than the voice score.
MODEL_SECTIONS = ("screening_accuracy", "calibration", "bland_altman")
#: Every section computed from the model's predictions (flagged when they are in-sample).
PREDICTION_SECTIONS = (*MODEL_SECTIONS, "decision_curve", "three_way", "reliable_change")


@dataclass(frozen=True)
class ValidationReport:
    """The report: ``content`` (JSON-ready dict), the pairs and the unpaired PHQ-9s."""

    content: dict[str, Any]
    pairs: pd.DataFrame
    unpaired: pd.DataFrame


# ------------------------------------------------------------------ interpretation
def _ci_text(ci: list[float], digits: int = 2) -> str:
    return f"95 % CI {ci[0]:.{digits}f} to {ci[1]:.{digits}f}"


def _excludes_zero(ci: list[float]) -> bool:
    return ci[0] > 0 or ci[1] < 0


def _interpret_correlation(r: float, ci: list[float], *, subject: str, n: int) -> str:
    if not _excludes_zero(ci):
        return (
            f"{subject}, no clear association between voice score and PHQ-9 "
            f"(r = {r:.2f}, {_ci_text(ci)}, which includes zero; n = {n})."
        )
    way = "higher" if r > 0 else "lower"
    return (
        f"{subject}, a higher voice score went with a {way} PHQ-9 "
        f"(r = {r:.2f}, {_ci_text(ci)}; n = {n})."
    )


def _interpret(name: str, section: dict[str, Any], content: dict[str, Any]) -> str:
    if section.get("status") != "ok":
        return section.get("message", "insufficient data")
    if name == "between_person":
        pearson = section["pearson"]
        return _interpret_correlation(
            pearson["r"],
            pearson["ci95"],
            n=section["n_patients"],
            subject="Between patients (one mean per patient)",
        )
    if name == "within_person":
        return _interpret_correlation(
            section["r"],
            section["ci95"],
            n=section["n_patients"],
            subject="Within the same patient over time",
        )
    if name == "mixed_model":
        within = section["coefficients"]["voice_within"]
        return (
            f"For the same patient, one unit more voice score went with "
            f"{within['estimate']:+.2f} PHQ-9 points ({_ci_text(within['ci95'])})."
        )
    if name == "screening_accuracy":
        return (
            f"AUC {section['auc']:.2f} ({_ci_text(section['auc_ci95'])}): the chance "
            "that a pair with PHQ-9 \u2265 cut-off gets a higher probability than one "
            "below it; 0.5 is chance, published speech-only systems reach about 0.76\u20130.82."
        )
    if name == "calibration":
        prevalence = content["summary"]["prevalence"]
        return (
            f"Brier score {section['brier']:.3f} ({_ci_text(section['brier_ci95'], 3)}); "
            f"lower is better, and always predicting the prevalence would score "
            f"{prevalence * (1 - prevalence):.3f}."
        )
    if name == "bland_altman":
        return (
            f"Predicted minus questionnaire PHQ-9 averaged {section['bias']:+.2f} points "
            f"({_ci_text(section['bias_ci95'])}); 95 % of differences lie between "
            f"{section['loa_low']:.1f} and {section['loa_high']:.1f} points."
        )
    raise KeyError(name)


def _interpret_change(section: dict[str, Any]) -> str:
    if section.get("status") != "ok":
        return section["message"]
    hit = section["matched"]
    return (
        f"Of {section['n_changes']} PHQ-9 changes of \u2265 {section['mid']} points, "
        f"{SCORE_NAMES[section['score']]} moved the same way in {hit['successes']} "
        f"({hit['value']:.0%}, 95 % CI {hit['ci95'][0]:.0%} to {hit['ci95'][1]:.0%}); "
        "chance is 50 %."
    )


# ------------------------------------------------------------------------- building
def _summary(pairing, provenance: dict[str, Any], cutoff: int) -> dict[str, Any]:
    pairs = pairing.pairs
    sizes = pairs.groupby("patient_id").size()
    positive = int((pairs["phq9_total"] >= cutoff).sum())
    return {
        "n_phq9": pairing.n_phq9,
        "n_pairs": int(len(pairs)),
        "n_patients": int(len(sizes)),
        "n_patients_with_repeats": int((sizes >= 2).sum()),
        "n_unpaired": pairing.n_unpaired,
        "unpaired_reasons": pairing.unpaired_reasons,
        "n_positive": positive,
        "prevalence": positive / len(pairs) if len(pairs) else math.nan,
        "predictions": provenance["label"],
        "predictions_out_of_fold": provenance["out_of_fold"],
    }


def _change_sections(
    pairs: pd.DataFrame, *, mid: int, direction: int, predictions: str
) -> dict[str, Any]:
    sections = {
        "voice_score": stats.change_detection(
            pairs, mid=mid, score="voice_score", direction=direction
        ),
        "predicted_phq9": stats.change_detection(pairs, mid=mid, score="predicted_phq9"),
    }
    for section in sections.values():
        section["interpretation"] = _interpret_change(section)
    sections["predicted_phq9"]["predictions"] = predictions
    return sections


def build_report(
    *,
    phq9: pd.DataFrame,
    scores: pd.DataFrame,
    patients: pd.DataFrame,
    window_days: int = WINDOW_DAYS,
    min_recordings: int = 2,
    threshold: float = 0.5,
    cutoff: int = SCREENING_CUTOFF,
    mid: int = MINIMAL_IMPORTANT_DIFFERENCE,
    reference_date: pd.Timestamp | datetime | None = None,
    n_bootstrap: int = 2000,
    seed: int | None = 0,
    n_bins: int = 10,
    voice_direction: int = 1,
    generated_at: datetime | None = None,
    prediction_source: str | None = None,
    model: dict[str, Any] | None = None,
    alerts: pd.DataFrame | None = None,
    alert_horizon_days: int = alert_stats.HORIZON_DAYS,
) -> ValidationReport:
    """Pair PHQ-9 with voice scores and compute every statistic of the report.

    Parameters
    ----------
    phq9, scores : pandas.DataFrame
        See :func:`~screening.validation.pairing.pair_phq9_with_voice`.
    patients : pandas.DataFrame
        patient_id, sex, birth_year, language (for the subgroup breakdown).
    window_days, min_recordings : int
        Pairing rule: recordings in the ``window_days`` days before each PHQ-9, at least
        ``min_recordings`` of them.
    threshold : float
        prob_ge10 at or above which a pair is called positive (sensitivity, specificity).
    cutoff, mid : int
        PHQ-9 screening cut-off and minimal important difference, points.
    reference_date : timestamp, optional
        Date at which ages are taken for the age bands; defaults to ``generated_at``.
    n_bootstrap, seed : int
        Patient-level bootstrap resamples and their seed.
    n_bins : int
        Equal-width bins of the reliability curve.
    voice_direction : int
        +1 if a higher voice score means more depressed, -1 if less.
    generated_at : datetime, optional
        Time stamp of the report (tz-aware); defaults to now.
    prediction_source : str, optional
        How honest predictions were obtained when they are not from cross-validation,
        e.g. a literature prior never fitted on these patients; replaces the
        out-of-fold label only when every pair is marked ``oof``.
    model : dict, optional
        The risk model's version and kind, shown in the summary.
    alerts : pandas.DataFrame, optional
        patient_id, kind, at (tz-aware trigger time): the alert burden and the PPV of risk alerts
        against the next PHQ-9 within ``alert_horizon_days``; without it the section says so.
    """
    generated_at = generated_at or datetime.now(UTC)
    reference = pd.Timestamp(reference_date if reference_date is not None else generated_at)
    pairing = pair_phq9_with_voice(
        phq9, scores, window_days=window_days, min_recordings=min_recordings
    )
    pairs = pairing.pairs
    provenance = subgroups.prediction_provenance(pairs)
    if prediction_source and provenance["out_of_fold"]:
        provenance["label"] = prediction_source
    boot = {"n_bootstrap": n_bootstrap, "seed": seed}
    content: dict[str, Any] = {
        "title": "PHQ-9 validation report",
        "generated_at": generated_at.isoformat(),
        "parameters": {
            "window_days": window_days,
            "min_recordings": min_recordings,
            "threshold": threshold,
            "cutoff": cutoff,
            "mid": mid,
            "reference_date": reference.date().isoformat(),
            "confidence": stats.CONFIDENCE,
            "n_bootstrap": n_bootstrap,
            "seed": seed,
            "voice_direction": voice_direction,
            "min_patients": stats.MIN_PATIENTS,
            "min_pairs": stats.MIN_PAIRS,
            "min_changes": stats.MIN_CHANGES,
            "alert_horizon_days": alert_horizon_days,
            "min_evaluable_alerts": alert_stats.MIN_EVALUABLE_ALERTS,
        },
        "summary": _summary(pairing, provenance, cutoff) | {"model": model or {}},
        "between_person": stats.between_person_correlation(pairs),
        "within_person": stats.repeated_measures_correlation(pairs),
        "mixed_model": stats.mixed_model(pairs),
        "screening_accuracy": accuracy.screening_accuracy(
            pairs, cutoff=cutoff, threshold=threshold, **boot
        ),
        "calibration": accuracy.calibration(pairs, cutoff=cutoff, n_bins=n_bins, **boot),
        "decision_curve": accuracy.decision_curve(pairs, cutoff=cutoff),
        "three_way": accuracy.three_way(pairs, cutoff=cutoff),
        "bland_altman": stats.bland_altman_repeated(pairs),
        "reliable_change": stats.reliable_change(pairs, mid=mid),
    }
    for name in ("between_person", "within_person", "mixed_model", *MODEL_SECTIONS):
        content[name]["interpretation"] = _interpret(name, content[name], content)
    for name in PREDICTION_SECTIONS:
        content[name]["predictions"] = provenance["label"]
    content["change_detection"] = _change_sections(
        pairs, mid=mid, direction=voice_direction, predictions=provenance["label"]
    )
    content["subgroups"] = subgroups.subgroup_breakdown(
        pairs, patients, reference_date=reference, cutoff=cutoff, **boot
    ) | subgroups.recording_subgroups(
        phq9, scores, window_days=window_days, min_recordings=min_recordings, cutoff=cutoff, **boot
    )
    content["alerts"] = alert_stats.alert_section(
        alerts, patients, phq9, generated_at=generated_at, horizon_days=alert_horizon_days,
        cutoff=cutoff, mid=mid,
    )
    content["by_site"] = subgroups.by_site(pairs, patients, cutoff=cutoff, **boot)
    content["tripod_ai"] = tripod_ai(content)
    return ValidationReport(content=content, pairs=pairs, unpaired=pairing.unpaired)


# ------------------------------------------------------------------- JSON and CSV
def render_json(report: ValidationReport) -> str:
    """The report content as strict JSON (NaN becomes null)."""
    return json.dumps(json_ready(report.content), indent=2, allow_nan=False)


def render_csv(report: ValidationReport) -> str:
    """The pairs behind the report, one row per used PHQ-9, as CSV."""
    pairs = report.pairs.assign(
        answered_at=report.pairs["answered_at"].map(lambda t: t.isoformat())
    )
    return pairs.to_csv(index=False, lineterminator="\n")



