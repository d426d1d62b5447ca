"""Reads: which patients and recordings a principal may see."""

from django.db.models import QuerySet

from clinic.models import Patient, Phq9Response, Recording
from clinic.principals import PatientPrincipal


def patients_visible_to(principal) -> QuerySet[Patient]:
    if isinstance(principal, PatientPrincipal):
        return Patient.objects.filter(pk=principal.patient.pk)
    if principal is None or not getattr(principal, "is_authenticated", False):
        return Patient.objects.none()
    return Patient.objects.filter(care_team__members=principal).distinct()


def recordings_visible_to(principal) -> QuerySet[Recording]:
    if isinstance(principal, PatientPrincipal):
        return Recording.objects.filter(patient_id=principal.patient.pk)
    return Recording.objects.filter(patient__in=patients_visible_to(principal))


def phq9_visible_to(principal) -> QuerySet[Phq9Response]:
    if isinstance(principal, PatientPrincipal):
        return Phq9Response.objects.filter(patient_id=principal.patient.pk)
    return Phq9Response.objects.filter(patient__in=patients_visible_to(principal))
