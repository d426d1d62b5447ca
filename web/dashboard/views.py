"""Clinician dashboard: thin views over the dashboard selectors and services."""

import math
from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.dates import MONTHS_3
from django.utils.formats import get_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST
from kombu.exceptions import OperationalError as KombuOperationalError

from clinic import services as clinic_services
from clinic.accounts import AccountError, lead_team_ids, staff_language_set
from clinic.audit import audit_record, audit_record_many
from clinic.languages import active_language
from clinic.models import EmotionLabel, Patient
from clinic.phq9 import MAX_TOTAL, SCREENING_CUTOFF, SEVERITY_BANDS, is_safety_signal
from clinic.reasons import english_reader, reason_text
from clinic.selectors import patients_visible_to
from screening.alerts.services import AlertTransitionError, alert_acknowledge, alert_resolve
from screening.baselines.baseline import DEFAULT_TASK
from screening.baselines.segments import NEW_PHONE
from screening.localize import said_again
from screening.models import Alert
from screening.selectors import (
    EmotionLabelRejected,
    emotion_label_choice,
    emotion_model_classes,
    emotion_top_class,
    latest_validation_report,
    patient_timeline,
    report_scope,
    validation_report_of_scope,
)
from screening.tasks import validation_report_request
from screening.validation.sections import section_overview
from voice_features.registry import DEPRESSION_DIRECTIONS, FEATURES, withheld_reason_fields
from web.dashboard import selectors
from web.dashboard.forms import (
    SEX_LABELS,
    TIME_ZONES,
    AlertNoteForm,
    PatientDetailsForm,
    Phq9Form,
    TriageFilterForm,
)
from web.dashboard.outreach_views import adherence_report, outreach_health, patient_outreach_context
from web.dashboard.selectors import severity_label
from web.locale import SESSION_KEY

TRIAGE_PAGE_SIZE = 100
#: Most recent processed recordings offered for emotion labelling on the patient page.
EMOTION_LABEL_ROWS = 20
AUDIT_PAGE_SIZE = 50
#: The dashboard's key voice features and their units (voice_features.registry, plain Python in English) as the
#: reader's language names them; a feature or unit not listed here is shown as the registry has it.
FEATURE_LABELS = {"speech_rate_syl_s": gettext_lazy("Speech rate"), "articulation_rate_syl_s": gettext_lazy(
    "Articulation rate"), "pause_rate_per_min": gettext_lazy("Pause frequency"), "pause_mean_s": gettext_lazy(
    "Mean pause"), "speech_rate_cv": gettext_lazy("Speech-rate variability"), "f0_range_st": gettext_lazy("F0 range"),
    "intensity_mean_db": gettext_lazy("Loudness")}
UNIT_LABELS = {"syllables/s": gettext_lazy("syllables/s"), "pauses/min": gettext_lazy("pauses/min"),
               "semitones": gettext_lazy("semitones")}

#: Why a score moved, as the reader's language says it: the stored driver sentence is English
#: (screening.risk_model.model._driver_text: the feature's direction phrase + " than usual (z = …)"); keyed
#: by that phrase (voice_features.registry), both directions. A phrase not listed is shown as stored.
DRIVER_SENTENCES = {
    "speech slower": gettext_lazy("speech slower than usual"), "speech faster": gettext_lazy("speech faster than usual"),
    "articulation slower": gettext_lazy("articulation slower than usual"),
    "articulation faster": gettext_lazy("articulation faster than usual"),
    "more frequent pauses": gettext_lazy("more frequent pauses than usual"),
    "fewer pauses": gettext_lazy("fewer pauses than usual"),
    "longer pauses": gettext_lazy("longer pauses than usual"), "shorter pauses": gettext_lazy("shorter pauses than usual"),
    "more time in pauses": gettext_lazy("more time in pauses than usual"),
    "less time in pauses": gettext_lazy("less time in pauses than usual"),
    "speech rate more uneven": gettext_lazy("speech rate more uneven than usual"),
    "speech rate steadier": gettext_lazy("speech rate steadier than usual"),
    "pitch range narrower": gettext_lazy("pitch range narrower than usual"),
    "pitch range wider": gettext_lazy("pitch range wider than usual"),
    "intonation flatter": gettext_lazy("intonation flatter than usual"),
    "intonation livelier": gettext_lazy("intonation livelier than usual"),
    "voice quieter": gettext_lazy("voice quieter than usual"), "voice louder": gettext_lazy("voice louder than usual"),
}


def _driver_text(driver: dict) -> str:
    """A stored driver's sentence in the reader's language, its z with the reader's decimal mark."""
    direction = DEPRESSION_DIRECTIONS.get(driver.get("feature"))
    z = driver.get("z")
    if direction is None or not isinstance(z, int | float) or not math.isfinite(z):
        return driver.get("text", "")
    sentence = DRIVER_SENTENCES.get(direction.phrase if z >= 0 else direction.opposite)
    if sentence is None:
        return driver.get("text", "")
    return _("%(sentence)s (z = %(z)s)") % {"sentence": sentence,
                                             "z": f"{abs(z):.1f}".replace(".", get_format("DECIMAL_SEPARATOR"))}

#: What a codec measurement checks (voice_features.codec_trust.TOLERANCES, the ``what`` of a withheld feature's
#: reason) as the reader's language says it inside that sentence (with its article where the language needs one).
WITHHELD_MEASURES = {
    "jitter": pgettext_lazy("codec measurement", "jitter"), "shimmer": pgettext_lazy("codec measurement", "shimmer"),
    "HNR": pgettext_lazy("codec measurement", "HNR"), "CPP": pgettext_lazy("codec measurement", "CPP"),
    "F1": pgettext_lazy("codec measurement", "F1"), "F2": pgettext_lazy("codec measurement", "F2"),
    "F3": pgettext_lazy("codec measurement", "F3"),
    "the formant bandwidths": pgettext_lazy("codec measurement", "the formant bandwidths"),
    "the MFCC means": pgettext_lazy("codec measurement", "the MFCC means"),
    "the MFCC SDs": pgettext_lazy("codec measurement", "the MFCC SDs"),
}


def _withheld_reason(reason: str) -> str:
    """Why a feature was left out, in the reader's language: the stored English reason's template
    (voice_features.registry.WITHHELD_TEMPLATES, in the catalogues) filled again with its values, figures with the
    reader's decimal mark; in English, or for a reason no template of this version fits, the stored sentence."""
    fields = withheld_reason_fields(reason)
    if fields is None or english_reader():
        return reason
    template, params = fields
    if "what" in params:
        if params["what"] not in WITHHELD_MEASURES:
            return reason
        params = params | {"what": str(WITHHELD_MEASURES[params["what"]])}
    mark = get_format("DECIMAL_SEPARATOR")
    params |= {k: params[k].replace(".", mark) for k in ("moved", "limit", "rate") if k in params}
    return said_again(template, params, reason, value=str)


#: States and codes the dashboard's templates show (stored and served as these English codes; CSS classes keep them),
#: as the reader's language says them: the templates write ``{% translate code context "<context>" %}``, and this
#: table puts each code in the catalogues under its context (a code not listed is shown as it is).
STATE_LABELS = {
    "recording status": {
        "received": pgettext_lazy("recording status", "received"),
        "processing": pgettext_lazy("recording status", "processing"),
        "done": pgettext_lazy("recording status", "done"),
        "rejected": pgettext_lazy("recording status", "rejected"),
        "failed": pgettext_lazy("recording status", "failed"),
    },
    "alert state": {
        "open": pgettext_lazy("alert state", "open"),
        "acknowledged": pgettext_lazy("alert state", "acknowledged"),
        "resolved": pgettext_lazy("alert state", "resolved"),
    },
    "delivery state": {
        "pending": pgettext_lazy("delivery state", "pending"),
        "sending": pgettext_lazy("delivery state", "sending"),
        "retrying": pgettext_lazy("delivery state", "retrying"),
        "sent": pgettext_lazy("delivery state", "sent"),
        "failed": pgettext_lazy("delivery state", "failed"),
        "cancelled": pgettext_lazy("delivery state", "cancelled"),
    },
    "audit action": {
        "read": pgettext_lazy("audit action", "read"), "create": pgettext_lazy("audit action", "create"),
        "update": pgettext_lazy("audit action", "update"), "export": pgettext_lazy("audit action", "export"),
        "delete": pgettext_lazy("audit action", "delete"), "denied": pgettext_lazy("audit action", "denied"),
        "erase": pgettext_lazy("audit action", "erase"), "login": pgettext_lazy("audit action", "login"),
        "logout": pgettext_lazy("audit action", "logout"),
    },
    "delivery channel": {
        "email": pgettext_lazy("delivery channel", "email"),
        "webhook": pgettext_lazy("delivery channel", "webhook"),
        "push": pgettext_lazy("delivery channel", "push"),
    },
    "delivery purpose": {  # outreach.models.Delivery.Purpose's labels
        "alert": pgettext_lazy("delivery purpose", "alert"),
        "escalation": pgettext_lazy("delivery purpose", "escalation"),
        "reminder": pgettext_lazy("delivery purpose", "reminder"),
        "re-engagement": pgettext_lazy("delivery purpose", "re-engagement"),
    },
    "validation report trigger": {  # screening.models.ValidationReport.trigger: who asked for the report
        "manual": pgettext_lazy("validation report trigger", "manual"),
        "weekly": pgettext_lazy("validation report trigger", "weekly"),
        "api": pgettext_lazy("validation report trigger", "api"),
        "dashboard": pgettext_lazy("validation report trigger", "dashboard"),
    },
    "baseline pending": {
        "new phone": pgettext_lazy("baseline pending", "new phone"),
        "first recordings": pgettext_lazy("baseline pending", "first recordings"),
    },
}

#: The recording tasks (clinic.protocols, stored in English) as the reader's language names them.
TASK_LABELS = {"read_passage": gettext_lazy("Read passage"), "free_speech": gettext_lazy("Free speech"),
               "sustained_vowel": gettext_lazy("Sustained vowel"), "counting": gettext_lazy("Counting")}


def _feature_label(name: str, label: str) -> str:
    return str(FEATURE_LABELS.get(name, label))


def _unit_label(unit: str) -> str:
    return str(UNIT_LABELS.get(unit, unit))


def _mdc_note(change: dict) -> str:
    """screening.selectors.feature_changes' verdict in the reader's language (the API keeps its English note)."""
    if change["change"] is None:
        return ""
    unit = _unit_label(change["unit"])
    mark = get_format("DECIMAL_SEPARATOR")
    figures = {"change": f"{change['change']:+.3g}".replace(".", mark), "unit": unit}
    if change["beyond_mdc"] is None:
        return _("Latest change from baseline %(change)s %(unit)s; its test–retest reliability is not measured "
                 "yet.") % figures
    figures |= {"mdc": f"{change['mdc95']:.3g}".replace(".", mark), "icc": f"{change['icc']:.2f}".replace(".", mark)}
    if change["beyond_mdc"]:
        return _("Latest change from baseline %(change)s %(unit)s: beyond the minimal detectable change (MDC95 "
                 "%(mdc)s %(unit)s, ICC %(icc)s).") % figures
    return _("Latest change from baseline %(change)s %(unit)s: within the minimal detectable change (MDC95 "
             "%(mdc)s %(unit)s, ICC %(icc)s).") % figures


@require_GET
@login_required
def triage(request: HttpRequest) -> HttpResponse:
    form = TriageFilterForm(request.GET or None)
    show, query = form.cleaned() if form.is_bound else ("all", "")
    sort = form.sort_order() if form.is_bound else "priority"
    page = Paginator(selectors.triage_queryset(request.user, show=show, query=query, sort=sort),
                     TRIAGE_PAGE_SIZE).get_page(
        request.GET.get("page"))
    patients = list(page.object_list)
    audit_record_many(request=request, resource="triage", patients=patients)
    return render(request, "dashboard/triage.html", {
        "form": form, "page": page, "rows": selectors.triage_rows(patients), "show": show, "query": query,
        "total": page.paginator.count, "nav": "triage",
    })


def _visible_patient(request: HttpRequest, patient_id: int) -> Patient:
    return get_object_or_404(patients_visible_to(request.user), pk=patient_id)


def _finite(value):
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


def _default_baseline(timeline: dict) -> dict | None:
    """The latest baseline of the default task (free speech): the band the plots show."""
    default = [b for b in timeline["baselines"] if b.get("task", DEFAULT_TASK) == DEFAULT_TASK]
    return default[-1] if default else None


def _new_phone(recordings: list[dict]) -> dict | None:
    """The latest new-phone segment start (recordings newest first), how many of its recordings wait for its
    baseline, and whether the baseline is complete (a recording since has a score)."""
    start = next((r for r in recordings if r["new_phone"]), None)
    if start is None:
        return None
    since = [r for r in recordings if r["recorded"] >= start["recorded"]]
    return {"start": start, "pending": sum(1 for r in since if r["baseline_pending_reason"] == NEW_PHONE),
            "complete": any(r["scored"] for r in since)}


def _plot_words() -> dict:
    """The sentences plots.js writes into the charts (their titles for screen readers, legends, axes), in the
    reader's language; ``{name}`` marks what the script fills in."""
    return {
        "months": [str(MONTHS_3[m]).capitalize() for m in range(1, 13)],
        "risk_summary": _("Predicted PHQ-9 over time: {scores} scores, {answers} PHQ-9 answers"),
        "risk_latest": _("; latest predicted {value}"),
        "risk_point": _("predicted PHQ-9"),
        "legend": [_("Predicted PHQ-9"), _("Interval"), "P(PHQ-9 ≥ 10)", _("PHQ-9 answered")],
        "feature_summary": _("{label}: {n} measurements"),
        "feature_baseline": _(", baseline {median} ± {scale} {unit}"),
        "feature_no_baseline": _(", no baseline"),
        "no_data": _("No measurements yet"),
    }


def _plot_data(timeline: dict) -> dict:
    """What the patient-page plots need, and nothing else (sent as JSON to plots.js)."""
    baseline = (_default_baseline(timeline) or {}).get("features", {})
    # A rejected recording keeps its measured features for the record, but they are not the patient's voice
    # as analysed (too little speech, clipping ...): not plotted.
    done = [r for r in timeline["recordings"] if r["features"] and r["status"] == "done"]
    features = {}
    for name, label, unit in selectors.KEY_FEATURES:
        stats = baseline.get(name) or {}
        features[name] = {
            "label": _feature_label(name, label), "unit": _unit_label(unit),
            "points": [{"t": r["recorded_at"], "v": _finite(r["features"].get(name))} for r in done],
            "baseline": {"median": _finite(stats.get("median")), "scale": _finite(stats.get("scale"))}
            if stats else None,
        }
    return {
        "scores": [{"t": s["at"], "v": s["predicted_phq9"], "lo": s["predicted_phq9_low"],
                    "hi": s["predicted_phq9_high"], "p": s["prob_ge10"]} for s in timeline["scores"]],
        "phq9": [{"t": p["answered_at"], "v": p["total"], "severity": severity_label(p["severity"])}
                 for p in timeline["phq9"]],
        "features": features,
        "phq9_scale": {"max": MAX_TOTAL, "cutoff": SCREENING_CUTOFF, "bands": [low for low, _band in SEVERITY_BANDS]},
        "text": _plot_words(),
    }


def _feature_panels(timeline: dict) -> list[dict]:
    """Each key feature with its latest change from baseline, judged against the minimal detectable change
    (the verdict of :func:`screening.selectors.feature_changes`, which the API serves too)."""
    return [{"name": c["feature"], "label": _feature_label(c["feature"], c["label"]), "unit": _unit_label(c["unit"]),
             "mdc_note": _mdc_note(c), "beyond_mdc": c["beyond_mdc"]} for c in timeline["feature_changes"]]


def _withheld(quality: dict) -> list[dict]:
    """Features stored as null on purpose (codec or task), grouped by their reason, labels in registry order."""
    reasons = quality.get("withheld_features") or {}
    grouped: dict[str, list[str]] = {}
    for feature in FEATURES:
        if feature.key in reasons:
            grouped.setdefault(_withheld_reason(reasons[feature.key]), []).append(_feature_label(feature.key, feature.label))
    return [{"reason": reason, "features": labels} for reason, labels in grouped.items()]


def _recording_view(row: dict) -> dict:
    quality = row["quality"] or {}
    clipping = _finite(quality.get("clipping_fraction"))
    return {**row, "recorded": datetime.fromisoformat(row["recorded_at"]),
            "status_reason": reason_text(row.get("status_code"), row["status_reason"]),
            "task_label": str(TASK_LABELS.get(row.get("task"), row.get("task_label", ""))),
            "speech_s": _finite(quality.get("speech_s")), "snr_db": _finite(quality.get("snr_db")),
            "clipping_pct": None if clipping is None else 100 * clipping, "withheld": _withheld(quality),
            "withheld_count": len(quality.get("withheld_features") or {})}


def _emotion_labelling(patient: Patient, recordings: list[dict], user) -> dict | None:
    """The patient page's emotion-label form: the latest processed recordings, the model's top class and the
    signed-in clinician's own label for each; None while no emotion model is active."""
    model = emotion_model_classes()
    if model is None:
        return None
    version, choices = model
    mine = dict(EmotionLabel.objects.filter(recording__patient=patient, labelled_by=user)
                .values_list("recording_id", "label")) if user is not None else {}
    rows = []
    for r in [r for r in recordings if r["status"] == "done"][:EMOTION_LABEL_ROWS]:
        rows.append({"id": r["id"], "recorded": r["recorded"], "mine": mine.get(r["id"]),
                     "predicted": emotion_top_class(r["emotion"])})
    return {"version": version, "choices": choices, "rows": rows}


def _localized_alerts(rows: list[dict]) -> list[dict]:
    """The timeline's alert rows with each message in the clinician's language (Alert.localized_message)."""
    alerts = Alert.objects.in_bulk([row["id"] for row in rows])
    return [{**row, "localized_message": alerts[row["id"]].localized_message()} for row in rows]


def _patient_context(patient: Patient, phq9_form: Phq9Form, user=None, *, details_form=None) -> dict:
    timeline = patient_timeline(patient=patient)
    latest = timeline["scores"][-1] if timeline["scores"] else None
    if latest is not None:
        latest = {**latest, "drivers": [{**d, "text": _driver_text(d)} for d in latest.get("drivers") or []]}
    # The newest early estimate made after the latest personal score (first recordings, or a new phone).
    early = [e for e in timeline["early_estimates"] if latest is None or e["at"] > latest["at"]]
    recordings = [_recording_view(r) for r in reversed(timeline["recordings"])]
    return {
        "patient": patient, "sex_label": SEX_LABELS.get(patient.sex, patient.get_sex_display()), "timeline": timeline, "latest": latest, "plot_data": _plot_data(timeline),
        "latest_early": early[-1] if early else None,
        "recordings": recordings,
        "mismatches": [r for r in recordings if r["speaker_mismatch"]],
        "phq9_history": [{**q, "answered": datetime.fromisoformat(q["answered_at"]),
                          "severity_label": severity_label(q["severity"])}
                         for q in reversed(timeline["phq9"])],
        "open_alerts": _localized_alerts([a for a in timeline["alerts"] if a["state"] != Alert.State.RESOLVED]),
        "baseline": _default_baseline(timeline), "new_phone": _new_phone(recordings),
        "phq9_form": phq9_form, "feature_panels": _feature_panels(timeline), "nav": "triage",
        "retention_days": settings.CADENCE_AUDIO_RETENTION_DAYS,
        "emotion_labelling": _emotion_labelling(patient, recordings, user),
        "details_form": details_form or PatientDetailsForm(patient=patient), "time_zones": TIME_ZONES,
        "phone_linked": bool(recordings) or patient.enrolment_links.filter(used_at__isnull=False).exists(),
    } | patient_outreach_context(patient)


@require_GET
@login_required
def patient_detail(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _visible_patient(request, patient_id)
    audit_record(request=request, action="read", resource="patient_dashboard", patient=patient, object_id=patient.pk)
    context = _patient_context(patient, Phq9Form(), request.user) | {"just_added": request.GET.get("new") == "1"}
    return render(request, "dashboard/patient.html", context)


@require_POST
@login_required
def patient_phq9_create(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _visible_patient(request, patient_id)
    form = Phq9Form(request.POST)
    if not form.is_valid():
        audit_record(request=request, action="read", resource="patient_dashboard", patient=patient,
                     object_id=patient.pk)
        context = _patient_context(patient, form, request.user)
        return render(request, "dashboard/patient.html", context, status=400)
    response = clinic_services.phq9_record(patient=patient, items=form.items, answered_at=form.cleaned_data[
        "answered_at"], difficulty=form.cleaned_data.get("difficulty"), entered_by=request.user)
    audit_record(request=request, action="create", resource="phq9", patient=patient, object_id=response.pk)
    messages.success(request, _("PHQ-9 recorded: total %(total)s (%(severity)s).") % {
        "total": response.total, "severity": severity_label(response.severity)})
    if is_safety_signal(response.item9):
        messages.warning(request, _("Item 9 was answered above 0: a high-priority self-harm alert has been raised "
                                    "for the care team. Contact the patient today."))
    return redirect(reverse("dashboard:patient", args=[patient.pk]) + "#phq9")


@require_POST
@login_required
def patient_emotion_label(request: HttpRequest, patient_id: int, recording_id: int) -> HttpResponse:
    """Save the signed-in clinician's emotion label for one of the patient's recordings (replacing theirs)."""
    patient = _visible_patient(request, patient_id)
    recording = get_object_or_404(patient.recordings, pk=recording_id)
    back = redirect(reverse("dashboard:patient", args=[patient.pk]) + "#emotion-labels")
    label = request.POST.get("label", "")
    try:
        emotion_label_choice(label)
    except EmotionLabelRejected as exc:
        messages.error(request, exc.message)
        return back
    with transaction.atomic():
        row, created = clinic_services.emotion_label_set(recording=recording, label=label, labelled_by=request.user)
        audit_record(request=request, action="create" if created else "update", resource="emotion_label",
                     patient=patient, object_id=recording.pk)
    messages.success(request, _("Emotion label saved: %(label)s for the recording of %(at)s.") % {
        "label": row.label, "at": f"{recording.recorded_at:%Y-%m-%d %H:%M}"})
    return back


@require_GET
@login_required
def alerts(request: HttpRequest) -> HttpResponse:
    state = "resolved" if request.GET.get("state") == "resolved" else "active"
    page = Paginator(selectors.alerts_inbox(request.user, state=state), 100).get_page(request.GET.get("page"))
    items = list(page.object_list)
    audit_record_many(request=request, resource="alerts", patients=list({a.patient_id: a.patient for a in items}
                                                                        .values()))
    return render(request, "dashboard/alerts.html", {"page": page, "alerts": items, "state": state,
                                                     "note_form": AlertNoteForm(), "nav": "alerts"})


def _alert_action(request: HttpRequest, alert_id: int, action) -> HttpResponse:
    alert = get_object_or_404(Alert.objects.select_related("patient").filter(
        patient__in=patients_visible_to(request.user).values("pk")), pk=alert_id)
    form = AlertNoteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        action(alert=alert, user=request.user, note=note)
    except AlertTransitionError as exc:
        messages.error(request, str(exc))
    else:
        audit_record(request=request, action="update", resource="alert", patient=alert.patient, object_id=alert.pk)
        done = {Alert.State.ACKNOWLEDGED: _("Alert for %(code)s acknowledged."),
                Alert.State.RESOLVED: _("Alert for %(code)s resolved.")}.get(alert.state)
        messages.success(request, (done or f"Alert for %(code)s {alert.get_state_display().lower()}.") % {
            "code": alert.patient.code})
    return redirect(request.POST.get("next") if _safe_next(request) else reverse("dashboard:alerts"))


def _safe_next(request: HttpRequest) -> bool:
    target = request.POST.get("next")
    return bool(target) and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})


@require_POST
@login_required
def alert_acknowledge_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _alert_action(request, alert_id, alert_acknowledge)


@require_POST
@login_required
def alert_resolve_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _alert_action(request, alert_id, alert_resolve)


@require_GET
@login_required
def validation_report(request: HttpRequest) -> HttpResponse:
    scope = report_scope(request.user)
    report = latest_validation_report(scope) if scope != [] else None
    audit_record(request=request, action="read", resource="validation_report", object_id=report.pk if report else "")
    return render(request, "dashboard/validation.html", {
        "report": report,
        "sections": _section_list(report),
        "can_generate": scope != [], "cross_team": scope is None, "nav": "validation",
        "adherence_summary": adherence_report(scope)})


def _section_list(report) -> list[dict[str, str]]:
    """The report's sections with their headings in the reader's language. Why a section has too little data is
    stored in English (the JSON): an English reader sees it, another reader "insufficient data" in their language
    (the framed page, built in their language, says why)."""
    if report is None:
        return []
    sections = section_overview(report.payload, _)
    if not english_reader():
        for section in sections:
            if section["message"]:
                section["message"] = _("insufficient data")
    return sections


#: The report page's own policy: it is framed by the validation page (same origin), runs nothing, loads nothing,
#: and its one inline <style> block and the plots' SVG style attributes are allowed (the dashboard's policy forbids
#: inline styles, which is why the page is not put in the dashboard's own document).
REPORT_PAGE_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
                      "form-action 'none'; frame-ancestors 'self'; sandbox")


@require_GET
@login_required
@xframe_options_sameorigin
def validation_report_page(request: HttpRequest, report_id: int) -> HttpResponse:
    """The report's self-contained page, in the reader's language, for the validation page's frame: the newest
    report or an older one of the reader's own scope; 404 for any other."""
    scope = report_scope(request.user)
    report = validation_report_of_scope(scope, report_id) if scope != [] else None
    if report is None:
        audit_record(request=request, action="denied", resource="validation_report", object_id=report_id)
        raise Http404
    audit_record(request=request, action="read", resource="validation_report", object_id=report.pk)
    response = HttpResponse(_report_page(report), content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = REPORT_PAGE_POLICY
    return response


def _report_page(report) -> str:
    """The report's page in the reader's language where the worker built one (``html_i18n``), else the English
    page (reports built before the pages were kept per language, or a language without one)."""
    if report is None:
        return ""
    language = active_language()
    return (report.html_i18n or {}).get(language) or report.html


@require_POST
@login_required
def validation_report_generate(request: HttpRequest) -> HttpResponse:
    """Queue a report for the worker; building one takes minutes and never runs in a web request."""
    scope = report_scope(request.user)
    if scope == []:
        audit_record(request=request, action="denied", resource="validation_report")
        messages.error(request, _("You are in no care team, so there is no report to generate for you."))
        return redirect("dashboard:validation")
    try:
        validation_report_request(care_team_ids=scope, trigger="dashboard")
    except KombuOperationalError:  # the broker is unreachable; the message names no internals
        messages.error(request, _("The report could not be queued: the task queue is unavailable. Try again "
                                  "later."))
    else:
        audit_record(request=request, action="create", resource="validation_report")
        messages.success(request, _("A new validation report has been queued; it appears here when the worker has "
                                    "built it (usually within a few minutes)."))
    return redirect("dashboard:validation")


@require_GET
@login_required
def processing(request: HttpRequest) -> HttpResponse:
    recent, counts = selectors.processing_summary(request.user)
    for recording in recent:
        recording.status_reason_shown = reason_text(recording.status_code, recording.status_reason)
    audit_record_many(request=request, resource="processing",
                      patients=list({r.patient_id: r.patient for r in recent}.values()))
    return render(request, "dashboard/processing.html", {"recordings": recent, "counts": counts,
                                                         "nav": "processing"})


@require_GET
@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    lead_of = None if request.user.is_staff else lead_team_ids(request.user)
    if lead_of is not None and not lead_of.exists():
        raise PermissionDenied(_("The audit log is for administrators and care-team leads."))
    code = request.GET.get("patient", "").strip()[:64]
    page = Paginator(selectors.audit_events(patient_code=code, lead_of=lead_of), AUDIT_PAGE_SIZE).get_page(
        request.GET.get("page"))
    audit_record(request=request, action="read", resource="audit_log")
    return render(request, "dashboard/audit.html", {"page": page, "patient_code": code, "nav": "audit"})


@require_GET
@login_required
def monitoring(request: HttpRequest) -> HttpResponse:
    """Model monitoring for operators (staff): aggregates only, no patient appears on this page."""
    if not request.user.is_staff:
        raise PermissionDenied(_("Model monitoring is for administrators."))
    return render(request, "dashboard/monitoring.html", {"teams": selectors.monitoring_teams(), "nav": "monitoring",
                                                         "outreach": outreach_health()})


@require_POST
@login_required
def own_language(request: HttpRequest) -> HttpResponse:
    """A clinician chooses the language of their dashboard and of the e-mails they receive."""
    try:
        profile = staff_language_set(user=request.user, language=request.POST.get("language", ""))
        request.session[SESSION_KEY] = profile.language
    except AccountError as exc:
        messages.error(request, str(exc))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = reverse("dashboard:triage")
    return redirect(target)
