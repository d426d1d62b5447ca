"""Assemble the PHQ-9 validation report and render it as JSON, CSV (the pairs) or HTML.

:func:`build_report` takes DataFrames (the caller builds them from the database) and
returns a :class:`ValidationReport`: ``content``, a JSON-ready dict of every statistic with
a one-line plain-language ``interpretation`` per section, plus the pairs behind it.
The HTML page is self-contained: inline SVG plots drawn with matplotlib, no scripts,
no external resources.
"""

from __future__ import annotations

import html
import io
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from screening.scoring.numbers import json_ready
from screening.validation import stats
from screening.validation.pairing import pair_phq9_with_voice

__all__ = [
    "FORMATS",
    "SECTION_TITLES",
    "ValidationReport",
    "build_report",
    "render",
    "render_csv",
    "render_html",
    "render_json",
]

FORMATS = ("json", "html", "csv")
SECTION_TITLES = {
    "between_person": "Between patients: patient means",
    "within_person": "Within patients: repeated-measures correlation",
    "mixed_model": "Linear mixed model",
    "screening_accuracy": "Screening accuracy at PHQ-9 \u2265 {cutoff}",
    "calibration": "Calibration of the probability",
    "bland_altman": "Agreement of predicted and observed PHQ-9 (Bland\u2013Altman)",
    "change_detection": "Detection of PHQ-9 changes of \u2265 {mid} points",
    "subgroups": "Breakdown by sex, age band and language",
}
SCORE_NAMES = {"voice_score": "the voice score", "predicted_phq9": "the predicted PHQ-9"}
#: Sections whose numbers come from the fitted risk model rather than the voice score.
MODEL_SECTIONS = ("screening_accuracy", "calibration", "bland_altman")


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
    window_days: int = 14,
    min_recordings: int = 2,
    threshold: float = 0.5,
    cutoff: int = 10,
    mid: int = 5,
    reference_date: pd.Timestamp | datetime | None = None,
    n_bootstrap: int = 2000,
    seed: int | None = 0,
    n_bins: int = 10,
    voice_direction: int = 1,
    generated_at: datetime | None = None,
    prediction_source: str | None = None,
    model: dict[str, Any] | None = None,
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
    """
    generated_at = generated_at or datetime.now(UTC)
    reference = pd.Timestamp(reference_date if reference_date is not None else generated_at)
    pairing = pair_phq9_with_voice(
        phq9, scores, window_days=window_days, min_recordings=min_recordings
    )
    pairs = pairing.pairs
    provenance = stats.prediction_provenance(pairs)
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
        },
        "summary": _summary(pairing, provenance, cutoff) | {"model": model or {}},
        "between_person": stats.between_person_correlation(pairs),
        "within_person": stats.repeated_measures_correlation(pairs),
        "mixed_model": stats.mixed_model(pairs),
        "screening_accuracy": stats.screening_accuracy(
            pairs, cutoff=cutoff, threshold=threshold, **boot
        ),
        "calibration": stats.calibration(pairs, cutoff=cutoff, n_bins=n_bins, **boot),
        "bland_altman": stats.bland_altman_repeated(pairs),
    }
    for name in ("between_person", "within_person", "mixed_model", *MODEL_SECTIONS):
        content[name]["interpretation"] = _interpret(name, content[name], content)
    for name in MODEL_SECTIONS:
        content[name]["predictions"] = provenance["label"]
    content["change_detection"] = _change_sections(
        pairs, mid=mid, direction=voice_direction, predictions=provenance["label"]
    )
    content["subgroups"] = stats.subgroup_breakdown(
        pairs, patients, reference_date=reference, cutoff=cutoff, **boot
    )
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


def render(report: ValidationReport, fmt: str) -> str:
    """Render ``report`` in one of :data:`FORMATS`."""
    renderers = {"json": render_json, "html": render_html, "csv": render_csv}
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return renderers[fmt](report)


# ---------------------------------------------------------------------- plots
def _figure():
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.6, 3.6), layout="constrained")
    return figure, figure.add_subplot()


def _svg(figure) -> str:
    import matplotlib

    buffer = io.StringIO()
    # Text kept as text (smaller, searchable); no date, so the same data give the same page.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "cadence"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _plot_within(pairs: pd.DataFrame, section: dict[str, Any]) -> str:
    data = pairs[pairs.groupby("patient_id")["patient_id"].transform("size") >= 2]
    centre = data.groupby("patient_id")[["voice_score", "phq9_total"]].transform("mean")
    x, y = data["voice_score"] - centre["voice_score"], data["phq9_total"] - centre["phq9_total"]
    figure, axes = _figure()
    axes.scatter(x, y, s=12, alpha=0.6)
    grid = np.linspace(x.min(), x.max(), 2)
    axes.plot(
        grid, section["slope"] * grid, color="C3", label=f"common slope, r = {section['r']:.2f}"
    )
    axes.set(
        xlabel="voice score \u2212 patient mean",
        ylabel="PHQ-9 \u2212 patient mean",
        title="Within patients (patient-centred)",
    )
    axes.legend(loc="upper left", fontsize=8)
    return _svg(figure)


def _plot_between(pairs: pd.DataFrame, section: dict[str, Any]) -> str:
    means = stats.patient_means(pairs)
    figure, axes = _figure()
    axes.scatter(means["voice_score"], means["phq9_total"], s=8 + 4 * means["n_pairs"], alpha=0.6)
    axes.set(
        xlabel="patient mean voice score",
        ylabel="patient mean PHQ-9",
        title=f"Between patients (means), r = {section['pearson']['r']:.2f}",
    )
    return _svg(figure)


def _plot_roc(section: dict[str, Any]) -> str:
    figure, axes = _figure()
    axes.plot(
        section["roc"]["fpr"],
        section["roc"]["tpr"],
        drawstyle="steps-post",
        label=f"AUC {section['auc']:.2f}",
    )
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="chance")
    axes.set(xlabel="1 \u2212 specificity", ylabel="sensitivity", title="ROC", aspect="equal")
    axes.legend(loc="lower right", fontsize=8)
    return _svg(figure)


def _plot_reliability(section: dict[str, Any]) -> str:
    rows = pd.DataFrame(section["reliability"])
    figure, axes = _figure()
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
    axes.plot(rows["mean_predicted"], rows["observed_fraction"], marker="o", label="observed")
    for row in rows.itertuples():
        axes.annotate(
            str(row.n),
            (row.mean_predicted, row.observed_fraction),
            fontsize=7,
            xytext=(3, -9),
            textcoords="offset points",
        )
    axes.set(
        xlabel="mean predicted probability",
        ylabel="observed fraction PHQ-9 \u2265 cut-off",
        title="Reliability (n per bin)",
        xlim=(-0.02, 1.02),
        ylim=(-0.02, 1.06),
        aspect="equal",
    )
    axes.legend(loc="upper left", fontsize=8)
    return _svg(figure)


def _plot_bland_altman(pairs: pd.DataFrame, section: dict[str, Any]) -> str:
    data = pairs.dropna(subset=["predicted_phq9"])
    mean = (data["predicted_phq9"] + data["phq9_total"]) / 2
    difference = data["predicted_phq9"] - data["phq9_total"]
    figure, axes = _figure()
    axes.scatter(mean, difference, s=10, alpha=0.5)
    for value, style, label in (
        (section["bias"], "-", "bias"),
        (section["loa_low"], "--", "limits of agreement"),
        (section["loa_high"], "--", None),
    ):
        axes.axhline(value, color="C3", linestyle=style, label=label)
    axes.set(
        xlabel="mean of predicted and observed PHQ-9",
        ylabel="predicted \u2212 observed PHQ-9",
        title="Bland\u2013Altman (repeated measures)",
    )
    axes.legend(loc="upper right", fontsize=8)
    return _svg(figure)


# ----------------------------------------------------------------------- HTML
CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:1.5em auto;padding:0 1em;
color:#1b1b1b;line-height:1.45}
h1{margin-bottom:.2em} h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.5em 0} td,th{border:1px solid #ddd;padding:.25em .6em;
text-align:left;font-variant-numeric:tabular-nums} th{background:#f3f3f3}
.interpretation{background:#eef4fb;border-left:4px solid #3b73b9;padding:.4em .8em}
.insufficient{background:#fff4e0;border-left:4px solid #d08a00;padding:.4em .8em}
.warning{background:#fde8e8;border-left:4px solid #c0392b;padding:.5em .8em;font-weight:600}
.ok{background:#e8f6ec;border-left:4px solid #2e8b57;padding:.5em .8em}
.plots{display:flex;flex-wrap:wrap;gap:1em} .plots svg{max-width:520px;height:auto}
.note{color:#555;font-size:.9em}
"""


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "\u2014"
    if isinstance(value, (float, np.floating)):
        return f"{value:.{digits}f}"
    return _esc(value)


def _p(value: float) -> str:
    return "&lt; 0.0001" if value < 1e-4 else _fmt(value, 4)


def _ci(ci: list[float], digits: int = 2) -> str:
    return f"{_fmt(ci[0], digits)} to {_fmt(ci[1], digits)}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _counts_line(section: dict[str, Any]) -> str:
    return (
        f"<p class='note'>n = {section['n_patients']} patients, " f"{section['n_pairs']} pairs</p>"
    )


def _body_between(section: dict[str, Any], pairs: pd.DataFrame) -> str:
    rows = [
        [
            name.capitalize(),
            _fmt(section[name]["r"]),
            _ci(section[name]["ci95"]),
            _p(section[name]["p"]),
        ]
        for name in ("pearson", "spearman")
    ]
    return (
        _table(["correlation of patient means", "r", "95 % CI (Fisher z)", "p"], rows)
        + f"<div class='plots'>{_plot_between(pairs, section)}</div>"
    )


def _body_within(section: dict[str, Any], pairs: pd.DataFrame) -> str:
    rows = [[_fmt(section["r"]), _ci(section["ci95"]), str(section["dof"]), _p(section["p"])]]
    return (
        _table(["rm-corr r", "95 % CI", "dof", "p"], rows)
        + "<p class='note'>Only patients with two or more pairs contribute.</p>"
        + f"<div class='plots'>{_plot_within(pairs, section)}</div>"
    )


def _body_mixed(section: dict[str, Any], pairs: pd.DataFrame) -> str:
    rows = [
        [_esc(name), _fmt(c["estimate"], 3), _fmt(c["se"], 3), _ci(c["ci95"], 3), _p(c["p"])]
        for name, c in section["coefficients"].items()
    ]
    notes = "".join(f"<p class='insufficient'>{_esc(n)}</p>" for n in section["notes"])
    return (
        f"<p>{_esc(section['formula'])}; random effects: {_esc(section['random_effects'])}"
        f"; converged: {'yes' if section['converged'] else 'no'}.</p>"
        + _table(["term", "estimate", "SE", "95 % CI (Wald)", "p"], rows)
        + notes
    )


def _body_accuracy(section: dict[str, Any], pairs: pd.DataFrame) -> str:
    rows = [
        [
            "AUC",
            _fmt(section["auc"]),
            _ci(section["auc_ci95"]),
            f"patient bootstrap, {section['n_bootstrap_used']}/{section['n_bootstrap']} resamples",
        ]
    ]
    for name in ("sensitivity", "specificity"):
        rate = section[name]
        rows.append(
            [
                name.capitalize(),
                _fmt(rate["value"]),
                _ci(rate["ci95"]),
                f"{rate['successes']}/{rate['n']} pairs, Wilson (pairs as independent)",
            ]
        )
    return (
        f"<p>{section['n_positive']} pairs with PHQ-9 \u2265 {section['cutoff']}, "
        f"{section['n_negative']} below; probability threshold {section['threshold']}.</p>"
        + _table(["measure", "value", "95 % CI", "method"], rows)
        + f"<div class='plots'>{_plot_roc(section)}</div>"
    )


def _body_calibration(section: dict[str, Any], pairs: pd.DataFrame) -> str:
    rows = [
        [
            f"{r['bin_low']:.1f}\u2013{r['bin_high']:.1f}",
            _fmt(r["mean_predicted"]),
            _fmt(r["observed_fraction"]),
            str(r["n"]),
        ]
        for r in section["reliability"]
    ]
    return (
        f"<p class='note'>Brier score interval: patient bootstrap, "
        f"{section['n_bootstrap']} resamples.</p>"
        + _table(["bin", "mean predicted", "observed fraction", "pairs"], rows)
        + f"<div class='plots'>{_plot_reliability(section)}</div>"
    )


def _body_bland_altman(section: dict[str, Any], pairs: pd.DataFrame) -> str:
    rows = [
        ["bias (predicted \u2212 observed)", _fmt(section["bias"]), _ci(section["bias_ci95"])],
        ["lower limit of agreement", _fmt(section["loa_low"]), ""],
        ["upper limit of agreement", _fmt(section["loa_high"]), ""],
    ]
    return (
        _table(["", "PHQ-9 points", "95 % CI"], rows)
        + f"<p class='note'>Method: {_esc(section['method'])}; SD of differences "
        f"{_fmt(section['sd_total'])} (between-patient variance {_fmt(section['var_between'])}, "
        f"within {_fmt(section['var_within'])}).</p>"
        + f"<div class='plots'>{_plot_bland_altman(pairs, section)}</div>"
    )


def _body_change(sections: dict[str, Any]) -> str:
    rows = []
    for name, s in sections.items():
        if s.get("predictions") == stats.IN_SAMPLE_LABEL:
            name = f"{name} ({stats.IN_SAMPLE_LABEL})"
        if s["status"] != "ok":
            rows.append([_esc(name), "\u2014", "\u2014", _esc(s["message"])])
            continue
        hit = s["matched"]
        rows.append(
            [
                _esc(name),
                f"{hit['successes']}/{s['n_changes']}",
                _fmt(hit["value"]),
                _ci(hit["ci95"]) + f" ({s['n_worsened']} worsened, {s['n_improved']} improved)",
            ]
        )
    lines = "".join(
        f"<p class='interpretation'>{_esc(s['interpretation'])}</p>"
        for s in sections.values()
        if s["status"] == "ok"
    )
    return _table(["score", "same direction", "proportion", "95 % CI (Wilson)"], rows) + lines


def _cell(result: dict[str, Any], key: str, ci_key: str) -> str:
    if result.get("status") != "ok":
        return f"<span class='note'>{_esc(result.get('message', 'insufficient data'))}</span>"
    return f"{_fmt(result[key])} ({_ci(result[ci_key])})"


def _body_subgroups(breakdown: dict[str, list[dict[str, Any]]]) -> str:
    rows = [
        [
            _esc(facet.replace("_", " ")),
            _esc(g["group"]),
            str(g["n_patients"]),
            str(g["n_pairs"]),
            str(g["n_positive"]),
            _cell(g["auc"], "auc", "auc_ci95"),
            _cell(g["rm_corr"], "r", "ci95"),
        ]
        for facet, groups in breakdown.items()
        for g in groups
    ]
    return _table(
        [
            "by",
            "group",
            "patients",
            "pairs",
            "PHQ-9 \u2265 cut-off",
            "AUC (95 % CI)",
            "rm-corr r (95 % CI)",
        ],
        rows,
    )


BODIES = {
    "between_person": _body_between,
    "within_person": _body_within,
    "mixed_model": _body_mixed,
    "screening_accuracy": _body_accuracy,
    "calibration": _body_calibration,
    "bland_altman": _body_bland_altman,
}


def _section_html(name: str, content: dict[str, Any], pairs: pd.DataFrame) -> str:
    section = content[name]
    title = SECTION_TITLES[name].format(**content["parameters"])
    if name in MODEL_SECTIONS and not content["summary"]["predictions_out_of_fold"]:
        title += " \u2014 in-sample: not an honest estimate"
    parts = [f"<section id='{name}'><h2>{_esc(title)}</h2>"]
    if section["status"] != "ok":
        parts.append(f"<p class='insufficient'>{_esc(section['message'])}</p>")
    else:
        parts += [
            _counts_line(section),
            f"<p class='interpretation'>{_esc(section['interpretation'])}</p>",
            BODIES[name](section, pairs),
        ]
    return "".join(parts) + "</section>"


def _summary_html(content: dict[str, Any]) -> str:
    s, p = content["summary"], content["parameters"]
    reasons = ", ".join(f"{_esc(k)}: {v}" for k, v in s["unpaired_reasons"].items()) or "none"
    banner = "ok" if s["predictions_out_of_fold"] else "warning"
    rows = [
        ["PHQ-9 answers", str(s["n_phq9"])],
        ["pairs used (PHQ-9 with voice)", str(s["n_pairs"])],
        [
            "patients in pairs",
            f"{s['n_patients']} ({s['n_patients_with_repeats']} with two or more pairs)",
        ],
        ["PHQ-9 not paired", f"{s['n_unpaired']} ({reasons})"],
        [
            f"pairs with PHQ-9 \u2265 {p['cutoff']}",
            f"{s['n_positive']} ({_fmt(s['prevalence'] * 100 if s['n_pairs'] else None, 0)} %)",
        ],
        [
            "pairing rule",
            f"recordings in the {p['window_days']} days before each PHQ-9, "
            f"at least {p['min_recordings']}, averaged",
        ],
    ]
    return (
        f"<p class='{banner}'>Predictions: {_esc(s['predictions'])}</p>"
        + _table(["summary", ""], rows)
        + "<p class='note'>Between- and within-patient associations are reported "
        "separately; no correlation pooled over all pairs is given, because it mixes "
        "the two. Sections with fewer than "
        f"{p['min_patients']} patients or {p['min_pairs']} pairs say so instead of "
        "showing numbers.</p>"
    )


def render_html(report: ValidationReport) -> str:
    """A self-contained HTML page: summary, each section with numbers, CI, a plain-language
    reading and inline SVG plots."""
    content, pairs = report.content, report.pairs
    sections = "".join(_section_html(name, content, pairs) for name in BODIES)
    change = content["change_detection"]
    subgroups = content["subgroups"]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_esc(content['title'])}</title><style>{CSS}</style></head><body>"
        f"<h1>{_esc(content['title'])}</h1>"
        f"<p class='note'>Generated {_esc(content['generated_at'])}</p>"
        f"<section id='summary'><h2>Summary</h2>{_summary_html(content)}</section>"
        + sections
        + f"<section id='change_detection'><h2>"
        f"{_esc(SECTION_TITLES['change_detection'].format(**content['parameters']))}</h2>"
        + _body_change(change)
        + "</section>"
        + f"<section id='subgroups'><h2>{_esc(SECTION_TITLES['subgroups'])}</h2>"
        + _body_subgroups(subgroups)
        + "</section></body></html>"
    )
