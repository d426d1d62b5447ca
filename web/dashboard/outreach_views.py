"""Dashboard pages of outreach: an alert with its notifications and escalation, a clinician's and a team's
notification settings, a patient's reminder schedule and delivery log."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic.accounts import lead_team_ids
from clinic.audit import audit_record
from clinic.models import CareTeam, Membership
from clinic.selectors import patients_visible_to
from outreach import reminders as outreach_reminders
from outreach import selectors as outreach_selectors
from outreach import services as outreach_services
from outreach.models import Delivery
from outreach.urgency import is_urgent
from screening.models import Alert
from web.dashboard.forms import AlertNoteForm, ReminderScheduleForm, TeamChannelForm


@require_GET
@login_required
def alert_detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_object_or_404(Alert.objects.select_related("patient", "acknowledged_by", "resolved_by").filter(
        patient__in=patients_visible_to(request.user).values("pk")), pk=alert_id)
    audit_record(request=request, action="read", resource="alert", patient=alert.patient, object_id=alert.pk)
    return render(request, "dashboard/alert.html", {
        "alert": alert, "outreach": outreach_selectors.alert_outreach(alert.pk), "note_form": AlertNoteForm(),
        "urgent": is_urgent(alert.kind), "nav": "alerts"})


@require_http_methods(["GET", "POST"])
@login_required
def my_notifications(request: HttpRequest) -> HttpResponse:
    """Each clinician chooses, per team, which alert kinds reach them by e-mail."""
    memberships = list(Membership.objects.filter(user=request.user).select_related("care_team"))
    if request.method == "POST":
        membership = get_object_or_404(Membership, pk=request.POST.get("membership"), user=request.user)
        wanted = set(request.POST.getlist("kinds"))
        try:
            for kind in Alert.Kind.values:
                outreach_services.opt_out_set(membership=membership, kind=kind, muted=kind not in wanted)
        except outreach_services.OutreachError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Your alert e-mails for %(team)s are saved.") % {
                "team": membership.care_team.name})
        return redirect("dashboard:my-notifications")
    muted = set(outreach_selectors.muted_kinds(request.user))
    rows = [{"membership": m, "kinds": [{"value": k, "label": label, "urgent": is_urgent(k),
                                         "on": (m.pk, k) not in muted} for k, label in Alert.Kind.choices]}
            for m in memberships]
    return render(request, "dashboard/my_notifications.html", {"rows": rows, "email": request.user.email,
                                                               "nav": "notifications"})


def _led_team(request: HttpRequest, team_id: int) -> CareTeam:
    team = get_object_or_404(CareTeam, pk=team_id)
    if not (request.user.is_staff or lead_team_ids(request.user).filter(care_team_id=team.pk).exists()):
        raise PermissionDenied(_("Only the team's leads and administrators change how the team is reached."))
    return team


@require_http_methods(["GET", "POST"])
@login_required
def team_notifications(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _led_team(request, team_id)
    channel = outreach_selectors.team_channel(team.pk)
    secret = ""
    if request.method == "POST":
        form = TeamChannelForm(request.POST)
        if form.is_valid():
            channel, secret = outreach_services.team_channel_set(care_team=team, **form.cleaned_data)
            messages.success(request, _("Notification settings of %(team)s saved.") % {"team": team.name})
            if not secret:
                return redirect("dashboard:team-notifications", team.pk)
    else:
        form = TeamChannelForm(initial={
            "webhook_url": channel.webhook_url, "quiet_start": channel.quiet_start, "quiet_end": channel.quiet_end,
            "time_zone": channel.time_zone} if channel else {})
    response = render(request, "dashboard/team_notifications.html", {
        "team": team, "form": form, "channel": channel, "new_secret": secret,
        "members": outreach_selectors.team_reach(team.pk), "nav": "notifications"},
        status=400 if form.is_bound and not form.is_valid() else 200)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
def patient_reminders(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_object_or_404(patients_visible_to(request.user), pk=patient_id)
    form = ReminderScheduleForm(request.POST)
    if form.is_valid():
        try:
            outreach_reminders.reminder_schedule_set(patient=patient, **form.cleaned_data)
        except outreach_reminders.OutreachError as exc:
            messages.error(request, str(exc))
        else:
            audit_record(request=request, action="update", resource="reminder_schedule", patient=patient,
                         object_id=patient.pk)
            outreach_reminders.adherence_refresh(patient_ids=[patient.pk])
            messages.success(request, _("Reminder schedule saved."))
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect(reverse("dashboard:patient", args=[patient.pk]) + "#reminders")


def patient_outreach_context(patient) -> dict:
    """What the patient page shows of reminders: the schedule form, adherence and the delivery log."""
    schedule = outreach_selectors.reminder_schedule(patient)
    initial = ({"weekdays": [str(d) for d in schedule.weekdays], "time_of_day": schedule.time_of_day,
                "expiry_hours": schedule.expiry_hours, "active": schedule.active, "email": schedule.email,
                "phone": schedule.phone} if schedule else
               {**outreach_selectors.settings_reminder_default(), "active": True})
    if not schedule:
        initial["weekdays"] = [str(d) for d in initial["weekdays"]]
    return {"reminder_form": ReminderScheduleForm(initial=initial), "reminder_schedule": schedule,
            "patient_zone": outreach_selectors.patient_zone(patient).key,
            "adherence": outreach_selectors.adherence(patient=patient, now=timezone.now(), schedule=schedule)
            if schedule else None,
            "deliveries": outreach_selectors.patient_deliveries(patient),
            "push_devices": len(outreach_selectors.live_subscriptions(patient.pk))}


def outreach_health() -> dict:
    """The Monitoring page's table of messages by channel and state, and the failing ones."""
    counts = outreach_selectors.delivery_state_counts()
    states = Delivery.State.values
    return {"states": states, "failed": outreach_selectors.failed_deliveries(),
            "rows": [{"channel": c, "counts": [counts.get((c, s), 0) for s in states]} for c in Delivery.Channel.values]}


@require_POST
@login_required
def delivery_retry(request: HttpRequest, delivery_id: int) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied(_("Sending messages again is for administrators."))
    outreach_services.delivery_retry(delivery=get_object_or_404(Delivery, pk=delivery_id))
    messages.success(request, _("The message is queued to be sent again."))
    return redirect("dashboard:monitoring")


def adherence_report(scope: list[int] | None) -> dict | None:
    """The validation page's adherence tables for the caller's report scope (None: every team; []: none)."""
    if scope == []:
        return None
    return outreach_selectors.adherence_summary(care_team_ids=scope, now=timezone.now())
