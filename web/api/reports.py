"""Screening API: a patient's timeline and the PHQ-9 validation report."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic import selectors
from clinic.audit import audit_record
from screening.modeling import validation_report_request
from screening.models import ValidationReport
from screening.selectors import patient_timeline
from web.api.permissions import IsClinician


class TimelineView(APIView):
    """Features, baselines, deviations, risk and PHQ-9 over time (patient: own; clinician: care team)."""

    @extend_schema(responses={200: dict})
    def get(self, request, patient_id: int):
        patient = get_object_or_404(selectors.patients_visible_to(request.user), pk=patient_id)
        audit_record(request=request, action="read", resource="timeline", patient=patient, object_id=patient.pk)
        return Response(patient_timeline(patient=patient))


class ValidationReportView(APIView):
    """The latest PHQ-9 validation report (aggregate statistics; clinicians only)."""

    permission_classes = [IsClinician]

    @extend_schema(parameters=[OpenApiParameter("refresh", bool, description="Queue a new report (202); the worker "
                                                                   "builds it, a request never does")],
                   responses={200: dict, 202: dict})
    def get(self, request):
        if request.query_params.get("refresh") in ("1", "true"):
            task_id = validation_report_request(trigger="api")
            return Response({"status": "queued", "task_id": task_id}, status=202)
        report = ValidationReport.objects.first()
        if report is None:
            return Response({"error": "no_report", "detail": "No validation report yet; ask for one with ?refresh=1."},
                            status=404)
        return Response({"id": report.pk, "created_at": report.created_at, "trigger": report.trigger,
                         "report": report.payload})
