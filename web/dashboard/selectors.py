"""Dashboard reads: the triage list, a patient's page, alerts, processing and the audit log.

Every function here runs a fixed number of queries whatever the number of patients or
recordings: per-patient facts are correlated subqueries, series are fetched in one query.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from clinic.models import AuditEvent, Patient, Phq9Response, Recording
from clinic.phq9 import severity_band
from clinic.selectors import patients_visible_to, recordings_visible_to
from screening.alerts.kinds import ALERT_KINDS, AlertKind, kind_spec
from screening.models import Alert, RiskScore
from voice_features.registry import DASHBOARD_FEATURES
from web.dashboard.charts import Sparkline

__all__ = [
    "KEY_FEATURES",
    "SPARKLINE_POINTS",
    "SEVERITY_LABELS",
    "TriageRow",
    "severity_label",
    "triage_queryset",
    "triage_rows",
    "sparkline_series",
    "alerts_inbox",
    "processing_summary",
    "audit_events",
]

#: Features plotted on the patient page against the personal baseline, with their units.
KEY_FEATURES: tuple[tuple[str, str, str], ...] = DASHBOARD_FEATURES

#: How many recent predicted-PHQ-9 values a triage sparkline shows.
SPARKLINE_POINTS = 12

TRIAGE_FILTERS = ("all", "alerts", "overdue", "problems", "missing")
TRIAGE_SORTS = ("priority", "missing")

OPEN_STATES = (Alert.State.OPEN, Alert.State.ACKNOWLEDGED)

#: Urgent kinds (self-harm) come first in triage and the inbox (screening.alerts.kinds).
URGENT_KINDS = tuple(kind.name for kind in ALERT_KINDS if kind.urgent)


def _count(queryset: QuerySet) -> Subquery:
    """A correlated COUNT(*) per patient (0 when none)."""
    counted = queryset.order_by().values("patient_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _latest(queryset: QuerySet, column: str, *, by: str) -> Subquery:
    return Subquery(queryset.order_by(f"-{by}", "-pk").values(column)[:1])


def triage_queryset(user, *, show: str = "all", query: str = "", sort: str = "priority") -> QuerySet[Patient]:
    """The patients ``user`` may see, annotated and ordered for triage.

    Order by clinical priority: an open self-harm alert first, then risk (latest
    P(PHQ-9 >= 10), then predicted PHQ-9), then the longest time without a recording.
    The number of open alerts does not rank a patient: two alerts about a low score are
    less urgent than one patient at high risk.
    """
    open_alerts = Alert.objects.filter(patient=OuterRef("pk"), state=Alert.State.OPEN)
    scores = RiskScore.objects.filter(patient=OuterRef("pk"), scope=RiskScore.Scope.RECORDING)
    phq9 = Phq9Response.objects.filter(patient=OuterRef("pk"))
    recordings = Recording.objects.filter(patient=OuterRef("pk"))
    patients = (
        Patient.objects.filter(pk__in=patients_visible_to(user).values("pk"), active=True)
        .annotate(
            open_alerts=_count(open_alerts),
            self_harm_open=Exists(open_alerts.filter(kind__in=URGENT_KINDS)),
            prob_ge10=_latest(scores, "prob_ge10", by="at"),
            predicted_phq9=_latest(scores, "predicted_phq9", by="at"),
            calibrated=_latest(scores, "calibrated", by="at"),
            last_phq9_total=_latest(phq9, "total", by="answered_at"),
            last_phq9_at=_latest(phq9, "answered_at", by="answered_at"),
            last_recorded_at=Subquery(recordings.order_by().values("patient_id")
                                      .annotate(m=Max("recorded_at")).values("m")),
            rejected=_count(recordings.filter(status=Recording.Status.REJECTED)),
            failed=_count(recordings.filter(status=Recording.Status.FAILED)),
            missed_14d=F("reminder_schedule__missed_14d"),
            adherence_14d=F("reminder_schedule__adherence_14d"),
        )
    )
    first = [F("missed_14d").desc(nulls_last=True), F("adherence_14d").asc(nulls_last=True)] if sort == "missing" else []
    return _filtered(patients, show=show, query=query).order_by(
        *first, F("self_harm_open").desc(), F("prob_ge10").desc(nulls_last=True), F("predicted_phq9").desc(nulls_last=True),
        F("last_recorded_at").asc(nulls_first=True), "code",
    )


def _filtered(patients: QuerySet[Patient], *, show: str, query: str) -> QuerySet[Patient]:
    if query:
        patients = patients.filter(code__icontains=query.strip())
    overdue_before = timezone.now() - timedelta(days=settings.CADENCE_OVERDUE_DAYS)
    if show == "alerts":
        patients = patients.filter(open_alerts__gt=0)
    elif show == "overdue":
        patients = patients.filter(Q(last_recorded_at__lt=overdue_before) | Q(last_recorded_at__isnull=True))
    elif show == "problems":
        patients = patients.filter(Q(rejected__gt=0) | Q(failed__gt=0))
    elif show == "missing":  # missed scheduled recordings in the last two weeks (refreshed hourly and on edits)
        patients = patients.filter(missed_14d__gt=0)
    return patients


#: The PHQ-9 severity bands (clinic.phq9, stored in English) as the reader's language shows them.
SEVERITY_LABELS = {"minimal": pgettext_lazy("PHQ-9 severity", "minimal"), "mild": pgettext_lazy("PHQ-9 severity", "mild"),
                   "moderate": pgettext_lazy("PHQ-9 severity", "moderate"),
                   "moderately severe": pgettext_lazy("PHQ-9 severity", "moderately severe"),
                   "severe": pgettext_lazy("PHQ-9 severity", "severe")}


def severity_label(band: str | None) -> str:
    """A severity band in the reader's language (the stored English band when it has no translation)."""
    return str(SEVERITY_LABELS.get(band, band)) if band is not None else ""


@dataclass
class TriageRow:
    """One line of the triage list, ready for the template."""

    patient: Patient
    severity: str | None
    days_since_recording: int | None
    overdue: bool
    sparkline: list[float] = field(default_factory=list)
    alert_kinds: list[tuple[AlertKind, int]] = field(default_factory=list)

    @property
    def severity_label(self) -> str:
        return severity_label(self.severity)

    @cached_property
    def spark(self) -> Sparkline:
        return Sparkline(self.sparkline)


def sparkline_series(patient_ids: list[int], *, points: int = SPARKLINE_POINTS) -> dict[int, list[float]]:
    """The last ``points`` predicted PHQ-9 values of each patient, oldest first, in one query."""
    if not patient_ids:
        return {}
    recent = (
        RiskScore.objects.filter(patient_id__in=patient_ids, scope=RiskScore.Scope.RECORDING,
                                 predicted_phq9__isnull=False)
        .annotate(rank=Window(RowNumber(), partition_by=F("patient_id"), order_by=[F("at").desc(), F("pk").desc()]))
        .filter(rank__lte=points)
        .values_list("patient_id", "at", "predicted_phq9")
    )
    series: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
    for patient_id, at, value in recent:
        series[patient_id].append((at, value))
    return {pid: [v for _at, v in sorted(rows, key=lambda r: r[0])] for pid, rows in series.items()}


def _open_alert_kinds(patient_ids: list[int]) -> dict[int, list[tuple[AlertKind, int]]]:
    """(kind, priority) of each patient's open alerts, in one query; the kind (screening.alerts.kinds) gives
    the badge text, the full label and whether it is urgent."""
    kinds: dict[int, list[tuple[AlertKind, int]]] = defaultdict(list)
    rows = (Alert.objects.filter(patient_id__in=patient_ids, state=Alert.State.OPEN)
            .order_by("patient_id", "priority", "kind").values_list("patient_id", "kind", "priority").distinct())
    for patient_id, kind, priority in rows:
        kinds[patient_id].append((kind_spec(kind), priority))
    return kinds


def triage_rows(patients: list[Patient], *, now: datetime | None = None) -> list[TriageRow]:
    """Attach severity band, days since the last recording, sparkline and alert badges (2 queries)."""
    now = now or timezone.now()
    ids = [p.pk for p in patients]
    sparklines, kinds = sparkline_series(ids), _open_alert_kinds(ids)
    rows = []
    for p in patients:
        days = (now - p.last_recorded_at).days if p.last_recorded_at else None
        rows.append(TriageRow(
            patient=p,
            severity=severity_band(p.last_phq9_total) if p.last_phq9_total is not None else None,
            days_since_recording=days,
            overdue=days is None or days > settings.CADENCE_OVERDUE_DAYS,
            sparkline=sparklines.get(p.pk, []),
            alert_kinds=kinds.get(p.pk, []),
        ))
    return rows


def alerts_inbox(user, *, state: str = "active") -> QuerySet[Alert]:
    """Open and acknowledged alerts of the user's patients; self-harm always first, then priority."""
    alerts = Alert.objects.filter(patient__in=patients_visible_to(user).values("pk")).select_related(
        "patient", "acknowledged_by", "resolved_by")
    if state == "resolved":
        alerts = alerts.filter(state=Alert.State.RESOLVED)
    else:
        alerts = alerts.filter(state__in=OPEN_STATES)
    return alerts.annotate(
        self_harm_first=Case(When(kind__in=URGENT_KINDS, then=Value(0)), default=Value(1),
                             output_field=IntegerField()),
        open_first=Case(When(state=Alert.State.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField()),
    ).order_by("self_harm_first", "priority", "open_first", "-created_at")


def processing_summary(user, *, limit: int = 100) -> tuple[list[Recording], dict[str, int]]:
    """The latest uploads of the user's patients and the number of recordings in each status."""
    visible = recordings_visible_to(user)
    counts = {status: 0 for status in Recording.Status.values}
    for row in visible.order_by().values("status").annotate(n=Count("pk")):
        counts[row["status"]] = row["n"]
    recent = list(visible.select_related("patient").order_by("-uploaded_at", "-pk")[:limit])
    return recent, counts


def audit_events(*, patient_code: str = "", lead_of: QuerySet | None = None) -> QuerySet[AuditEvent]:
    """All events (administrators), or with ``lead_of`` (care-team ids) those about these teams' patients."""
    events = AuditEvent.objects.select_related("actor").order_by("-at", "-pk")
    if lead_of is not None:
        events = events.filter(patient_code__in=Patient.objects.filter(care_team__in=lead_of).values("code"))
    if patient_code:
        events = events.filter(patient_code__iexact=patient_code.strip())
    return events


def monitoring_teams() -> list[dict]:
    """What the Monitoring page shows per care team: figures of the latest run and daily trend lines."""
    from screening.selectors import monitoring_overview
    from web.dashboard.charts import TrendLine

    psi_limit = settings.CADENCE_MONITORING_PSI_THRESHOLD
    rows = []
    for entry in monitoring_overview():
        payloads = [snap.payload for snap in entry["history"]]
        latest = entry["latest"].payload if entry["latest"] else None
        # days whose periods had too few recordings for any PSI are left out, not drawn as 0
        max_psi = [max(values) for p in payloads if (values := [v for v in p["feature_psi"].values() if v is not None])]
        rejection = [p["rejection"]["rate"] for p in payloads if p["rejection"]["rate"] is not None]
        mae = [p["calibration"]["mae"] for p in payloads if p["calibration"]["mae"] is not None]
        rows.append({
            **entry,
            "payload": latest,
            "psi_rows": sorted(((k, v, v is not None and v >= psi_limit) for k, v in latest["feature_psi"].items()),
                               key=lambda row: -(row[1] or 0))[:15] if latest else [],
            "trends": [
                TrendLine(max_psi, low=0.0, high=0.5, threshold=psi_limit, label=_("Largest feature PSI")),
                TrendLine(rejection, low=0.0, high=1.0, threshold=settings.CADENCE_MONITORING_REJECTION_THRESHOLD,
                          label=_("Quality-rejection rate")),
                TrendLine(mae, low=0.0, high=10.0, threshold=settings.CADENCE_MONITORING_MAE_THRESHOLD,
                          label=_("MAE of predicted PHQ-9 (points)")),
                *_emotion_trends(payloads, psi_limit),
            ],
        })
    return rows


#: Fewest clinician labels of a class before its recall is plotted (the recall alert's own floor).
EMOTION_RECALL_MIN_LABELS = 10


def _emotion_trends(payloads: list[dict], psi_limit: float) -> list:
    """Daily trend lines of the emotion model, when one was active: its lowest per-class recall on clinician
    labels (classes with enough labels) and the PSI of its predicted class mix."""
    from web.dashboard.charts import TrendLine

    emotion = [p["emotion"] for p in payloads if p.get("emotion")]
    if not emotion:
        return []
    lowest = []
    for e in emotion:
        recalls = [v["recall"] for v in (e.get("recall") or {}).values()
                   if v["recall"] is not None and v["n"] >= EMOTION_RECALL_MIN_LABELS]
        if recalls:
            lowest.append(min(recalls))
    return [TrendLine(lowest, low=0.0, high=1.0, threshold=settings.CADENCE_MONITORING_EMOTION_RECALL_THRESHOLD,
                      label=_("Lowest emotion recall (classes with ≥ %(n)d labels)") % {"n": EMOTION_RECALL_MIN_LABELS}),
            TrendLine([e["psi"] for e in emotion if e.get("psi") is not None], low=0.0, high=0.5,
                      threshold=psi_limit, label=_("Emotion class-mix PSI"))]
