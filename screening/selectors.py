"""Screening reads: a patient's timeline (features, baselines, deviations, risk, PHQ-9)."""

import math

from django.conf import settings
from django.db.models import F, Prefetch, Window
from django.db.models.functions import RowNumber
from django.utils.translation import gettext as _

from clinic.models import CareTeam, Patient, Phq9Response, Recording
from clinic.processing.models import FeatureSet
from clinic.services import InputRejected
from screening.baselines.baseline import DEFAULT_TASK
from screening.baselines.segments import DeviceInfo, device_segments
from screening.models import (
    Alert,
    BaselineSnapshot,
    FeatureReliability,
    MonitoringSnapshot,
    OperatorAlert,
    RiskScore,
    ValidationReport,
)
from screening.reliability.icc import exceeds_mdc
from voice_features.registry import DASHBOARD_FEATURES


def _feature_set(recording: Recording) -> FeatureSet | None:
    sets = list(recording.feature_sets.all())
    return sets[0] if sets else None  # newest version first (FeatureSet ordering)


def _recording_row(recording: Recording) -> dict:
    fs = _feature_set(recording)
    return {
        "id": recording.pk,
        "recorded_at": recording.recorded_at.isoformat(),
        "status": recording.status,
        "status_reason": recording.status_reason,
        "status_code": recording.status_code,
        "task": recording.task,
        "task_label": recording.get_task_display(),
        "task_detail": recording.task_detail,
        "duration_s": recording.duration_s,
        "audio_deleted": recording.audio_deleted_at is not None,
        "feature_version": fs.version if fs else None,
        "features": fs.features if fs else None,
        "quality": fs.quality if fs else None,
        "speaker_similarity": fs.speaker_similarity if fs else None,
        "speaker_mismatch": fs.speaker_mismatch if fs else None,
        "emotion": fs.emotion if fs else None,
        "device_model": recording.device_model,
        "codec": recording.codec,
    }


def _with_segments(rows: list[dict], recordings: list[Recording], scores: list[RiskScore]) -> list[dict]:
    """Mark where a new phone (or codec family) starts a baseline segment, and why a score is pending."""
    done = [r for r in recordings if r.status == Recording.Status.DONE]
    segments = device_segments(DeviceInfo(str(r.pk), r.recorded_at, r.device_model, r.codec) for r in done)
    firsts = {index: rid for rid, (index, _) in reversed(list(segments.items()))}
    starts = {int(rid) for index, rid in firsts.items() if index > 0}
    own = [s for s in scores if s.scope == RiskScore.Scope.RECORDING]
    pending = {s.recording_id: s.deviations.get("reason", "") for s in own if s.predicted_phq9 is None}
    scored = {s.recording_id for s in own if s.predicted_phq9 is not None}
    early = {s.recording_id: s.early_estimate for s in own if s.predicted_phq9 is None and s.early_estimate}
    return [{**row, "new_phone": row["id"] in starts, "baseline_pending_reason": pending.get(row["id"], ""),
             "scored": row["id"] in scored, "early_estimate": early.get(row["id"])} for row in rows]


def _early_row(score: RiskScore) -> dict:
    """A pending score's early estimate (population-referenced; no personal baseline yet)."""
    estimate = score.early_estimate
    return {"at": score.at.isoformat(), "recording_id": score.recording_id, "task": score.task,
            "estimate_type": score.estimate_type, "reason": score.deviations.get("reason", ""),
            "predicted_phq9": estimate["predicted_phq9"], "predicted_phq9_low": estimate["interval"][0],
            "predicted_phq9_high": estimate["interval"][1], "prob_ge10": estimate.get("p_phq9_ge10"),
            "drivers": estimate.get("drivers", []), "calibrated": estimate.get("calibrated", False),
            "model_version": estimate.get("model_version", ""), "reference": estimate.get("reference", {})}


def _score_row(score: RiskScore) -> dict:
    return {
        "at": score.at.isoformat(),
        "recording_id": score.recording_id,
        "predicted_phq9": score.predicted_phq9,
        "predicted_phq9_low": score.predicted_phq9_low,
        "predicted_phq9_high": score.predicted_phq9_high,
        "prob_ge10": score.prob_ge10,
        "voice_deviation": score.voice_deviation,
        "deviations": score.deviations,
        "drivers": score.drivers,
        "calibrated": score.calibrated,
        "model_version": score.risk_model_version,
        "baseline_id": score.baseline_id,
        "task": score.task,
        "estimate_type": score.estimate_type,
    }


def _phq9_row(response: Phq9Response) -> dict:
    return {"id": response.pk, "answered_at": response.answered_at.isoformat(), "total": response.total,
            "severity": response.severity, "items": response.items, "difficulty": response.difficulty,
            "source": response.source}


def _alert_row(alert: Alert) -> dict:
    return {"id": alert.pk, "kind": alert.kind, "priority": alert.priority, "state": alert.state,
            "message": alert.message, "created_at": alert.created_at.isoformat()}


def emotion_stage() -> str:
    """"off" unless a trained speech-emotion model is active in the registry (then its version)."""
    # inference imports torch: loaded when asked, not by every web process
    from voice_features.emotion.inference import emotion_stage_status

    return emotion_stage_status(settings.EMOTION_MODEL_REGISTRY)


def emotion_top_class(emotion: dict | None) -> str | None:
    """The class with the highest mean posterior in a stored emotion result (None without one)."""
    posterior = (emotion or {}).get("mean_posterior") or {}
    return max(posterior, key=posterior.get) if posterior else None


class EmotionLabelRejected(InputRejected):
    """An emotion label refused: no active emotion model (409), or not one of its classes (400)."""


def emotion_label_choice(label: str) -> tuple[str, list[str]]:
    """The active emotion model's version and classes, once ``label`` is found among them: the one check of a
    clinician's label (API and dashboard). Raises :class:`EmotionLabelRejected` saying why."""
    model = emotion_model_classes()
    if model is None:
        raise EmotionLabelRejected(_("No speech-emotion model is active, so there are no emotion classes to label "
                                     "recordings with."), code="emotion_stage_off", http_status=409)
    version, choices = model
    if label not in choices:
        raise EmotionLabelRejected(_("“%(label)s” is not a class of the active emotion model %(version)s; choose one "
                                     "of: %(choices)s.") % {"label": label, "version": version,
                                                            "choices": ", ".join(choices)}, code="invalid_label")
    return version, choices


def emotion_model_classes() -> tuple[str, list[str]] | None:
    """The active speech-emotion model's version and classes (what a clinician may label a recording with);
    None while the stage is off."""
    # inference imports torch: loaded when asked, not by every web process
    from voice_features.emotion import registry
    from voice_features.emotion.inference import resolve_registry

    root = resolve_registry(settings.EMOTION_MODEL_REGISTRY)
    version = registry.active_version(root)
    if version is None:
        return None
    return version, [str(label) for label in registry.read_metadata(root, version)["labels"]]


def patient_timeline(*, patient: Patient) -> dict:
    """Everything over time for one patient, oldest first; a fixed number of queries."""
    recordings = (
        Recording.objects.filter(patient=patient).order_by("recorded_at")
        .prefetch_related(Prefetch("feature_sets", queryset=FeatureSet.objects.order_by("-computed_at")))
    )
    recordings = list(recordings)
    scores = list(RiskScore.objects.filter(patient=patient).order_by("at"))
    baselines = BaselineSnapshot.objects.filter(patient=patient).order_by("built_at")
    timeline = {
        "patient": {"id": patient.pk, "code": patient.code, "sex": patient.sex, "birth_year": patient.birth_year,
                    "language": patient.language, "enrolled_on": patient.enrolled_on.isoformat()},
        "recordings": _with_segments([_recording_row(r) for r in recordings], recordings, scores),
        "baselines": [{"id": b.pk, "built_at": b.built_at.isoformat(), "n_recordings": b.n_recordings,
                       "task": b.task, "features": b.payload.get("features", {})} for b in baselines],
        "scores": [_score_row(s) for s in scores
                   if s.scope == RiskScore.Scope.RECORDING and s.predicted_phq9 is not None],
        "baseline_pending_recordings": sum(1 for s in scores
                                           if s.scope == RiskScore.Scope.RECORDING and s.predicted_phq9 is None),
        "early_estimates": [_early_row(s) for s in scores if s.scope == RiskScore.Scope.RECORDING
                            and s.predicted_phq9 is None and s.early_estimate],
        "emotion_stage": emotion_stage(),
        "weekly": [_score_row(s) for s in scores if s.scope == RiskScore.Scope.WEEK],
        "phq9": [_phq9_row(p) for p in Phq9Response.objects.filter(patient=patient).order_by("answered_at")],
        "alerts": [_alert_row(a) for a in Alert.objects.filter(patient=patient).order_by("-created_at")],
    }
    timeline["feature_changes"] = feature_changes(timeline)
    return timeline


def _finite(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def feature_changes(timeline: dict) -> list[dict]:
    """Each key feature's latest change from the patient's free-speech baseline, judged against the minimal
    detectable change (MDC95, ``manage.py feature_reliability``) of the latest recording's task: the verdict the
    dashboard shows and the API serves (``beyond_mdc`` None while the reliability is not measured)."""
    baselines = [b for b in timeline["baselines"] if b.get("task", DEFAULT_TASK) == DEFAULT_TASK]
    baseline = baselines[-1]["features"] if baselines else {}
    done = [r for r in timeline["recordings"] if r["features"] and r["status"] == "done"]
    latest = done[-1] if done else None
    reliability = ({row.feature: row for row in FeatureReliability.objects.filter(task=latest["task"])}
                   if latest else {})
    changes = []
    for name, label, unit in DASHBOARD_FEATURES:
        value = _finite(latest["features"].get(name)) if latest else None
        median = _finite((baseline.get(name) or {}).get("median"))
        change = None if value is None or median is None else value - median
        row = reliability.get(name)
        beyond = exceeds_mdc(change, row.mdc95 if row else None)
        if change is None:
            note = ""
        elif beyond is None:
            note = f"Latest change from baseline {change:+.3g} {unit}; its test–retest reliability is not measured yet."
        else:
            verdict = "beyond" if beyond else "within"
            note = (f"Latest change from baseline {change:+.3g} {unit}: {verdict} the minimal detectable change "
                    f"(MDC95 {row.mdc95:.3g} {unit}, ICC {row.icc:.2f}).")
        changes.append({"feature": name, "label": label, "unit": unit, "change": change,
                        "mdc95": row.mdc95 if beyond is not None else None,
                        "icc": row.icc if beyond is not None else None, "beyond_mdc": beyond, "note": note})
    return changes


#: Who may read and request the cross-team report: staff, or a user holding this permission
#: (e.g. through the "research" group, see docs/api.md).
CROSS_TEAM_REPORT_PERMISSION = "screening.view_cross_team_report"


def report_scope(user) -> list[int] | None:
    """The care teams whose validation report ``user`` reads: None for every team (research role),
    else their own teams' ids (an empty list: no team, so no report)."""
    if user.is_staff or user.has_perm(CROSS_TEAM_REPORT_PERMISSION):
        return None
    return sorted(user.care_teams.values_list("pk", flat=True))


def _reports_of_scope(care_team_ids: list[int] | None):
    reports = ValidationReport.objects.order_by("-created_at", "-pk")
    if care_team_ids is None:
        return reports.filter(care_team_ids__isnull=True)
    return reports.filter(care_team_ids=sorted(care_team_ids))


def latest_validation_report(care_team_ids: list[int] | None):
    """The newest report built for exactly this scope, or None."""
    return _reports_of_scope(care_team_ids).first()


def validation_report_of_scope(care_team_ids: list[int] | None, report_id: int):
    """Report ``report_id`` if it was built for exactly this scope, else None (another scope's report is not
    the reader's to see)."""
    return _reports_of_scope(care_team_ids).filter(pk=report_id).first()


def monitoring_overview(*, runs: int = 30) -> list[dict]:
    """Per care team: the latest monitoring snapshot, its last ``runs`` (oldest first) and open operator alerts."""
    history: dict[int, list] = {}
    latest_first = MonitoringSnapshot.objects.annotate(
        rank=Window(RowNumber(), partition_by=[F("care_team_id")], order_by=F("computed_at").desc()),
    ).filter(rank__lte=runs).order_by("-computed_at")
    for snap in latest_first:
        history.setdefault(snap.care_team_id, []).insert(0, snap)
    alerts: dict[int, list] = {}
    for alert in OperatorAlert.objects.filter(state=OperatorAlert.State.OPEN):
        alerts.setdefault(alert.care_team_id, []).append(alert)
    return [{"team": team, "latest": history[team.pk][-1] if history.get(team.pk) else None,
             "history": history.get(team.pk, []), "alerts": alerts.get(team.pk, [])}
            for team in CareTeam.objects.order_by("name")]
