"""The report's alert section (burden, PPV of risk alerts) and its recording-condition subgroups."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import scipy.stats as sps
from numpy.testing import assert_allclose

from screening.alerts.kinds import ALERT_KINDS
from screening.reports.html import render_html
from screening.validation import build_report, render_json
from screening.validation.alert_stats import (
    MIN_EVALUABLE_ALERTS,
    NO_FOLLOW_UP,
    PENDING,
    alert_burden,
    alert_section,
    risk_alert_ppv,
)
from screening.validation.subgroups import codec_label, recording_subgroups
from tests.support.validation_reports import simulated_clinic

T0 = pd.Timestamp("2026-01-01", tz="UTC")
NOW = pd.Timestamp("2026-07-01", tz="UTC")


def _patients(n: int, enrolled=T0) -> pd.DataFrame:
    return pd.DataFrame({"patient_id": range(1, n + 1), "sex": "female", "birth_year": 1980, "language": "en",
                         "enrolled_on": [enrolled.date()] * n})


def _phq9(rows) -> pd.DataFrame:
    return pd.DataFrame([{"patient_id": p, "phq9_id": i, "answered_at": T0 + pd.Timedelta(days=d), "total": t,
                          "item9": 0} for i, (p, d, t) in enumerate(rows)])


def _alerts(rows) -> pd.DataFrame:
    return pd.DataFrame([{"patient_id": p, "kind": k, "at": T0 + pd.Timedelta(days=d)} for p, k, d in rows])


# ------------------------------------------------------------------------ burden
def test_burden_is_alerts_per_patient_month_by_kind_with_an_exact_poisson_interval():
    patients = _patients(4)  # 4 patients x 181 days
    alerts = _alerts([(1, "risk_threshold", 10), (1, "risk_threshold", 50), (2, "phq9_rise", 20),
                      (3, "overdue", 30), (4, "self_harm", 40), (2, "overdue", 60)])
    burden = alert_burden(alerts, patients, until=NOW)
    months = 4 * 181 / (365.25 / 12)
    assert burden["status"] == "ok" and burden["n_patients"] == 4
    assert_allclose(burden["patient_months"], months)
    assert burden["n_alerts"] == 6 and burden["per_patient_month"] == pytest.approx(6 / months)
    by_kind = {row["kind"]: row for row in burden["by_kind"]}
    assert list(by_kind) == [kind.name for kind in ALERT_KINDS]  # every declared kind, none raised or not
    assert by_kind["risk_threshold"]["n_alerts"] == 2 and by_kind["risk_threshold"]["n_patients_with_alert"] == 1
    assert by_kind["overdue"]["per_patient_month"] == pytest.approx(2 / months)
    # Garwood interval for 2 events; zero events has lower bound 0
    assert_allclose(by_kind["overdue"]["ci95"], [sps.chi2.ppf(0.025, 4) / 2 / months,
                                                 sps.chi2.ppf(0.975, 6) / 2 / months])
    assert by_kind["speaker_mismatch"]["n_alerts"] == 0 and by_kind["speaker_mismatch"]["ci95"][0] == 0.0


def test_burden_says_insufficient_data_with_too_few_patients_or_months():
    few = alert_burden(_alerts([(1, "overdue", 1)]), _patients(2), until=NOW)
    assert few["status"] == "insufficient data" and "2 patients" in few["message"]
    short = alert_burden(_alerts([]).reindex(columns=["patient_id", "kind", "at"]),
                         _patients(5, enrolled=NOW - pd.Timedelta(days=5)), until=NOW)
    assert short["status"] == "insufficient data" and "patient-months" in short["message"]
    assert "per_patient_month" not in short


# --------------------------------------------------------------------------- PPV
def _ppv_cohort(n_patients: int = 10):
    """Each patient: PHQ-9 of 8 on day 0; a confirmed-by-cutoff alert (next PHQ-9 12), a confirmed-by-rise alert
    (4 -> 9), an unconfirmed one (9 -> 7), one with no PHQ-9 in 28 days and one still pending."""
    phq9, alerts = [], []
    for p in range(1, n_patients + 1):
        phq9 += [(p, 0, 8), (p, 10, 12), (p, 40, 4), (p, 55, 9), (p, 90, 7), (p, 170, 3)]
        alerts += [(p, "risk_threshold", 5), (p, "phq9_rise", 50), (p, "phq9_rise", 85),
                   (p, "risk_threshold", 120), (p, "phq9_rise", (NOW - T0).days - 4)]
    return _phq9(phq9), _alerts(alerts)


def test_ppv_checks_each_risk_alert_against_the_next_phq9_within_28_days():
    phq9, alerts = _ppv_cohort()
    ppv = risk_alert_ppv(alerts, phq9, until=NOW)
    assert ppv["status"] == "ok" and ppv["horizon_days"] == 28
    assert ppv["n_alerts"] == 50 and ppv["n_evaluable"] == 30 and ppv["n_patients"] == 10
    assert ppv["ppv"]["successes"] == 20 and ppv["ppv"]["value"] == pytest.approx(20 / 30)
    assert ppv["n_by_cutoff"] == 10 and ppv["n_by_rise"] == 10
    assert ppv["not_evaluable"] == {NO_FOLLOW_UP: 10, PENDING: 10}
    lo, hi = ppv["ppv"]["ci95"]
    assert 0.4 < lo < 20 / 30 < hi < 0.85
    kinds = {row["kind"]: row for row in ppv["by_kind"]}
    assert kinds["risk_threshold"]["n_evaluable"] == 10 and kinds["risk_threshold"]["ppv"]["successes"] == 10
    assert kinds["risk_threshold"]["ppv"]["ci95"][0] < 1.0  # all confirmed, yet the interval is honest
    assert kinds["phq9_rise"]["ppv"]["successes"] == 10 and kinds["phq9_rise"]["n_evaluable"] == 20


def test_ppv_ignores_non_risk_alerts_and_says_insufficient_data_when_few_are_evaluable():
    phq9, alerts = _ppv_cohort(n_patients=3)
    extra = _alerts([(1, "overdue", 5), (1, "self_harm", 10)])
    ppv = risk_alert_ppv(pd.concat([alerts, extra]), phq9, until=NOW)
    assert ppv["n_alerts"] == 15 and ppv["n_evaluable"] == 9 and ppv["status"] == "insufficient data"
    assert f"at least {MIN_EVALUABLE_ALERTS} alerts" in ppv["message"] and "ppv" not in ppv


def test_ppv_without_any_risk_alert_says_insufficient_data():
    ppv = risk_alert_ppv(_alerts([(1, "overdue", 5)]), _phq9([(1, 10, 12)]), until=NOW)
    assert ppv["status"] == "insufficient data" and ppv["n_alerts"] == 0 and ppv["not_evaluable"] == {}


def test_alert_section_without_alert_data_says_so_rather_than_zero():
    section = alert_section(None, _patients(5), _phq9([(1, 0, 5)]), generated_at=NOW.to_pydatetime())
    assert section["status"] == "insufficient data" and "no alert data" in section["message"]


# ----------------------------------------------------------------------- subgroups
def test_codec_label_names_the_bit_rate_band():
    assert codec_label("Opus", 24_000) == "opus < 32 kbit/s"
    assert codec_label("aac", 64_000) == "aac 32\u201395 kbit/s"
    assert codec_label("pcm_s16le", 256_000) == "pcm_s16le \u2265 96 kbit/s"
    assert codec_label("", None) == "unknown" and codec_label(None, float("nan")) == "unknown"


@pytest.fixture(scope="module")
def cohort():
    return simulated_clinic(seed=5, n_patients=30)[0]


def test_recording_subgroups_re_pair_each_group_on_its_own_recordings(cohort):
    groups = recording_subgroups(cohort["phq9"], cohort["scores"], window_days=14, min_recordings=1,
                                 n_bootstrap=20)
    assert set(groups) == {"codec", "device", "task"}
    tasks = {row["group"]: row for row in groups["task"]}
    assert set(tasks) == {"free_speech", "read_passage"}
    assert sum(row["n_recordings"] for row in tasks.values()) == cohort["scores"]["voice_score"].notna().sum()
    assert all(0 < row["n_pairs"] and row["n_patients"] <= 30 for row in tasks.values())
    assert {row["group"] for row in groups["codec"]} == {"opus < 32 kbit/s", "aac 32\u201395 kbit/s"}
    devices = [row["group"] for row in groups["device"]]
    assert len(devices) == 10 and "other devices" in devices and "unknown" in devices
    # a group with a single scarce recording kind says insufficient data rather than an AUC
    scarce = cohort["scores"].drop(columns=["codec", "device_model"]).assign(task=["rare" if i < 5 else "free_speech" for i in range(len(cohort["scores"]))])
    rare = {r["group"]: r for r in recording_subgroups(cohort["phq9"], scarce, window_days=14, min_recordings=1,
                                                          n_bootstrap=20)["task"]}["rare"]
    assert rare["auc"]["status"] == "insufficient data" and rare["rm_corr"]["status"] == "insufficient data"


def test_recording_subgroups_leave_out_facets_the_scores_lack(cohort):
    plain = cohort["scores"].drop(columns=["codec", "bit_rate", "device_model"])
    assert set(recording_subgroups(cohort["phq9"], plain, window_days=14, min_recordings=2, n_bootstrap=20)) \
        == {"task"}


# -------------------------------------------------------------------------- report
@pytest.fixture(scope="module")
def report(cohort):
    when = cohort["scores"]["recorded_at"].max() + pd.Timedelta(days=1)
    first = cohort["phq9"].sort_values("answered_at").groupby("patient_id").head(1)
    alerts = pd.DataFrame({"patient_id": first["patient_id"], "kind": "risk_threshold",
                           "at": first["answered_at"] - pd.Timedelta(days=3)})
    return build_report(phq9=cohort["phq9"], scores=cohort["scores"], patients=cohort["patients"],
                        alerts=alerts, n_bootstrap=20, generated_at=when.to_pydatetime())


def test_the_report_carries_the_alerts_and_the_new_subgroups_in_json_html_and_tripod(report):
    content = json.loads(render_json(report))
    alerts = content["alerts"]
    assert alerts["status"] == "ok" and alerts["burden"]["status"] == "ok"
    assert alerts["ppv"]["status"] == "ok" and alerts["ppv"]["n_evaluable"] == 30
    assert {"codec", "device", "task", "sex", "age_band", "language"} <= set(content["subgroups"])
    items = {item["item"]: item for item in content["tripod_ai"]["items"]}
    assert "alerts" in items["12e"]["sections"] and items["12e"]["covered"]
    assert "recording task" in items["12g"]["note"]
    html = render_html(report)
    assert 'id="alerts"' in html and "per patient-month" in html and "confirmed (PPV)" in html
    assert "read_passage" in html and "opus &lt; 32 kbit/s" in html and "recordings)" in html
