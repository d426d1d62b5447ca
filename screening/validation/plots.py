"""The validation report's plots, drawn with matplotlib as inline SVG (no scripts, no files).

Their words are :class:`~screening.validation.text.Text` put through the page's ``translate`` (the reader's
language); ``number``, when given, writes the axes' tick labels (the reader's decimal mark).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from screening.validation import stats
from screening.validation.text import gettext_noop

__all__ = ["report_plots"]


Translate = Callable[[str], str]


def _figure(number: Translate | None = None):
    from matplotlib.figure import Figure
    from matplotlib.ticker import ScalarFormatter

    figure = Figure(figsize=(4.6, 3.6), layout="constrained")
    axes = figure.add_subplot()
    if number is not None:
        class Localized(ScalarFormatter):
            def __call__(self, x, pos=None):
                return number(super().__call__(x, pos))

        axes.xaxis.set_major_formatter(Localized())
        axes.yaxis.set_major_formatter(Localized())
    return figure, axes


def _svg(figure) -> str:
    import matplotlib

    buffer = io.StringIO()
    # Text kept as text (smaller, searchable); no date, so the same data give the same page.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "cadence"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _plot_within(pairs: pd.DataFrame, section: dict[str, Any], t: Translate, number: Translate | None) -> str:
    data = pairs[pairs.groupby("patient_id")["patient_id"].transform("size") >= 2]
    centre = data.groupby("patient_id")[["voice_score", "phq9_total"]].transform("mean")
    x, y = data["voice_score"] - centre["voice_score"], data["phq9_total"] - centre["phq9_total"]
    figure, axes = _figure(number)
    axes.scatter(x, y, s=12, alpha=0.6)
    grid = np.linspace(x.min(), x.max(), 2)
    axes.plot(
        grid, section["slope"] * grid, color="C3", label=t(gettext_noop("common slope, r = %(r)s", r=f"{section['r']:.2f}"))
    )
    axes.set(
        xlabel=t(gettext_noop("voice score − patient mean")),
        ylabel=t(gettext_noop("PHQ-9 − patient mean")),
        title=t(gettext_noop("Within patients (patient-centred)")),
    )
    axes.legend(loc="upper left", fontsize=8)
    return _svg(figure)


def _plot_between(pairs: pd.DataFrame, section: dict[str, Any], t: Translate, number: Translate | None) -> str:
    means = stats.patient_means(pairs)
    figure, axes = _figure(number)
    axes.scatter(means["voice_score"], means["phq9_total"], s=8 + 4 * means["n_pairs"], alpha=0.6)
    axes.set(
        xlabel=t(gettext_noop("patient mean voice score")),
        ylabel=t(gettext_noop("patient mean PHQ-9")),
        title=t(gettext_noop("Between patients (means), r = %(r)s", r=f"{section['pearson']['r']:.2f}")),
    )
    return _svg(figure)


def _plot_roc(section: dict[str, Any], t: Translate, number: Translate | None) -> str:
    figure, axes = _figure(number)
    axes.plot(
        section["roc"]["fpr"],
        section["roc"]["tpr"],
        drawstyle="steps-post",
        label=t(gettext_noop("AUC %(auc)s", auc=f"{section['auc']:.2f}")),
    )
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label=t(gettext_noop("chance")))
    axes.set(xlabel=t(gettext_noop("1 − specificity")), ylabel=t(gettext_noop("sensitivity")), title="ROC",
             aspect="equal")
    axes.legend(loc="lower right", fontsize=8)
    return _svg(figure)


def _plot_reliability(section: dict[str, Any], t: Translate, number: Translate | None) -> str:
    rows = pd.DataFrame(section["reliability"])
    figure, axes = _figure(number)
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label=t(gettext_noop("perfect calibration")))
    axes.plot(rows["mean_predicted"], rows["observed_fraction"], marker="o", label=t(gettext_noop("observed")))
    for row in rows.itertuples():
        axes.annotate(
            str(row.n),
            (row.mean_predicted, row.observed_fraction),
            fontsize=7,
            xytext=(3, -9),
            textcoords="offset points",
        )
    axes.set(
        xlabel=t(gettext_noop("mean predicted probability")),
        ylabel=t(gettext_noop("observed fraction PHQ-9 ≥ cut-off")),
        title=t(gettext_noop("Reliability (n per bin)")),
        xlim=(-0.02, 1.02),
        ylim=(-0.02, 1.06),
        aspect="equal",
    )
    axes.legend(loc="upper left", fontsize=8)
    return _svg(figure)


def _plot_bland_altman(pairs: pd.DataFrame, section: dict[str, Any], t: Translate, number: Translate | None) -> str:
    data = pairs.dropna(subset=["predicted_phq9"])
    mean = (data["predicted_phq9"] + data["phq9_total"]) / 2
    difference = data["predicted_phq9"] - data["phq9_total"]
    figure, axes = _figure(number)
    axes.scatter(mean, difference, s=10, alpha=0.5)
    for value, style, label in (
        (section["bias"], "-", t(gettext_noop("bias"))),
        (section["loa_low"], "--", t(gettext_noop("limits of agreement"))),
        (section["loa_high"], "--", None),
    ):
        axes.axhline(value, color="C3", linestyle=style, label=label)
    axes.set(
        xlabel=t(gettext_noop("mean of predicted and observed PHQ-9")),
        ylabel=t(gettext_noop("predicted − observed PHQ-9")),
        title=t(gettext_noop("Bland–Altman (repeated measures)")),
    )
    axes.legend(loc="upper right", fontsize=8)
    return _svg(figure)


def _plot_decision_curve(section: dict[str, Any], t: Translate, number: Translate | None) -> str:
    rows = pd.DataFrame(section["curve"])
    figure, axes = _figure(number)
    axes.plot(rows["threshold"], rows["net_benefit"], marker="o", label=t(gettext_noop("act on the score")))
    axes.plot(rows["threshold"], rows["net_benefit_all"], linestyle="--", label=t(gettext_noop("act on everyone")))
    axes.axhline(0, color="grey", linestyle=":", label=t(gettext_noop("act on no one")))
    low = min(-0.05, float(rows[["net_benefit"]].min().iloc[0]) - 0.02)
    axes.set(xlabel=t(gettext_noop("risk threshold")), ylabel=t(gettext_noop("net benefit")),
             title=t(gettext_noop("Decision curve")),
             ylim=(low, max(0.05, float(rows["net_benefit_all"].max()), float(rows["net_benefit"].max())) + 0.05))
    axes.legend(loc="upper right", fontsize=8)
    return _svg(figure)


def _ok(content: dict[str, Any], name: str) -> bool:
    return content.get(name, {}).get("status") == "ok"


def report_plots(content: dict[str, Any], pairs: pd.DataFrame, *, translate: Translate = str,
                 number: Translate | None = None) -> dict[str, list[str]]:
    """Section name -> its SVG plots (sections without data get none). ``translate`` says each label in the
    reader's language (default: English as it is); ``number``, when given, rewrites each tick label (e.g. with a
    decimal comma)."""
    t = translate
    drawers = {
        "between_person": lambda s: [_plot_between(pairs, s, t, number)],
        "within_person": lambda s: [_plot_within(pairs, s, t, number)],
        "screening_accuracy": lambda s: [_plot_roc(s, t, number)],
        "calibration": lambda s: [_plot_reliability(s, t, number)],
        "decision_curve": lambda s: [_plot_decision_curve(s, t, number)],
        "bland_altman": lambda s: [_plot_bland_altman(pairs, s, t, number)],
    }
    return {name: draw(content[name]) for name, draw in drawers.items() if _ok(content, name)}
