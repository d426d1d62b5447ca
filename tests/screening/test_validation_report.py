"""The assembled report: its traps, its JSON, CSV and HTML."""

from __future__ import annotations

import io
import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from screening.reports.html import render, render_html
from screening.validation import build_report, render_csv, render_json
from screening.validation.sections import PREDICTION_SECTIONS, SECTION_TITLES
from screening.validation.subgroups import IN_SAMPLE_LABEL, OUT_OF_FOLD_LABEL
from tests.screening.test_validation_simulation import simulate_cohort

WHEN = pd.Timestamp("2026-01-01 12:00", tz="UTC").to_pydatetime()


def _report(cohort, **kwargs):
    return build_report(
        phq9=cohort["phq9"],
        scores=cohort["scores"],
        patients=cohort["patients"],
        n_bootstrap=kwargs.pop("n_bootstrap", 100),
        generated_at=WHEN,
        **kwargs,
    )


@pytest.fixture(scope="module")
def cohort():
    return simulate_cohort(n_patients=40, seed=11)


@pytest.fixture(scope="module")
def report(cohort):
    return _report(cohort)


def _numbers(value):
    """Every number anywhere in a nested report dict."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _numbers(item)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield float(value)


def _keys(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


# ------------------------------------------------------------------------- traps
def test_it_never_reports_a_pooled_correlation(cohort, report):
    pairs = report.pairs
    scores = cohort["scores"]
    pooled_pairs = np.corrcoef(pairs["voice_score"], pairs["phq9_total"])[0, 1]
    merged = scores.merge(cohort["phq9"], on="patient_id")
    pooled_recordings = np.corrcoef(merged["voice_score"], merged["total"])[0, 1]
    numbers = np.array(list(_numbers(report.content)))
    for pooled in (pooled_pairs, pooled_recordings):
        assert not np.isclose(numbers, pooled, rtol=0, atol=1e-9).any()
    assert not [k for k in _keys(report.content) if "pooled" in k.lower()]
    # The within and between results differ from the pooled one, which is why it is banned.
    assert (
        report.content["within_person"]["r"] > 0 > report.content["between_person"]["pearson"]["r"]
    )


def test_it_labels_no_plot_as_a_pooled_result(report):
    page = render_html(report)
    titles = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(titles) == 6
    for svg in titles:
        assert "pooled" not in svg.lower() and "all recordings" not in svg.lower()
    pooled = np.corrcoef(report.pairs["voice_score"], report.pairs["phq9_total"])[0, 1]
    within = report.content["within_person"]["r"]
    between = report.content["between_person"]["pearson"]["r"]
    assert f"{pooled:.2f}" not in {f"{within:.2f}", f"{between:.2f}"}
    assert f"r = {pooled:.2f}" not in page


def test_it_counts_a_single_pair_patient_between_but_not_within(cohort):
    # Keep one PHQ-9 of patient 1 only: it has one pair afterwards.
    phq9 = cohort["phq9"]
    first_of_patient_1 = phq9.index[phq9["patient_id"] == 1][0]
    trimmed = dict(
        cohort, phq9=phq9[(phq9["patient_id"] != 1) | (phq9.index == first_of_patient_1)]
    )
    content = _report(trimmed).content
    without = _report(dict(cohort, phq9=phq9[phq9["patient_id"] != 1])).content
    assert content["between_person"]["n_patients"] == without["between_person"]["n_patients"] + 1
    assert content["within_person"]["n_patients"] == without["within_person"]["n_patients"]
    assert_allclose(content["within_person"]["r"], without["within_person"]["r"], rtol=1e-12)
    assert content["between_person"]["pearson"]["r"] != without["between_person"]["pearson"]["r"]


@pytest.mark.parametrize("n_patients", [0, 2, 3])
def test_it_says_insufficient_data_instead_of_numbers(n_patients):
    small = simulate_cohort(n_patients=max(n_patients, 1), seed=2)
    if n_patients == 0:
        small = dict(small, scores=small["scores"].iloc[0:0])
    content = _report(small).content
    for name in (
        "between_person",
        "within_person",
        "mixed_model",
        "screening_accuracy",
        "calibration",
        "bland_altman",
    ):
        assert content[name]["message"].startswith("insufficient data: ")
        assert content[name]["interpretation"] == content[name]["message"]
    page = render_html(_report(small))
    assert page.count("insufficient data: ") >= 6 and "<svg" not in page
    json.loads(render_json(_report(small)))


def test_it_says_insufficient_data_with_too_few_pairs():
    cohort = simulate_cohort(n_patients=8, seed=5, p_no_recordings=0, p_one_recording=0)
    phq9 = cohort["phq9"][cohort["phq9"]["patient_id"] <= 4].groupby("patient_id").head(2)
    content = _report(dict(cohort, phq9=phq9)).content
    assert content["summary"]["n_patients"] == 4 and content["summary"]["n_pairs"] < 10
    for name in ("between_person", "within_person", "screening_accuracy", "bland_altman"):
        assert re.match(
            r"insufficient data: \d+ pairs( from patients with two or more pairs)? \(at least 10",
            content[name]["message"],
        )


# -------------------------------------------------------------------- provenance
@pytest.mark.parametrize("oof, label", [(True, OUT_OF_FOLD_LABEL), (False, IN_SAMPLE_LABEL)])
def test_it_says_whether_the_predictions_were_out_of_fold(oof, label):
    content = _report(simulate_cohort(n_patients=20, seed=3, oof=oof)).content
    assert content["summary"]["predictions"] == label
    for name in PREDICTION_SECTIONS:
        assert content[name]["predictions"] == label


def test_it_flags_in_sample_sections_in_the_page():
    page = render_html(_report(simulate_cohort(n_patients=20, seed=3, oof=False)))
    headings = re.findall(r"<h2>(.*?)</h2>", page)
    flagged = [h for h in headings if "in-sample: not an honest estimate" in h]
    assert len(flagged) == len(PREDICTION_SECTIONS)
    assert 'class="warning">Predictions: in-sample: not an honest estimate' in page
    honest = render_html(_report(simulate_cohort(n_patients=20, seed=3, oof=True)))
    assert "in-sample" not in honest


# ------------------------------------------------------------------------ output
def test_it_renders_a_self_contained_page(report):
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 6
    for title in SECTION_TITLES.values():
        assert (
            title.format(cutoff=10, mid=5).replace("\u2013", "&#x2013;") in page
            or title.format(cutoff=10, mid=5) in page
        )
    assert "<script" not in page and "<link" not in page and "src=" not in page
    assert not re.search(r"(href|url)\(?=?['\"]?https?:", page)
    summary = report.content["summary"]
    assert f"<td>{summary['n_pairs']}</td>" in page
    assert OUT_OF_FOLD_LABEL in page


def test_it_escapes_text_from_the_database(cohort):
    patients = cohort["patients"].assign(language="<b>x</b>")
    page = render_html(_report(dict(cohort, patients=patients)))
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_it_writes_strict_json_with_null_for_nan(report):
    text = render_json(report)
    assert "NaN" not in text and "Infinity" not in text
    parsed = json.loads(text)
    assert parsed["screening_accuracy"]["roc"]["thresholds"][0] is None  # was +inf
    assert_allclose(parsed["within_person"]["r"], report.content["within_person"]["r"])
    empty = simulate_cohort(n_patients=3, seed=1)
    empty_report = _report(dict(empty, scores=empty["scores"].iloc[0:0]))
    assert math.isnan(empty_report.content["summary"]["prevalence"])
    assert json.loads(render_json(empty_report))["summary"]["prevalence"] is None


def test_it_writes_the_pairs_as_csv(report):
    frame = pd.read_csv(io.StringIO(render_csv(report)))
    assert len(frame) == report.content["summary"]["n_pairs"]
    assert_allclose(frame["voice_score"], report.pairs["voice_score"])
    assert pd.to_datetime(frame["answered_at"]).dt.tz is not None


def test_it_dispatches_on_the_format(report):
    assert render(report, "json") == render_json(report)
    assert render(report, "csv") == render_csv(report)
    with pytest.raises(ValueError, match="unknown format"):
        render(report, "pdf")


def test_it_uses_the_reference_date_for_age_bands(cohort):
    early = _report(cohort, reference_date=pd.Timestamp("2000-01-01", tz="UTC")).content
    late = _report(cohort, reference_date=pd.Timestamp("2040-01-01", tz="UTC")).content
    assert {g["group"] for g in early["subgroups"]["age_band"]} != {
        g["group"] for g in late["subgroups"]["age_band"]
    }
    assert early["parameters"]["reference_date"] == "2000-01-01"


def test_it_reports_the_clinical_sections_in_json_and_html(cohort):
    patients = cohort["patients"].assign(care_team=["North", "South"] * (len(cohort["patients"]) // 2))
    report = _report(dict(cohort, patients=patients))
    content = json.loads(render_json(report))
    assert {"slope", "intercept"} <= content["calibration"].keys()
    assert [row["threshold"] for row in content["decision_curve"]["curve"]][::9] == [0.05, 0.5]
    assert {"low", "indeterminate", "high"} <= content["three_way"].keys()
    assert content["reliable_change"]["status"] == "ok" and content["reliable_change"]["rci_threshold_points"] > 0
    teams = content["by_site"]["teams"]
    assert [t["group"] for t in teams] == ["North", "South"]
    assert teams[0]["leave_one_team_out"]["n_patients"] == teams[1]["n_patients"]
    items = {i["item"]: i for i in content["tripod_ai"]["items"]}
    assert items["12e"]["covered"] and not items["20b"]["covered"] and items["20b"]["note"]
    page = render_html(report)
    for anchor in ("decision_curve", "three_way", "reliable_change", "by_site", "tripod_ai"):
        assert f'<section id="{anchor}">' in page
    assert "Calibration slope" in page and "leave out" in page
