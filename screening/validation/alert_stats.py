"""What the alerts cost and what they are worth: burden per patient-month and PPV of risk alerts.

Pure pandas/scipy. Alert *burden* is the number of alerts of each kind per patient-month of
monitoring (enrolment to the report date), with an exact Poisson interval. The *positive
predictive value* of a risk alert (a probability above the clinic's threshold, or a predicted
PHQ-9 rise from the patient's own baseline) is checked against the next PHQ-9 the patient answered
within ``horizon_days`` after it: the alert was right when that PHQ-9 is at or above the cut-off,
or at least ``mid`` points above the patient's last PHQ-9 before the alert. Alerts with no PHQ-9 in
that window are counted with their reason, never silently dropped or counted as wrong.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
import scipy.stats as sps

from clinic.phq9 import MINIMAL_IMPORTANT_DIFFERENCE, SCREENING_CUTOFF
from screening.alerts.kinds import ALERT_KINDS as _KINDS
from screening.validation.pairing import require_columns
from screening.validation.stats import CONFIDENCE, MIN_PATIENTS, _rate
from screening.validation.text import gettext_noop, ngettext, patient_count

__all__ = ["ALERT_COLUMNS", "ALERT_KINDS", "RISK_ALERT_KINDS", "HORIZON_DAYS", "MIN_EVALUABLE_ALERTS",
           "alert_section", "alert_burden", "risk_alert_ppv"]

ALERT_COLUMNS = ("patient_id", "kind", "at")
#: Every alert kind's stored name (screening.alerts.kinds), in the order the report lists them.
ALERT_KINDS = tuple(kind.name for kind in _KINDS)
#: The alerts that claim the patient is, or is becoming, depressed: their PPV is checkable against PHQ-9.
RISK_ALERT_KINDS = tuple(kind.name for kind in _KINDS if kind.risk)
HORIZON_DAYS = 28
#: Fewest alerts with a follow-up PHQ-9 for a PPV to be shown.
MIN_EVALUABLE_ALERTS = 10
DAYS_PER_MONTH = 365.25 / 12
MIN_PATIENT_MONTHS = 1.0

NO_FOLLOW_UP = gettext_noop("no PHQ-9 answered within the horizon after the alert")
PENDING = gettext_noop("horizon not over yet and no PHQ-9 answered so far")


def _utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True)


def _poisson_ci(count: int, exposure: float, confidence: float = CONFIDENCE) -> list[float]:
    """Exact (Garwood) interval of a Poisson rate ``count / exposure``."""
    alpha = 1 - confidence
    low = sps.chi2.ppf(alpha / 2, 2 * count) / 2 if count else 0.0
    high = sps.chi2.ppf(1 - alpha / 2, 2 * count + 2) / 2
    return [float(low / exposure), float(high / exposure)]


def exposure_months(patients: pd.DataFrame, *, until: pd.Timestamp) -> pd.Series:
    """Patient-months of monitoring per patient, from ``enrolled_on`` to ``until`` (missing: no exposure)."""
    if "enrolled_on" not in patients.columns:
        return pd.Series(dtype=float)
    info = patients.drop_duplicates("patient_id").set_index("patient_id")
    start = _utc(info["enrolled_on"])
    days = (until - start).dt.total_seconds() / 86_400
    return (days[days > 0] / DAYS_PER_MONTH).astype(float)


def alert_burden(alerts: pd.DataFrame, patients: pd.DataFrame, *, until: pd.Timestamp) -> dict[str, Any]:
    """Alerts per patient-month by kind (exact Poisson 95 % CI), over the patients' monitored time."""
    months = exposure_months(patients, until=until)
    total = float(months.sum())
    counts = {"n_patients": int(len(months)), "patient_months": total}
    if len(months) < MIN_PATIENTS:
        return {"status": "insufficient data", **counts, "message": (
            ngettext("insufficient data: %(n)s patient with an enrolment date (at least %(least)s needed)",
                     "insufficient data: %(n)s patients with an enrolment date (at least %(least)s needed)",
                     len(months), n=len(months), least=MIN_PATIENTS))}
    if total < MIN_PATIENT_MONTHS:
        return {"status": "insufficient data", **counts,
                "message": gettext_noop("insufficient data: %(months)s patient-months of monitoring (at least 1 needed)",
                                        months=f"{total:.2f}")}
    mine = alerts[alerts["patient_id"].isin(months.index)]
    kinds = [*ALERT_KINDS, *sorted(set(mine["kind"]) - set(ALERT_KINDS))]
    rows = []
    for kind in kinds:
        of_kind = mine[mine["kind"] == kind]
        n = int(len(of_kind))
        rows.append({"kind": kind, "n_alerts": n, "n_patients_with_alert": int(of_kind["patient_id"].nunique()),
                     "per_patient_month": n / total, "ci95": _poisson_ci(n, total)})
    n_all = int(len(mine))
    return {"status": "ok", **counts, "n_alerts": n_all, "per_patient_month": n_all / total,
            "ci95": _poisson_ci(n_all, total), "by_kind": rows,
            "method": "alerts / patient-months from enrolment to the report date; exact Poisson interval "
                      "(alerts treated as independent)"}


def _outcomes(alerts: pd.DataFrame, phq9: pd.DataFrame, *, until: pd.Timestamp, horizon_days: int,
              cutoff: int, mid: int) -> pd.DataFrame:
    """Each risk alert with its next PHQ-9 in the horizon, the last one before, and whether it was right."""
    horizon = pd.Timedelta(days=horizon_days)
    answers = {p: g.sort_values("answered_at") for p, g in phq9.groupby("patient_id")}
    rows = []
    for alert in alerts.itertuples(index=False):
        mine = answers.get(alert.patient_id)
        times = mine["answered_at"] if mine is not None else pd.Series(dtype="datetime64[ns, UTC]")
        after = mine[(times > alert.at) & (times <= alert.at + horizon)] if mine is not None else None
        before = mine[times <= alert.at] if mine is not None else None
        row = {"patient_id": alert.patient_id, "kind": alert.kind, "at": alert.at, "evaluable": False,
               "reason": "", "positive": False, "by_cutoff": False, "by_rise": False}
        if after is None or after.empty:
            row["reason"] = PENDING if alert.at + horizon > until else NO_FOLLOW_UP
        else:
            nxt = int(after["total"].iloc[0])
            prev = int(before["total"].iloc[-1]) if before is not None and len(before) else None
            row.update(evaluable=True, by_cutoff=nxt >= cutoff, by_rise=prev is not None and nxt - prev >= mid)
            row["positive"] = row["by_cutoff"] or row["by_rise"]
        rows.append(row)
    return pd.DataFrame(rows, columns=["patient_id", "kind", "at", "evaluable", "reason", "positive",
                                       "by_cutoff", "by_rise"])


def _ppv_row(label: str, outcomes: pd.DataFrame) -> dict[str, Any]:
    mask = outcomes["evaluable"].astype(bool)  # an empty object column would select columns, not rows
    evaluable = outcomes[mask]
    reasons = outcomes.loc[~mask, "reason"].value_counts()
    row = {"kind": label, "n_alerts": int(len(outcomes)), "n_evaluable": int(len(evaluable)),
           "n_patients": int(evaluable["patient_id"].nunique()),
           "not_evaluable": {str(k): int(v) for k, v in reasons.items()}}
    if len(evaluable) < MIN_EVALUABLE_ALERTS or row["n_patients"] < MIN_PATIENTS:
        return {**row, "status": "insufficient data", "message": gettext_noop(
            "insufficient data: %(alerts)s from %(patients)s with a PHQ-9 in the horizon (at least %(least)s alerts "
            "from %(least_patients)s patients needed)",
            alerts=ngettext("%(n)s alert", "%(n)s alerts", len(evaluable), n=len(evaluable)),
            patients=patient_count(row["n_patients"]), least=MIN_EVALUABLE_ALERTS, least_patients=MIN_PATIENTS)}
    return {**row, "status": "ok", "ppv": _rate(int(evaluable["positive"].astype(bool).sum()), len(evaluable)),
            "n_by_cutoff": int(evaluable["by_cutoff"].astype(bool).sum()),
            "n_by_rise": int(evaluable["by_rise"].astype(bool).sum())}


def risk_alert_ppv(alerts: pd.DataFrame, phq9: pd.DataFrame, *, until: pd.Timestamp,
                   horizon_days: int = HORIZON_DAYS, cutoff: int = SCREENING_CUTOFF,
                   mid: int = MINIMAL_IMPORTANT_DIFFERENCE) -> dict[str, Any]:
    """PPV of the risk alerts, all together and per kind, against the next PHQ-9 within the horizon."""
    risk = alerts[alerts["kind"].isin(RISK_ALERT_KINDS)].sort_values("at", kind="stable")
    outcomes = _outcomes(risk, phq9.assign(answered_at=_utc(phq9["answered_at"])), until=until,
                         horizon_days=horizon_days, cutoff=cutoff, mid=mid)
    overall = _ppv_row(gettext_noop("all risk alerts"), outcomes)
    return {**overall, "kinds": list(RISK_ALERT_KINDS), "horizon_days": horizon_days,
            "criterion": gettext_noop("next PHQ-9 within %(days)s days ≥ %(cutoff)s, or ≥ %(mid)s points above the "
                                      "last PHQ-9 before the alert", days=horizon_days, cutoff=cutoff, mid=mid),
            "by_kind": [_ppv_row(kind, outcomes[outcomes["kind"] == kind]) for kind in RISK_ALERT_KINDS],
            "method": "Wilson interval (alerts treated as independent)"}


def _interpret(burden: dict[str, Any], ppv: dict[str, Any]) -> str:
    parts = []
    if burden["status"] == "ok":
        parts.append(ngettext(
            "%(n)s alert over %(months)s patient-months: %(rate)s per patient per month (95 %% CI %(low)s to "
            "%(high)s).",
            "%(n)s alerts over %(months)s patient-months: %(rate)s per patient per month (95 %% CI %(low)s to "
            "%(high)s).", burden["n_alerts"], n=burden["n_alerts"], months=f"{burden['patient_months']:.0f}",
            rate=f"{burden['per_patient_month']:.2f}", low=f"{burden['ci95'][0]:.2f}", high=f"{burden['ci95'][1]:.2f}"))
    if ppv["status"] == "ok":
        rate = ppv["ppv"]
        parts.append(gettext_noop(
            "Of %(n)s risk alerts followed by a PHQ-9 within %(days)s days, %(confirmed)s (%(share)s, 95 %% CI "
            "%(low)s to %(high)s) were confirmed by it.", n=rate["n"], days=ppv["horizon_days"],
            confirmed=rate["successes"], share=f"{rate['value']:.0%}", low=f"{rate['ci95'][0]:.0%}",
            high=f"{rate['ci95'][1]:.0%}"))
    if len(parts) == 2:
        return gettext_noop("%(first)s %(second)s", first=parts[0], second=parts[1])
    return parts[0] if parts else ""


def alert_section(alerts: pd.DataFrame | None, patients: pd.DataFrame, phq9: pd.DataFrame, *,
                  generated_at: datetime, horizon_days: int = HORIZON_DAYS, cutoff: int = SCREENING_CUTOFF,
                  mid: int = MINIMAL_IMPORTANT_DIFFERENCE) -> dict[str, Any]:
    """The ``alerts`` section: ``burden`` and ``ppv``, each with its own status.

    ``alerts`` has patient_id, kind and at (tz-aware: when the alert was triggered); None means the
    caller has no alert data, which the section says rather than reporting zero alerts.
    """
    if alerts is None:
        return {"status": "insufficient data", "message": gettext_noop("insufficient data: no alert data given")}
    require_columns(alerts, ALERT_COLUMNS, "alerts")
    alerts = alerts.assign(at=_utc(alerts["at"]))
    until = pd.Timestamp(generated_at).tz_convert("UTC")
    alerts = alerts[alerts["at"] <= until]
    burden = alert_burden(alerts, patients, until=until)
    ppv = risk_alert_ppv(alerts, phq9, until=until, horizon_days=horizon_days, cutoff=cutoff, mid=mid)
    ok = burden["status"] == "ok" or ppv["status"] == "ok"
    section = {"status": "ok" if ok else "insufficient data", "n_patients": burden["n_patients"],
               "n_alerts": int(len(alerts)), "burden": burden, "ppv": ppv,
               "interpretation": _interpret(burden, ppv)}
    if not ok:
        section["message"] = gettext_noop("%(first)s; %(second)s", first=burden["message"], second=ppv["message"])
    return section

