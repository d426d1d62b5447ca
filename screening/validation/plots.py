"""The validation report's plots, drawn with matplotlib as inline SVG (no scripts, no files)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

from screening.validation import stats

__all__ = ["report_plots"]


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


def _plot_decision_curve(section: dict[str, Any]) -> str:
    rows = pd.DataFrame(section["curve"])
    figure, axes = _figure()
    axes.plot(rows["threshold"], rows["net_benefit"], marker="o", label="act on the score")
    axes.plot(rows["threshold"], rows["net_benefit_all"], linestyle="--", label="act on everyone")
    axes.axhline(0, color="grey", linestyle=":", label="act on no one")
    low = min(-0.05, float(rows[["net_benefit"]].min().iloc[0]) - 0.02)
    axes.set(xlabel="risk threshold", ylabel="net benefit", title="Decision curve",
             ylim=(low, max(0.05, float(rows["net_benefit_all"].max()), float(rows["net_benefit"].max())) + 0.05))
    axes.legend(loc="upper right", fontsize=8)
    return _svg(figure)


def _ok(content: dict[str, Any], name: str) -> bool:
    return content.get(name, {}).get("status") == "ok"


def report_plots(content: dict[str, Any], pairs: pd.DataFrame) -> dict[str, list[str]]:
    """Section name -> its SVG plots (sections without data get none)."""
    drawers = {
        "between_person": lambda s: [_plot_between(pairs, s)],
        "within_person": lambda s: [_plot_within(pairs, s)],
        "screening_accuracy": lambda s: [_plot_roc(s)],
        "calibration": lambda s: [_plot_reliability(s)],
        "decision_curve": lambda s: [_plot_decision_curve(s)],
        "bland_altman": lambda s: [_plot_bland_altman(pairs, s)],
    }
    return {name: draw(content[name]) for name, draw in drawers.items() if _ok(content, name)}
