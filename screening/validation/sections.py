"""The validation report's sections: one declaration per section, in report order.

The report's JSON (:func:`screening.validation.report.build_report` computes each section's statistic in
this order), its HTML page (:mod:`screening.reports.html`: titles, the in-sample flag, the standard
sections' blocks) and the dashboard's validation page (:func:`section_overview`: each section's title and
status) all read :data:`REPORT_SECTIONS`.

Adding a section is one :class:`ReportSection` entry here plus its statistic: a function of
:class:`SectionInputs` (and the content computed so far) returning a dict with ``status`` ("ok" or
"insufficient data") and, when not ok, a ``message``. A standard section is shown by the HTML page with its
title, counts (``n_patients``, ``n_pairs``), ``interpretation`` and ``notes``, and listed by the dashboard.

Plain Python (no Django).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from screening.validation import accuracy, alert_stats, coverage, stats, subgroups
from screening.validation.text import Text, gettext_noop  # marks the sentences and titles for the catalogues
from screening.validation.tripod import tripod_ai

__all__ = ["PREDICTION_SECTIONS", "REPORT_SECTIONS", "ReportSection", "SECTION_TITLES", "STANDARD_SECTIONS",
           "SectionInputs", "section_overview", "section_spec"]



SCORE_NAMES = {"voice_score": gettext_noop("the voice score"), "predicted_phq9": gettext_noop("the predicted PHQ-9")}


@dataclass(frozen=True)
class SectionInputs:
    """What a section's statistic reads: the pairs, the frames behind them and the report's parameters."""

    pairs: pd.DataFrame
    phq9: pd.DataFrame
    scores: pd.DataFrame
    patients: pd.DataFrame
    alerts: pd.DataFrame | None
    cutoff: int
    mid: int
    threshold: float
    n_bins: int
    window_days: int
    min_recordings: int
    voice_direction: int
    reference: pd.Timestamp
    generated_at: datetime
    alert_horizon_days: int
    #: Where the predictions come from (out-of-fold, in-sample, a prior): said in every prediction section.
    predictions: str
    boot: dict[str, Any] = field(default_factory=dict)


#: (inputs, the content computed so far) -> the section's dict.
Statistic = Callable[[SectionInputs, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class ReportSection:
    """One section of the validation report.

    Attributes
    ----------
    name : str
        The key in the report's JSON and the id of its HTML section.
    title : str
        Its heading; may name the report's parameters (``{cutoff}``, ``{mid}``).
    statistic : Statistic
        Computes the section.
    predictions : bool
        Computed from the risk model's predictions: says where they come from, and the page flags the section
        when they are in-sample (not an honest estimate).
    interpret : callable, optional
        (section, content) -> the one-line plain-language reading stored as ``interpretation``.
    standard : bool
        Shown by the HTML page's standard block (title, counts, reading, notes, tables, plots); False for a
        section with its own block in the page's template.
    """

    name: str
    title: str
    statistic: Statistic
    predictions: bool = False
    interpret: Callable[[dict[str, Any], dict[str, Any]], str] | None = None
    standard: bool = True

    def heading(self, parameters: dict[str, Any], translate: Callable[[str], str] = str) -> str:
        """The title with the report's parameters; ``translate`` (e.g. gettext) turns it into the reader's language
        first."""
        return translate(self.title).format(**parameters)


def _excludes_zero(ci: list[float]) -> bool:
    return ci[0] > 0 or ci[1] < 0


def _interpret_correlation(r: float, ci: list[float], *, between: bool, n: int) -> Text:
    values = {"r": f"{r:.2f}", "low": f"{ci[0]:.2f}", "high": f"{ci[1]:.2f}", "n": n}
    if not _excludes_zero(ci):
        if between:
            return gettext_noop(
                "Between patients (one mean per patient), no clear association between voice score and PHQ-9 "
                "(r = %(r)s, 95 %% CI %(low)s to %(high)s, which includes zero; n = %(n)s).", **values)
        return gettext_noop(
            "Within the same patient over time, no clear association between voice score and PHQ-9 "
            "(r = %(r)s, 95 %% CI %(low)s to %(high)s, which includes zero; n = %(n)s).", **values)
    if between:
        if r > 0:
            return gettext_noop("Between patients (one mean per patient), a higher voice score went with a higher "
                                "PHQ-9 (r = %(r)s, 95 %% CI %(low)s to %(high)s; n = %(n)s).", **values)
        return gettext_noop("Between patients (one mean per patient), a higher voice score went with a lower "
                            "PHQ-9 (r = %(r)s, 95 %% CI %(low)s to %(high)s; n = %(n)s).", **values)
    if r > 0:
        return gettext_noop("Within the same patient over time, a higher voice score went with a higher PHQ-9 "
                            "(r = %(r)s, 95 %% CI %(low)s to %(high)s; n = %(n)s).", **values)
    return gettext_noop("Within the same patient over time, a higher voice score went with a lower PHQ-9 "
                        "(r = %(r)s, 95 %% CI %(low)s to %(high)s; n = %(n)s).", **values)


def _interpret(name: str, section: dict[str, Any], content: dict[str, Any]) -> str:
    if section.get("status") != "ok":
        return section.get("message", gettext_noop("insufficient data"))
    if name == "between_person":
        pearson = section["pearson"]
        return _interpret_correlation(pearson["r"], pearson["ci95"], n=section["n_patients"], between=True)
    if name == "within_person":
        return _interpret_correlation(section["r"], section["ci95"], n=section["n_patients"], between=False)
    if name == "mixed_model":
        within = section["coefficients"]["voice_within"]
        return gettext_noop(
            "For the same patient, one unit more voice score went with %(estimate)s PHQ-9 points "
            "(95 %% CI %(low)s to %(high)s).", estimate=f"{within['estimate']:+.2f}",
            low=f"{within['ci95'][0]:.2f}", high=f"{within['ci95'][1]:.2f}")
    if name == "screening_accuracy":
        return gettext_noop(
            "AUC %(auc)s (95 %% CI %(low)s to %(high)s): the chance that a pair with PHQ-9 ≥ cut-off gets a higher "
            "probability than one below it; 0.5 is chance, published speech-only systems reach about 0.76–0.82.",
            auc=f"{section['auc']:.2f}", low=f"{section['auc_ci95'][0]:.2f}", high=f"{section['auc_ci95'][1]:.2f}")
    if name == "calibration":
        prevalence = content["summary"]["prevalence"]
        return gettext_noop(
            "Brier score %(brier)s (95 %% CI %(low)s to %(high)s); lower is better, and always predicting the "
            "prevalence would score %(reference)s.", brier=f"{section['brier']:.3f}",
            low=f"{section['brier_ci95'][0]:.3f}", high=f"{section['brier_ci95'][1]:.3f}",
            reference=f"{prevalence * (1 - prevalence):.3f}")
    if name == "bland_altman":
        return gettext_noop(
            "Predicted minus questionnaire PHQ-9 averaged %(bias)s points (95 %% CI %(low)s to %(high)s); 95 %% of "
            "differences lie between %(loa_low)s and %(loa_high)s points.", bias=f"{section['bias']:+.2f}",
            low=f"{section['bias_ci95'][0]:.2f}", high=f"{section['bias_ci95'][1]:.2f}",
            loa_low=f"{section['loa_low']:.1f}", loa_high=f"{section['loa_high']:.1f}")
    raise KeyError(name)


def _interpret_change(section: dict[str, Any]) -> str:
    if section.get("status") != "ok":
        return section["message"]
    hit = section["matched"]
    return gettext_noop(
        "Of %(n)s PHQ-9 changes of ≥ %(mid)s points, %(score)s moved the same way in %(hits)s (%(share)s, 95 %% CI "
        "%(low)s to %(high)s); chance is 50 %%.", n=section["n_changes"], mid=section["mid"],
        score=SCORE_NAMES[section["score"]], hits=hit["successes"], share=f"{hit['value']:.0%}",
        low=f"{hit['ci95'][0]:.0%}", high=f"{hit['ci95'][1]:.0%}")



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


def _reading(name: str) -> Callable[[dict[str, Any], dict[str, Any]], str]:
    return lambda section, content: _interpret(name, section, content)


#: Every section of the report, in the order of its JSON.
REPORT_SECTIONS: tuple[ReportSection, ...] = (
    ReportSection("between_person", gettext_noop("Between patients: patient means"),
                  lambda i, c: stats.between_person_correlation(i.pairs), interpret=_reading("between_person")),
    ReportSection("within_person", gettext_noop("Within patients: repeated-measures correlation"),
                  lambda i, c: stats.repeated_measures_correlation(i.pairs), interpret=_reading("within_person")),
    ReportSection("mixed_model", gettext_noop("Linear mixed model"),
                  lambda i, c: stats.mixed_model(i.pairs), interpret=_reading("mixed_model")),
    ReportSection("screening_accuracy", gettext_noop("Screening accuracy at PHQ-9 ≥ {cutoff}"),
                  lambda i, c: accuracy.screening_accuracy(i.pairs, cutoff=i.cutoff, threshold=i.threshold, **i.boot),
                  predictions=True, interpret=_reading("screening_accuracy")),
    ReportSection("calibration", gettext_noop("Calibration of the probability"),
                  lambda i, c: accuracy.calibration(i.pairs, cutoff=i.cutoff, n_bins=i.n_bins, **i.boot),
                  predictions=True, interpret=_reading("calibration")),
    ReportSection("decision_curve", gettext_noop("Decision curve: net benefit at risk thresholds 5–50 %"),
                  lambda i, c: accuracy.decision_curve(i.pairs, cutoff=i.cutoff), predictions=True),
    ReportSection("three_way", gettext_noop("Three-way output: low, indeterminate, high"),
                  lambda i, c: accuracy.three_way(i.pairs, cutoff=i.cutoff), predictions=True),
    ReportSection("bland_altman", gettext_noop("Agreement of predicted and observed PHQ-9 (Bland–Altman)"),
                  lambda i, c: stats.bland_altman_repeated(i.pairs), predictions=True,
                  interpret=_reading("bland_altman")),
    ReportSection("reliable_change",
                  gettext_noop("Reliable change (Jacobson–Truax) and agreement on changes of ≥ {mid} points"),
                  lambda i, c: stats.reliable_change(i.pairs, mid=i.mid), predictions=True),
    ReportSection("change_detection", gettext_noop("Detection of PHQ-9 changes of ≥ {mid} points"),
                  lambda i, c: _change_sections(i.pairs, mid=i.mid, direction=i.voice_direction,
                                                predictions=i.predictions), standard=False),
    ReportSection("subgroups", gettext_noop("Breakdown by sex, age band, language, codec, device and recording task"),
                  lambda i, c: subgroups.subgroup_breakdown(i.pairs, i.patients, reference_date=i.reference,
                                                            cutoff=i.cutoff, **i.boot)
                  | subgroups.recording_subgroups(i.phq9, i.scores, window_days=i.window_days,
                                                  min_recordings=i.min_recordings, cutoff=i.cutoff, **i.boot),
                  standard=False),
    ReportSection("alerts", gettext_noop("Alert burden and positive predictive value of risk alerts"),
                  lambda i, c: alert_stats.alert_section(i.alerts, i.patients, i.phq9, generated_at=i.generated_at,
                                                         horizon_days=i.alert_horizon_days, cutoff=i.cutoff,
                                                         mid=i.mid), standard=False),
    ReportSection("by_site", gettext_noop("Results per care team and leave-one-team-out"),
                  lambda i, c: subgroups.by_site(i.pairs, i.patients, cutoff=i.cutoff, **i.boot), standard=False),
    ReportSection("coverage", gettext_noop("Coverage: PHQ-9s with a voice estimate"),
                  lambda i, c: coverage.coverage_section(i.phq9, i.scores, window_days=i.window_days), standard=False),
    ReportSection("tripod_ai", gettext_noop("TRIPOD+AI reporting items"), lambda i, c: tripod_ai(c), standard=False),
)

_BY_NAME = {section.name: section for section in REPORT_SECTIONS}
#: Section name -> title (titles may name parameters: ``{cutoff}``, ``{mid}``).
SECTION_TITLES = {section.name: section.title for section in REPORT_SECTIONS}
#: Every section computed from the model's predictions (flagged when they are in-sample).
PREDICTION_SECTIONS = tuple(section.name for section in REPORT_SECTIONS if section.predictions)
#: The sections the HTML page shows with its standard block, in order.
STANDARD_SECTIONS = tuple(section.name for section in REPORT_SECTIONS if section.standard)


def section_spec(name: str) -> ReportSection:
    return _BY_NAME[name]


def section_overview(content: dict[str, Any], translate: Callable[[str], str] = str) -> list[dict[str, str]]:
    """Each section of a stored report (its JSON) with its heading and status, in report order: what the
    dashboard lists beside the page, its headings through ``translate`` (the reader's language). A section whose
    statistic has no single status (subgroups, change detection, TRIPOD+AI) counts as "ok"; a section the report
    does not hold (an older report) is left out."""
    parameters = content.get("parameters", {})
    out = []
    for section in REPORT_SECTIONS:
        value = content.get(section.name)
        if value is None:
            continue
        status = value.get("status", "ok") if isinstance(value, dict) else "ok"
        out.append({"id": section.name, "title": section.heading(parameters, translate), "status": status,
                    "message": value.get("message", "") if isinstance(value, dict) and status != "ok" else ""})
    return out
