"""The validation report as a self-contained HTML page, rendered from a Django template.

The numbers come from :func:`screening.validation.build_report`; this module only turns
each section into titled tables of formatted cells (escaped by the template) and the
inline SVG plots of :mod:`screening.validation.plots`.

The page is in the active language (``django.utils.translation``): the report's sentences are
:class:`~screening.validation.text.Text`, said again from the catalogue with the same values (:func:`translated`),
the page's own words are marked here and in the template, and every decimal figure takes the language's decimal
mark (:func:`screening.localize.localized_value`). In English the page is the report's English as it is.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext, pgettext, pgettext_lazy

from clinic.languages import active_language
from screening.localize import localized_value, said_again
from screening.validation import ValidationReport, render_csv, render_json
from screening.validation.alert_stats import NO_FOLLOW_UP, PENDING
from screening.validation.pairing import UNPAIRED_NO_RECORDINGS, UNPAIRED_TOO_FEW_RECORDINGS
from screening.validation.plots import report_plots
from screening.validation.report import FORMATS
from screening.validation.sections import PREDICTION_SECTIONS, STANDARD_SECTIONS, section_spec
from screening.validation.subgroups import IN_SAMPLE_LABEL
from screening.validation.text import LIST_SEPARATOR, Text

__all__ = ["render", "render_html", "translated"]

DASH = "\u2014"

#: The reasons the report counts by their English sentence (dict keys in its JSON), said again in the reader's
#: language.
REASONS = {str(text): text for text in (UNPAIRED_NO_RECORDINGS, UNPAIRED_TOO_FEW_RECORDINGS, NO_FOLLOW_UP, PENDING)}

#: Values the report takes from the data (codes, as stored and served) as the page names them; in English the code.
GROUP_LABELS = {
    "female": pgettext_lazy("validation report group", "female"),
    "male": pgettext_lazy("validation report group", "male"),
    "other": pgettext_lazy("validation report group", "other"),
    "unknown": pgettext_lazy("validation report group", "unknown"),
    "under 18": pgettext_lazy("validation report group", "under 18"),
    "other devices": pgettext_lazy("validation report group", "other devices"),
    "read_passage": pgettext_lazy("validation report group", "read_passage"),
    "free_speech": pgettext_lazy("validation report group", "free_speech"),
    "sustained_vowel": pgettext_lazy("validation report group", "sustained_vowel"),
    "counting": pgettext_lazy("validation report group", "counting"),
}
FACET_LABELS = {
    "sex": pgettext_lazy("validation report facet", "sex"),
    "age band": pgettext_lazy("validation report facet", "age band"),
    "language": pgettext_lazy("validation report facet", "language"),
    "codec": pgettext_lazy("validation report facet", "codec"),
    "device": pgettext_lazy("validation report facet", "device"),
    "task": pgettext_lazy("validation report facet", "task"),
    "team": pgettext_lazy("validation report facet", "team"),
    "leave out": pgettext_lazy("validation report facet", "leave out"),
}
ALERT_KIND_LABELS = {
    "self harm": pgettext_lazy("validation report alert kind", "self harm"),
    "phq9 rise": pgettext_lazy("validation report alert kind", "phq9 rise"),
    "risk threshold": pgettext_lazy("validation report alert kind", "risk threshold"),
    "overdue": pgettext_lazy("validation report alert kind", "overdue"),
    "speaker mismatch": pgettext_lazy("validation report alert kind", "speaker mismatch"),
}
#: The report's parts a TRIPOD+AI item points to (JSON keys).
PART_LABELS = {
    "summary": pgettext_lazy("validation report part", "summary"),
    "parameters": pgettext_lazy("validation report part", "parameters"),
    "between_person": pgettext_lazy("validation report part", "between_person"),
    "within_person": pgettext_lazy("validation report part", "within_person"),
    "mixed_model": pgettext_lazy("validation report part", "mixed_model"),
    "screening_accuracy": pgettext_lazy("validation report part", "screening_accuracy"),
    "calibration": pgettext_lazy("validation report part", "calibration"),
    "decision_curve": pgettext_lazy("validation report part", "decision_curve"),
    "three_way": pgettext_lazy("validation report part", "three_way"),
    "bland_altman": pgettext_lazy("validation report part", "bland_altman"),
    "reliable_change": pgettext_lazy("validation report part", "reliable_change"),
    "change_detection": pgettext_lazy("validation report part", "change_detection"),
    "subgroups": pgettext_lazy("validation report part", "subgroups"),
    "alerts": pgettext_lazy("validation report part", "alerts"),
    "by_site": pgettext_lazy("validation report part", "by_site"),
    "coverage": pgettext_lazy("validation report part", "coverage"),
}
OTHER_LABELS = {
    # the scores whose changes are compared with PHQ-9 changes
    "voice_score": pgettext_lazy("validation report score", "voice_score"),
    "predicted_phq9": pgettext_lazy("validation report score", "predicted_phq9"),
    # the kinds of voice estimate
    "personal": pgettext_lazy("validation report estimate", "personal"),
    "early": pgettext_lazy("validation report estimate", "early"),
    # the risk model's kind
    "prior": pgettext_lazy("validation report model", "prior"),
    "mixedlm": pgettext_lazy("validation report model", "mixedlm"),
    # the mixed model's intercept
    "Intercept": pgettext_lazy("validation report term", "Intercept"),
}


def _label(labels: dict[str, Any], value: str) -> str:
    return str(labels.get(value, value))


def _param(value: Any) -> Any:
    if isinstance(value, Text):
        return translated(value)
    if isinstance(value, list):
        return LIST_SEPARATOR.join(str(_param(item)) for item in value)
    return localized_value(value)


def translated(value: Any) -> Any:
    """A :class:`Text` in the active language: its template from the catalogue filled with its values, their
    decimal figures in the language's format (the English sentence where the translation does not fit); anything
    else as it is."""
    if not isinstance(value, Text):
        return value
    if not value.params:  # a template without values keeps its percent signs single: no % formatting
        return gettext(value.msgid)
    return said_again(value.msgid, value.params, str(value), value=_param, plural=value.plural, count=value.count)


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return DASH
    return localized_value(f"{value:.{digits}f}") if isinstance(value, float) else str(value)


def _p(value: float) -> str:
    return localized_value("< 0.0001") if value < 1e-4 else _fmt(value, 4)


def _ci(ci: list[float] | None, digits: int = 2) -> str:
    return DASH if not ci else gettext("%(low)s to %(high)s") % {"low": _fmt(ci[0], digits),
                                                                 "high": _fmt(ci[1], digits)}


def _cell(result: dict[str, Any], key: str, ci_key: str) -> str:
    if result.get("status") != "ok":
        return translated(result.get("message", Text("insufficient data")))
    return f"{_fmt(result[key])} ({_ci(result[ci_key])})"


def _table(header: list[str], rows: list[list[str]]) -> dict[str, Any]:
    return {"header": header, "rows": rows}


def _rate_row(name: str, rate: dict[str, Any], method: str) -> list[str]:
    return [name, _fmt(rate["value"]), _ci(rate["ci95"]), f"{rate['successes']}/{rate['n']}, {method}"]


def _tables(name: str, s: dict[str, Any]) -> list[dict[str, Any]]:  # noqa: C901 - one branch per section
    ci95 = gettext("95 % CI")
    if name == "between_person":
        return [_table([gettext("correlation of patient means"), "r", gettext("95 % CI (Fisher z)"), "p"],
                       [[k.capitalize(), _fmt(s[k]["r"]), _ci(s[k]["ci95"]), _p(s[k]["p"])]
                        for k in ("pearson", "spearman")])]
    if name == "within_person":
        return [_table([gettext("rm-corr r"), ci95, gettext("dof"), "p"],
                       [[_fmt(s["r"]), _ci(s["ci95"]), str(s["dof"]), _p(s["p"])]])]
    if name == "mixed_model":
        return [_table([gettext("term"), gettext("estimate"), gettext("SE"), gettext("95 % CI (Wald)"), "p"],
                       [[_label(OTHER_LABELS, k), _fmt(c["estimate"], 3), _fmt(c["se"], 3), _ci(c["ci95"], 3),
                         _p(c["p"])] for k, c in s["coefficients"].items()])]
    pairs_independent = gettext("Wilson (pairs as independent)")
    if name == "screening_accuracy":
        return [_table([gettext("measure"), gettext("value"), ci95, gettext("method")], [
            ["AUC", _fmt(s["auc"]), _ci(s["auc_ci95"]),
             gettext("patient bootstrap, %(used)s/%(total)s resamples") % {
                 "used": s["n_bootstrap_used"], "total": s["n_bootstrap"]}],
            _rate_row(gettext("Sensitivity"), s["sensitivity"], pairs_independent),
            _rate_row(gettext("Specificity"), s["specificity"], pairs_independent)])]
    if name == "calibration":
        return [
            _table([gettext("measure"), gettext("estimate"), ci95, gettext("ideal")], [
                [gettext("Brier score"), _fmt(s["brier"], 3), _ci(s["brier_ci95"], 3), "0"],
                [gettext("Calibration slope"), _fmt(s["slope"]["estimate"]), _ci(s["slope"]["ci95"]), "1"],
                [gettext("Calibration intercept (in the large)"), _fmt(s["intercept"]["estimate"]),
                 _ci(s["intercept"]["ci95"]), "0"]]),
            _table([gettext("bin"), gettext("mean predicted"), gettext("observed fraction"), gettext("pairs")],
                   [[localized_value(f"{r['bin_low']:.1f}\u2013{r['bin_high']:.1f}"), _fmt(r["mean_predicted"]),
                     _fmt(r["observed_fraction"]), str(r["n"])] for r in s["reliability"]])]
    if name == "decision_curve":
        return [_table([gettext("risk threshold"), gettext("net benefit (score)"), gettext("net benefit (treat all)")],
                       [[f"{r['threshold']:.0%}", _fmt(r["net_benefit"], 3), _fmt(r["net_benefit_all"], 3)]
                        for r in s["curve"]])]
    if name == "three_way":
        return [_table([gettext("band"), gettext("rule"), gettext("pairs"), gettext("with PHQ-9 ≥ cut-off")], [
            [pgettext("validation report band", "low"), f"P < {_fmt(s['low_below'])}", str(s["low"]["n"]),
             str(s["low"]["n_positive"])],
            [pgettext("validation report band", "indeterminate"), pgettext("validation report band", "between"),
             str(s["indeterminate"]["n"]), str(s["indeterminate"]["n_positive"])],
            [pgettext("validation report band", "high"), f"P \u2265 {_fmt(s['high_from'])}", str(s["high"]["n"]),
             str(s["high"]["n_positive"])]]),
            _table([gettext("measure"), gettext("value"), ci95, gettext("counts")], [
                _rate_row(gettext("Sensitivity (not called low)"), s["sensitivity"], "Wilson"),
                _rate_row(gettext("Specificity (not called high)"), s["specificity"], "Wilson")])]
    if name == "bland_altman":
        return [_table(["", gettext("PHQ-9 points"), ci95], [
            [gettext("bias (predicted − observed)"), _fmt(s["bias"]), _ci(s["bias_ci95"])],
            [gettext("lower limit of agreement"), _fmt(s["loa_low"]), ""],
            [gettext("upper limit of agreement"), _fmt(s["loa_high"]), ""]])]
    if name == "reliable_change":
        return [_table([gettext("measure"), gettext("value"), ci95, gettext("counts")], [
            [gettext("RCI threshold (points)"), _fmt(s["rci_threshold_points"], 1), "",
             gettext("%(n)s changes") % {"n": s["n_changes"]}],
            _rate_row(gettext("Agreement on worse / no reliable change / better"), s["agreement"], "Wilson"),
            _rate_row(gettext("Same direction on changes ≥ %(mid)s points") % {"mid": s["large_changes"]["mid"]},
                      s["large_changes"]["same_direction"], "Wilson")])]
    return []


def _title(name: str, content: dict[str, Any]) -> str:
    return section_spec(name).heading(content.get("parameters", {}), gettext)


def _section(name: str, content: dict[str, Any], plots: dict[str, list[str]]) -> dict[str, Any]:
    s = content[name]
    title = _title(name, content)
    if name in PREDICTION_SECTIONS and not content["summary"]["predictions_out_of_fold"]:
        title = gettext("%(title)s — in-sample: not an honest estimate") % {"title": title}
    ok = s.get("status") == "ok"
    return {"id": name, "title": title, "ok": ok, "message": translated(s.get("message", "")),
            "counts": gettext("n = %(patients)s patients, %(pairs)s pairs") % {
                "patients": s.get("n_patients"), "pairs": s.get("n_pairs")} if ok else "",
            "interpretation": translated(s.get("interpretation", "")),
            "predictions": translated(s.get("predictions", "")),
            "tables": _tables(name, s) if ok else [], "notes": [translated(note) for note in s.get("notes", [])],
            "plots": [mark_safe(svg) for svg in plots.get(name, [])]}  # noqa: S308 - matplotlib SVG of numbers


def _change_table(sections: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for name, s in sections.items():
        score = _label(OTHER_LABELS, name)
        label = f"{score} ({translated(IN_SAMPLE_LABEL)})" if s.get("predictions") == IN_SAMPLE_LABEL else score
        if s["status"] != "ok":
            rows.append([label, DASH, DASH, translated(s["message"])])
            continue
        hit = s["matched"]
        rows.append([label, f"{hit['successes']}/{s['n_changes']}", _fmt(hit["value"]),
                     gettext("%(ci)s (%(worsened)s worsened, %(improved)s improved)") % {
                         "ci": _ci(hit["ci95"]), "worsened": s["n_worsened"], "improved": s["n_improved"]}])
    return _table([gettext("score"), gettext("same direction"), gettext("proportion"), gettext("95 % CI (Wilson)")],
                  rows)


def _group_label(g: dict[str, Any], facet: str) -> str:
    group = translated(g["group"]) if isinstance(g["group"], Text) else _label(GROUP_LABELS, g["group"])
    if facet == "codec" and group == g["group"] and g["group"].startswith("unknown "):
        group = f"{_label(GROUP_LABELS, 'unknown')} {g['group'][len('unknown '):]}"
    if "n_recordings" in g:
        return ngettext("%(group)s (%(n)s recording)", "%(group)s (%(n)s recordings)", g["n_recordings"]) % {
            "group": group, "n": g["n_recordings"]}
    return group


def _group_rows(groups: list[dict[str, Any]], facet: str) -> list[list[str]]:
    return [[_label(FACET_LABELS, facet), _group_label(g, facet), str(g["n_patients"]), str(g["n_pairs"]),
             str(g["n_positive"]), _cell(g["auc"], "auc", "auc_ci95"), _cell(g["rm_corr"], "r", "ci95")]
            for g in groups]


def _group_header() -> list[str]:
    return [gettext("by"), gettext("group"), gettext("patients"), gettext("pairs"), gettext("PHQ-9 ≥ cut-off"),
            gettext("AUC (95 % CI)"), gettext("rm-corr r (95 % CI)")]


def _none() -> str:
    return pgettext("validation report: no reasons", "none")


def _reasons(counts: dict[str, int]) -> str:
    return ", ".join(f"{translated(REASONS.get(reason, reason))}: {n}" for reason, n in counts.items()) or _none()


def _when(at: Any) -> str:
    """The report's time to the minute, in UTC ("2026-12-07 12:00 UTC"); as it is stored if it is not a time."""
    try:
        moment = datetime.fromisoformat(str(at))
    except ValueError:
        return str(at or DASH)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _model(model: dict[str, Any]) -> str:
    """The model's version, then what it is: "prior-2026.1 (prior, uncalibrated)"."""
    words = []
    for key, value in model.items():
        if key == "calibrated" and isinstance(value, bool):
            words.append(pgettext("validation report model", "calibrated") if value
                         else pgettext("validation report model", "uncalibrated"))
        elif key == "kind":
            words.append(_label(OTHER_LABELS, str(value)))
        elif key != "version":
            words.append(str(value))
    version = str(model.get("version") or "")
    if not words:
        return version or DASH
    return f"{version} ({', '.join(words)})" if version else ", ".join(words)


def _summary_rows(content: dict[str, Any]) -> list[list[str]]:
    s, p = content["summary"], content["parameters"]
    prevalence = _fmt(s["prevalence"] * 100 if s["n_pairs"] else None, 0)
    return [
        [gettext("PHQ-9 answers"), str(s["n_phq9"])],
        [gettext("pairs used (PHQ-9 with voice)"), str(s["n_pairs"])],
        [gettext("patients in pairs"), gettext("%(n)s (%(repeats)s with two or more pairs)") % {
            "n": s["n_patients"], "repeats": s["n_patients_with_repeats"]}],
        [gettext("PHQ-9 not paired"), f"{s['n_unpaired']} ({_reasons(s['unpaired_reasons'])})"],
        [gettext("pairs with PHQ-9 ≥ %(cutoff)s") % {"cutoff": p["cutoff"]}, f"{s['n_positive']} ({prevalence} %)"],
        [gettext("pairing rule"), gettext("recordings in the %(days)s days before each PHQ-9, at least %(least)s, "
                                          "averaged") % {"days": p["window_days"], "least": p["min_recordings"]}],
        [gettext("model"), _model(s.get("model") or {})],
    ]


def _kind(kind: str) -> str:
    return _label(ALERT_KIND_LABELS, kind.replace("_", " "))


def _ppv_row(row: dict[str, Any]) -> list[str]:
    kind = translated(row["kind"]) if isinstance(row["kind"], Text) else _kind(row["kind"])
    counts = [kind, str(row["n_alerts"]), str(row["n_evaluable"])]
    if row["status"] != "ok":
        return [*counts, translated(row["message"]), DASH, _reasons(row["not_evaluable"])]
    ppv = row["ppv"]
    return [*counts, f"{ppv['successes']}/{ppv['n']} ({_fmt(ppv['value'])})", _ci(ppv["ci95"]),
            _reasons(row["not_evaluable"])]


def _alerts(content: dict[str, Any]) -> dict[str, Any]:
    s = content["alerts"]
    out = {"id": "alerts", "title": _title("alerts", content), "ok": s["status"] == "ok",
           "message": translated(s.get("message", "")), "interpretation": translated(s.get("interpretation", "")),
           "tables": [], "notes": []}
    if not out["ok"]:
        return out
    burden, ppv = s["burden"], s["ppv"]
    if burden["status"] == "ok":
        out["counts"] = gettext("n = %(patients)s patients, %(months)s patient-months") % {
            "patients": burden["n_patients"], "months": localized_value(f"{burden['patient_months']:.1f}")}
        out["tables"].append(_table(
            [gettext("alert kind"), gettext("alerts"), gettext("patients with one"), gettext("per patient-month"),
             gettext("95 % CI (exact Poisson)")],
            [[_kind(r["kind"]), str(r["n_alerts"]), str(r["n_patients_with_alert"]),
              _fmt(r["per_patient_month"], 3), _ci(r["ci95"], 3)] for r in burden["by_kind"]]
            + [[pgettext("validation report: every alert", "all"), str(burden["n_alerts"]), DASH,
                _fmt(burden["per_patient_month"], 3), _ci(burden["ci95"], 3)]]))
    else:
        out["notes"].append(gettext("Alert burden: %(message)s") % {"message": translated(burden["message"])})
    out["tables"].append(_table(
        [gettext("risk alerts"), gettext("alerts"), gettext("with a PHQ-9 in the horizon"), gettext("confirmed (PPV)"),
         gettext("95 % CI (Wilson)"), gettext("not evaluable")], [_ppv_row(r) for r in ppv["by_kind"]] + [_ppv_row(ppv)]))
    out["notes"].append(gettext("An alert counts as confirmed when the %(criterion)s.") % {
        "criterion": translated(ppv["criterion"])})
    return out


def _coverage(content: dict[str, Any]) -> dict[str, Any] | None:
    """PHQ-9s with a voice estimate of each kind, and each kind's accuracy (``screening.validation.coverage``)."""
    s = content.get("coverage")
    if s is None:  # a report stored before the section existed
        return None
    n = s["n_phq9_with_recording"]
    share = lambda k: f"{s[k]:.0%}" if s[k] is not None else DASH  # noqa: E731
    rows = [[gettext("personal score"), str(s["n_with_personal_score"]), share("share_with_personal_score")],
            [gettext("early estimate only"), str(s["n_with_early_estimate_only"]),
             share("share_with_early_estimate_only")],
            [gettext("no estimate"), str(s["n_with_no_estimate"]),
             f"{s['n_with_no_estimate'] / n:.0%}" if n else DASH],
            [gettext("any estimate"), str(s["n_with_personal_score"] + s["n_with_early_estimate_only"]),
             share("share_with_any_estimate")]]
    accuracy = []
    for kind, a in s["accuracy"].items():
        label = _label(OTHER_LABELS, kind)
        if a["status"] == "ok":
            accuracy.append([label, str(a["n_windows"]), str(a["n_patients"]), _fmt(a["mae"]), _fmt(a["mean_error"]),
                             _fmt(a["calibration_slope"]), _fmt(a["rm_corr"])])
        else:
            accuracy.append([label, str(a["n_windows"]), DASH, DASH, DASH, DASH, translated(a["reason"])])
    title = gettext("%(title)s (%(n)s with a recording in the %(days)s days before)") % {
        "title": _title("coverage", content), "n": n, "days": s["window_days"]}
    return {"title": title, "interpretation": translated(s["interpretation"]),
            "tables": [_table([gettext("PHQ-9s compared with"), gettext("PHQ-9s"), gettext("share")], rows),
                       _table([gettext("estimate"), gettext("PHQ-9s"), gettext("patients"), gettext("MAE, points"),
                               gettext("mean error"), gettext("calibration slope"), gettext("rm-corr")], accuracy)]}


def _tripod(content: dict[str, Any]) -> dict[str, Any]:
    s = content["tripod_ai"]
    items = [{**item, "asks": translated(item["asks"]), "note": translated(item["note"]),
              "sections": [_label(PART_LABELS, part) for part in item["sections"]]} for item in s["items"]]
    return {"title": _title("tripod_ai", content), **s, "items": items}


def render_html(report: ValidationReport) -> str:
    """A self-contained HTML page in the active language: summary, each section with numbers, CI, a plain-language
    reading and inline SVG plots; no scripts, no external resources."""
    content = report.content
    lang = active_language()
    plots = report_plots(content, report.pairs, translate=translated,
                         number=None if lang == "en" else localized_value)
    by_site = content["by_site"]
    site_rows = [row for team in by_site.get("teams", []) for row in
                 (_group_rows([team], "team") + _group_rows([team["leave_one_team_out"]], "leave out"))]
    return render_to_string("screening/validation_report.html", {
        "lang": lang,
        "content": content,
        "generated_at": _when(content.get("generated_at")),
        "title": translated(content["title"]),
        "predictions": translated(content["summary"]["predictions"]),
        "summary_rows": _summary_rows(content),
        "sections": [_section(name, content, plots) for name in STANDARD_SECTIONS if name in content],
        "change": {"title": _title("change_detection", content),
                   "table": _change_table(content["change_detection"]),
                   "interpretations": [translated(s["interpretation"]) for s in content["change_detection"].values()
                                       if s["status"] == "ok"]},
        "subgroups": {"title": _title("subgroups", content), "table": _table(
            _group_header(), [row for facet, groups in content["subgroups"].items()
                              for row in _group_rows(groups, facet.replace("_", " "))])},
        "by_site": {"title": _title("by_site", content), "message": translated(by_site.get("message", "")),
                    "table": _table(_group_header(), site_rows)},
        "alerts": _alerts(content) if "alerts" in content else None,
        "coverage": _coverage(content),
        "tripod": _tripod(content),
    })


def render(report: ValidationReport, fmt: str) -> str:
    """Render ``report`` as JSON, HTML or CSV (the pairs)."""
    renderers = {"json": render_json, "html": render_html, "csv": render_csv}
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return renderers[fmt](report)
