"""Assemble the PHQ-9 validation report and render it as JSON or CSV (the pairs).

:func:`build_report` takes DataFrames (the caller builds them from the database) and
returns a :class:`ValidationReport`: ``content``, a JSON-ready dict of every statistic with
a one-line plain-language ``interpretation`` per section, plus the pairs behind it; the sections, their
statistics and their order are declared once in :mod:`.sections`.
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
from screening.validation import alert_stats, stats, subgroups
from screening.validation.pairing import pair_phq9_with_voice
from screening.validation.sections import REPORT_SECTIONS, SectionInputs
from screening.validation.text import gettext_noop

__all__ = [
    "FORMATS",
    "ValidationReport",
    "build_report",
    "render_csv",
    "render_json",
]

FORMATS = ("json", "html", "csv")


@dataclass(frozen=True)
class ValidationReport:
    """The report: ``content`` (JSON-ready dict), the pairs and the unpaired PHQ-9s."""

    content: dict[str, Any]
    pairs: pd.DataFrame
    unpaired: pd.DataFrame


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
        "title": gettext_noop("PHQ-9 validation report"),
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
    }
    inputs = SectionInputs(
        pairs=pairs, phq9=phq9, scores=scores, patients=patients, alerts=alerts, cutoff=cutoff, mid=mid,
        threshold=threshold, n_bins=n_bins, window_days=window_days, min_recordings=min_recordings,
        voice_direction=voice_direction, reference=reference, generated_at=generated_at,
        alert_horizon_days=alert_horizon_days, predictions=provenance["label"], boot=boot,
    )
    for section in REPORT_SECTIONS:
        content[section.name] = value = section.statistic(inputs, content)
        if section.interpret is not None:
            value["interpretation"] = section.interpret(value, content)
        if section.predictions:
            value["predictions"] = provenance["label"]
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



