"""Dashboard enrolment: add a patient, change their details, end or resume monitoring, and link their phone."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from clinic import services as clinic_services
from clinic.accounts import TeamChoiceError, care_team_for_new_patient
from clinic.audit import audit_record
from clinic.models import CareTeam
from web.dashboard.forms import TIME_ZONES, PatientAddForm, PatientDetailsForm, Phq9Form
from web.dashboard.views import _patient_context, _visible_patient
from web.recorder.links import LinkUnusable, enrolment_base, qr_svg


def _form_errors_from(form, exc: ValidationError) -> None:
    """A service's refusal shown on the form's own fields (or above them)."""
    for name, errors in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def patient_add(request: HttpRequest) -> HttpResponse:
    """Enrol a patient from the dashboard (the API's service and rules), then on to their page for the phone link."""
    teams = CareTeam.objects.filter(memberships__user=request.user).order_by("name")
    form = PatientAddForm(request.POST or None, teams=teams)
    if request.method == "POST" and form.is_valid():
        try:
            team = care_team_for_new_patient(request.user, form.chosen_team())
            with transaction.atomic():
                patient, _upload_token = clinic_services.patient_create(
                    care_team=team, code=form.cleaned_data["code"], **form.patient_fields())
        except TeamChoiceError as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            _form_errors_from(form, exc)
        except IntegrityError:  # the same code enrolled a moment ago by someone else
            form.add_error("code", _("A patient with this code is already enrolled; choose another code."))
        else:
            audit_record(request=request, action="create", resource="patient", patient=patient, object_id=patient.pk)
            messages.success(request, _("%(code)s is enrolled. Next, create the enrolment link for the patient’s "
                                        "phone.") % {"code": patient.code})
            return redirect(reverse("dashboard:patient", args=[patient.pk]) + "?new=1#recorder")
    return render(request, "dashboard/patient_add.html", {
        "form": form, "no_team": not teams.exists(), "time_zones": TIME_ZONES, "nav": "triage",
    }, status=400 if request.method == "POST" else 200)


@require_POST
@login_required
def patient_edit(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Change the patient's details (the same service and rules as the API's PATCH)."""
    patient = _visible_patient(request, patient_id)
    form = PatientDetailsForm(request.POST, patient=patient)
    if form.is_valid():
        try:
            changed = clinic_services.patient_update(patient=patient, **form.patient_fields())
        except ValidationError as exc:
            _form_errors_from(form, exc)
        else:
            if changed:
                audit_record(request=request, action="update", resource="patient", patient=patient,
                             object_id=patient.pk)
                messages.success(request, _("Details of %(code)s saved.") % {"code": patient.code})
            else:
                messages.info(request, _("Nothing was changed."))
            return redirect(reverse("dashboard:patient", args=[patient.pk]) + "#details")
    audit_record(request=request, action="read", resource="patient_dashboard", patient=patient, object_id=patient.pk)
    context = _patient_context(patient, Phq9Form(), request.user, details_form=form) | {"details_open": True}
    return render(request, "dashboard/patient.html", context, status=400)


@require_POST
@login_required
def patient_monitoring(request: HttpRequest, patient_id: int) -> HttpResponse:
    """End monitoring (the phones' tokens stop working, links are refused, the record stays) or resume it."""
    patient = _visible_patient(request, patient_id)
    back = redirect(reverse("dashboard:patient", args=[patient.pk]) + "#details")
    action = request.POST.get("action")
    if action == "end" and request.POST.get("confirm") != patient.code:
        messages.error(request, _("Monitoring was not ended: tick the box that confirms it first."))
        return back
    if action not in ("end", "resume"):
        messages.error(request, _("Choose whether to end or resume monitoring."))
        return back
    if clinic_services.patient_update(patient=patient, active=action == "resume"):
        audit_record(request=request, action="update", resource="patient", patient=patient, object_id=patient.pk)
    if action == "end":
        messages.success(request, _("Monitoring of %(code)s has ended: the phones linked to this patient can no "
                                    "longer send recordings and no new link can be made. Everything recorded "
                                    "stays here.") % {"code": patient.code})
    else:
        messages.success(request, _("Monitoring of %(code)s has resumed: the phones linked before can send "
                                    "recordings again.") % {"code": patient.code})
    return back


@require_POST
@login_required
def patient_enrolment_link_create(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Shown once on the patient page (never stored): the link and its QR code for the patient's phone."""
    patient = _visible_patient(request, patient_id)
    audit_record(request=request, action="read", resource="patient_dashboard", patient=patient, object_id=patient.pk)
    try:
        base = enrolment_base()
    except LinkUnusable as exc:
        context = _patient_context(patient, Phq9Form(), request.user) | {"enrolment_refused": str(exc)}
        return render(request, "dashboard/patient.html", context, status=409)
    if not patient.active:
        context = _patient_context(patient, Phq9Form(), request.user) | {
            "enrolment_refused": _("Monitoring of this patient has ended, so no phone can be linked. Resume "
                                   "monitoring first.")}
        return render(request, "dashboard/patient.html", context, status=409)
    link, key = clinic_services.enrolment_link_create(patient=patient, created_by=request.user)
    audit_record(request=request, action="create", resource="enrolment_link", patient=patient, object_id=link.pk)
    url = base.link(key)
    context = _patient_context(patient, Phq9Form(), request.user) | {"enrolment": {
        "url": url, "expires_at": link.expires_at, "warning": base.warning,
        "qr": qr_svg(url, label=_("QR code of the enrolment link for %(code)s") % {"code": patient.code})}}
    response = render(request, "dashboard/patient.html", context, status=201)
    response["Cache-Control"] = "no-store"
    return response
