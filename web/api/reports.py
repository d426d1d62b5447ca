"""Screening API: a patient's timeline and the PHQ-9 validation report (scoped to the caller's care teams)."""

import logging

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.audit import audit_record
from screening.selectors import latest_validation_report, patient_timeline, report_scope
from screening.tasks import validation_report_request
from web.api import screening_serializers as ss
from web.api import serializers as ss_errors
from web.api.params import Query, parse
from web.api.permissions import IsClinician
from web.api.views import visible_patient

logger = logging.getLogger(__name__)


class TimelineView(APIView):
    """Features, baselines, deviations, risk and PHQ-9 over time (patient: own; clinician: care team)."""

    @extend_schema(responses={200: ss.TimelineSerializer})
    def get(self, request, patient_id: int):
        parse(Query, request)
        patient = visible_patient(request, patient_id)
        audit_record(request=request, action="read", resource="timeline", patient=patient, object_id=patient.pk)
        return Response(patient_timeline(patient=patient))


def _scope_or_refuse(request, view: APIView) -> list[int] | None:
    """The caller's report scope; a clinician in no care team (and no research role) is refused, audited."""
    scope = report_scope(request.user)
    if scope == []:
        audit_record(request=request, action="denied", resource="validation_report")
        view.permission_denied(request, message=_("You are in no care team, so there is no report for you to read."),
                               code="no_care_team")
    return scope


def _scope_body(scope: list[int] | None) -> dict:
    return {"scope": "all" if scope is None else "care_teams", "care_teams": scope or []}


class ValidationReportView(APIView):
    """The PHQ-9 validation report: your care teams' patients, or every team's for the research role.

    Reading never builds a report; ``POST`` asks for one, built in the background.
    """

    permission_classes = [IsClinician]

    def permission_denied(self, request, message=None, code=None):
        if getattr(request, "user", None) is not None and code != "no_care_team":
            audit_record(request=request, action="denied", resource="validation_report")
            logger.info("validation report refused (%s)", request.method)
        super().permission_denied(request, message=message, code=code)

    @extend_schema(responses={
        200: ss.ValidationReportSerializer,
        404: OpenApiResponse(ss_errors.ErrorSerializer, description="No report yet for your scope; POST for one.")})
    def get(self, request):
        parse(Query, request)
        scope = _scope_or_refuse(request, self)
        report = latest_validation_report(scope)
        audit_record(request=request, action="read", resource="validation_report", object_id=report.pk if report else "")
        if report is None:
            return Response({"error": "no_report", "detail": _("No validation report yet for your care teams; "
                                                               "ask for one with POST.")}, status=404)
        return Response({"id": report.pk, "created_at": report.created_at, "trigger": report.trigger,
                         **_scope_body(scope), "report": report.payload, "teams": report.team_summaries})

    @extend_schema(request=None, responses={202: ss.ReportRequestedSerializer})
    def post(self, request):
        parse(Query, request)
        scope = _scope_or_refuse(request, self)
        validation_report_request(care_team_ids=scope, trigger="api")
        audit_record(request=request, action="create", resource="validation_report")
        return Response({"status": "queued", **_scope_body(scope)}, status=status.HTTP_202_ACCEPTED)

