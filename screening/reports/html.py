"""The validation report as a self-contained HTML page, rendered from a Django template.

The numbers come from :func:`screening.validation.build_report`; this module only turns
each section into titled tables of formatted cells (escaped by the template) and the
inline SVG plots of :mod:`screening.validation.plots`.
"""

from __future__ import annotations

import math
from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from screening.validation import ValidationReport, render_csv, render_json
from screening.validation.plots import report_plots
from screening.validation.report import FORMATS
from screening.validation.sections import PREDICTION_SECTIONS, SECTION_TITLES, STANDARD_SECTIONS
from screening.validation.subgroups import IN_SAMPLE_LABEL

__all__ = ["render", "render_html"]

DASH = "\u2014"


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return DASH
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _p(value: float) -> str:
    return "< 0.0001" if value < 1e-4 else _fmt(value, 4)


def _ci(ci: list[float] | None, digits: int = 2) -> str:
    return DASH if not ci else f"{_fmt(ci[0], digits)} to {_fmt(ci[1], digits)}"


def _cell(result: dict[str, Any], key: str, ci_key: str) -> str:
    if result.get("status") != "ok":
        return result.get("message", "insufficient data")
    return f"{_fmt(result[key])} ({_ci(result[ci_key])})"


def _table(header: list[str], rows: list[list[str]]) -> dict[str, Any]:
    return {"header": header, "rows": rows}


def _rate_row(name: str, rate: dict[str, Any], method: str) -> list[str]:
    return [name, _fmt(rate["value"]), _ci(rate["ci95"]), f"{rate['successes']}/{rate['n']}, {method}"]


def _tables(name: str, s: dict[str, Any]) -> list[dict[str, Any]]:  # noqa: C901 - one branch per section
    if name == "between_person":
        return [_table(["correlation of patient means", "r", "95 % CI (Fisher z)", "p"],
                       [[k.capitalize(), _fmt(s[k]["r"]), _ci(s[k]["ci95"]), _p(s[k]["p"])]
                        for k in ("pearson", "spearman")])]
    if name == "within_person":
        return [_table(["rm-corr r", "95 % CI", "dof", "p"], [[_fmt(s["r"]), _ci(s["ci95"]), str(s["dof"]), _p(s["p"])]])]
    if name == "mixed_model":
        return [_table(["term", "estimate", "SE", "95 % CI (Wald)", "p"],
                       [[k, _fmt(c["estimate"], 3), _fmt(c["se"], 3), _ci(c["ci95"], 3), _p(c["p"])]
                        for k, c in s["coefficients"].items()])]
    if name == "screening_accuracy":
        return [_table(["measure", "value", "95 % CI", "method"], [
            ["AUC", _fmt(s["auc"]), _ci(s["auc_ci95"]),
             f"patient bootstrap, {s['n_bootstrap_used']}/{s['n_bootstrap']} resamples"],
            _rate_row("Sensitivity", s["sensitivity"], "Wilson (pairs as independent)"),
            _rate_row("Specificity", s["specificity"], "Wilson (pairs as independent)")])]
    if name == "calibration":
        return [
            _table(["measure", "estimate", "95 % CI", "ideal"], [
                ["Brier score", _fmt(s["brier"], 3), _ci(s["brier_ci95"], 3), "0"],
                ["Calibration slope", _fmt(s["slope"]["estimate"]), _ci(s["slope"]["ci95"]), "1"],
                ["Calibration intercept (in the large)", _fmt(s["intercept"]["estimate"]),
                 _ci(s["intercept"]["ci95"]), "0"]]),
            _table(["bin", "mean predicted", "observed fraction", "pairs"],
                   [[f"{r['bin_low']:.1f}\u2013{r['bin_high']:.1f}", _fmt(r["mean_predicted"]),
                     _fmt(r["observed_fraction"]), str(r["n"])] for r in s["reliability"]])]
    if name == "decision_curve":
        return [_table(["risk threshold", "net benefit (score)", "net benefit (treat all)"],
                       [[f"{r['threshold']:.0%}", _fmt(r["net_benefit"], 3), _fmt(r["net_benefit_all"], 3)]
                        for r in s["curve"]])]
    if name == "three_way":
        return [_table(["band", "rule", "pairs", "with PHQ-9 \u2265 cut-off"], [
            ["low", f"P < {_fmt(s['low_below'])}", str(s["low"]["n"]), str(s["low"]["n_positive"])],
            ["indeterminate", "between", str(s["indeterminate"]["n"]), str(s["indeterminate"]["n_positive"])],
            ["high", f"P \u2265 {_fmt(s['high_from'])}", str(s["high"]["n"]), str(s["high"]["n_positive"])]]),
            _table(["measure", "value", "95 % CI", "counts"], [
                _rate_row("Sensitivity (not called low)", s["sensitivity"], "Wilson"),
                _rate_row("Specificity (not called high)", s["specificity"], "Wilson")])]
    if name == "bland_altman":
        return [_table(["", "PHQ-9 points", "95 % CI"], [
            ["bias (predicted \u2212 observed)", _fmt(s["bias"]), _ci(s["bias_ci95"])],
            ["lower limit of agreement", _fmt(s["loa_low"]), ""],
            ["upper limit of agreement", _fmt(s["loa_high"]), ""]])]
    if name == "reliable_change":
        return [_table(["measure", "value", "95 % CI", "counts"], [
            ["RCI threshold (points)", _fmt(s["rci_threshold_points"], 1), "", f"{s['n_changes']} changes"],
            _rate_row("Agreement on worse / no reliable change / better", s["agreement"], "Wilson"),
            _rate_row(f"Same direction on changes \u2265 {s['large_changes']['mid']} points",
                      s["large_changes"]["same_direction"], "Wilson")])]
    return []


def _section(name: str, content: dict[str, Any], plots: dict[str, list[str]]) -> dict[str, Any]:
    s = content[name]
    title = SECTION_TITLES[name].format(**content["parameters"])
    if name in PREDICTION_SECTIONS and not content["summary"]["predictions_out_of_fold"]:
        title += " \u2014 in-sample: not an honest estimate"
    ok = s.get("status") == "ok"
    return {"id": name, "title": title, "ok": ok, "message": s.get("message", ""),
            "counts": f"n = {s.get('n_patients')} patients, {s.get('n_pairs')} pairs" if ok else "",
            "interpretation": s.get("interpretation", ""), "predictions": s.get("predictions", ""),
            "tables": _tables(name, s) if ok else [], "notes": s.get("notes", []),
            "plots": [mark_safe(svg) for svg in plots.get(name, [])]}  # noqa: S308 - matplotlib SVG of numbers


def _change_table(sections: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for name, s in sections.items():
        label = f"{name} ({IN_SAMPLE_LABEL})" if s.get("predictions") == IN_SAMPLE_LABEL else name
        if s["status"] != "ok":
            rows.append([label, DASH, DASH, s["message"]])
            continue
        hit = s["matched"]
        rows.append([label, f"{hit['successes']}/{s['n_changes']}", _fmt(hit["value"]),
                     f"{_ci(hit['ci95'])} ({s['n_worsened']} worsened, {s['n_improved']} improved)"])
    return _table(["score", "same direction", "proportion", "95 % CI (Wilson)"], rows)


def _group_label(g: dict[str, Any]) -> str:
    return f"{g['group']} ({g['n_recordings']} recordings)" if "n_recordings" in g else g["group"]


def _group_rows(groups: list[dict[str, Any]], facet: str) -> list[list[str]]:
    return [[facet, _group_label(g), str(g["n_patients"]), str(g["n_pairs"]), str(g["n_positive"]),
             _cell(g["auc"], "auc", "auc_ci95"), _cell(g["rm_corr"], "r", "ci95")] for g in groups]


GROUP_HEADER = ["by", "group", "patients", "pairs", "PHQ-9 \u2265 cut-off", "AUC (95 % CI)", "rm-corr r (95 % CI)"]


def _summary_rows(content: dict[str, Any]) -> list[list[str]]:
    s, p = content["summary"], content["parameters"]
    reasons = ", ".join(f"{k}: {v}" for k, v in s["unpaired_reasons"].items()) or "none"
    prevalence = _fmt(s["prevalence"] * 100 if s["n_pairs"] else None, 0)
    return [
        ["PHQ-9 answers", str(s["n_phq9"])],
        ["pairs used (PHQ-9 with voice)", str(s["n_pairs"])],
        ["patients in pairs", f"{s['n_patients']} ({s['n_patients_with_repeats']} with two or more pairs)"],
        ["PHQ-9 not paired", f"{s['n_unpaired']} ({reasons})"],
        [f"pairs with PHQ-9 \u2265 {p['cutoff']}", f"{s['n_positive']} ({prevalence} %)"],
        ["pairing rule", f"recordings in the {p['window_days']} days before each PHQ-9, at least "
                         f"{p['min_recordings']}, averaged"],
        ["model", " ".join(str(v) for v in (s.get("model") or {}).values()) or DASH],
    ]


def _reasons(counts: dict[str, int]) -> str:
    return ", ".join(f"{reason}: {n}" for reason, n in counts.items()) or "none"


def _ppv_row(row: dict[str, Any]) -> list[str]:
    counts = [row["kind"].replace("_", " "), str(row["n_alerts"]), str(row["n_evaluable"])]
    if row["status"] != "ok":
        return [*counts, row["message"], DASH, _reasons(row["not_evaluable"])]
    ppv = row["ppv"]
    return [*counts, f"{ppv['successes']}/{ppv['n']} ({_fmt(ppv['value'])})", _ci(ppv["ci95"]),
            _reasons(row["not_evaluable"])]


def _alerts(content: dict[str, Any]) -> dict[str, Any]:
    s = content["alerts"]
    out = {"id": "alerts", "title": SECTION_TITLES["alerts"], "ok": s["status"] == "ok",
           "message": s.get("message", ""), "interpretation": s.get("interpretation", ""), "tables": [],
           "notes": []}
    if not out["ok"]:
        return out
    burden, ppv = s["burden"], s["ppv"]
    if burden["status"] == "ok":
        out["counts"] = f"n = {burden['n_patients']} patients, {burden['patient_months']:.1f} patient-months"
        out["tables"].append(_table(
            ["alert kind", "alerts", "patients with one", "per patient-month", "95 % CI (exact Poisson)"],
            [[r["kind"].replace("_", " "), str(r["n_alerts"]), str(r["n_patients_with_alert"]),
              _fmt(r["per_patient_month"], 3), _ci(r["ci95"], 3)] for r in burden["by_kind"]]
            + [["all", str(burden["n_alerts"]), DASH, _fmt(burden["per_patient_month"], 3),
                _ci(burden["ci95"], 3)]]))
    else:
        out["notes"].append(f"Alert burden: {burden['message']}")
    out["tables"].append(_table(
        ["risk alerts", "alerts", "with a PHQ-9 in the horizon", "confirmed (PPV)", "95 % CI (Wilson)",
         "not evaluable"], [_ppv_row(r) for r in ppv["by_kind"]] + [_ppv_row(ppv)]))
    out["notes"].append(f"An alert counts as confirmed when the {ppv['criterion']}.")
    return out


def render_html(report: ValidationReport) -> str:
    """A self-contained HTML page: summary, each section with numbers, CI, a plain-language reading and
    inline SVG plots; no scripts, no external resources."""
    content = report.content
    plots = report_plots(content, report.pairs)
    by_site = content["by_site"]
    site_rows = [row for team in by_site.get("teams", []) for row in
                 (_group_rows([team], "team") + _group_rows([team["leave_one_team_out"]], "leave out"))]
    return render_to_string("screening/validation_report.html", {
        "content": content,
        "summary_rows": _summary_rows(content),
        "sections": [_section(name, content, plots) for name in STANDARD_SECTIONS if name in content],
        "change": {"title": SECTION_TITLES["change_detection"].format(**content["parameters"]),
                   "table": _change_table(content["change_detection"]),
                   "interpretations": [s["interpretation"] for s in content["change_detection"].values()
                                       if s["status"] == "ok"]},
        "subgroups": {"title": SECTION_TITLES["subgroups"], "table": _table(GROUP_HEADER, [
            row for facet, groups in content["subgroups"].items() for row in _group_rows(groups, facet.replace("_", " "))])},
        "by_site": {"title": SECTION_TITLES["by_site"], "message": by_site.get("message", ""),
                    "table": _table(GROUP_HEADER, site_rows)},
        "alerts": _alerts(content) if "alerts" in content else None,
        "tripod": {"title": SECTION_TITLES["tripod_ai"], **content["tripod_ai"]},
    })


def render(report: ValidationReport, fmt: str) -> str:
    """Render ``report`` as JSON, HTML or CSV (the pairs)."""
    renderers = {"json": render_json, "html": render_html, "csv": render_csv}
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return renderers[fmt](report)
