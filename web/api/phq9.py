"""PHQ-9 over the API: patients answer for themselves, clinicians enter on a patient's behalf, and a patient's
history is exported as FHIR R4 or CSV."""

import csv

from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic import fhir, selectors, services
from clinic.audit import audit_record
from clinic.principals import PatientPrincipal
from web.api import serializers as s
from web.api.pagination import ApiCursorPagination
from web.api.params import ExportQuery, PatientFilterQuery, Phq9PostQuery, parse
from web.api.views import paginated, patient_filter, visible_patient


class Phq9ListView(APIView):
    """Patients answer for themselves; clinicians enter on a patient's behalf (recorded as such)."""

    pagination_class = ApiCursorPagination
    ordering = ("-answered_at", "-pk")

    @extend_schema(parameters=[PatientFilterQuery], responses=s.Phq9Serializer(many=True))
    def get(self, request):
        query = parse(PatientFilterQuery, request)
        responses = selectors.phq9_visible_to(request.user).filter(**patient_filter(request, query))
        return paginated(self, request, responses.select_related("patient", "entered_by"), s.Phq9Serializer,
                         resource="phq9")

    @extend_schema(request=s.Phq9InputSerializer, parameters=[Phq9PostQuery], responses={201: s.Phq9Serializer})
    def post(self, request):
        query = parse(Phq9PostQuery, request)
        data = s.Phq9InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if isinstance(request.user, PatientPrincipal):
            patient, entered_by = request.user.patient, None
        else:
            patient_id = query.get("patient") or data.validated_data.pop("patient", None)
            if not patient_id:  # without a patient, a PHQ-9 is the caller's own: only a patient's app answers that
                return Response({"error": "patient_required", "detail": _(
                    "Only a patient's app posts its own PHQ-9; a clinician says which patient it is for ('patient' "
                    "or ?patient=).")},
                                status=status.HTTP_403_FORBIDDEN)
            patient, entered_by = visible_patient(request, patient_id), request.user
        data.validated_data.pop("patient", None)
        with transaction.atomic():
            response = services.phq9_record(patient=patient, entered_by=entered_by, **data.validated_data)
            audit_record(request=request, action="create", resource="phq9", patient=patient, object_id=response.pk)
        return Response(s.Phq9Serializer(response).data, status=status.HTTP_201_CREATED)


class Phq9ExportView(APIView):
    """A patient's PHQ-9 history as FHIR R4 (Bundle) or CSV."""

    @extend_schema(parameters=[ExportQuery], responses={
        (200, "application/fhir+json"): OpenApiResponse(s.FhirBundleSerializer, description="FHIR R4 Bundle"),
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="One row per PHQ-9")})
    def get(self, request, patient_id: int):
        query = parse(ExportQuery, request)
        patient = visible_patient(request, patient_id)
        responses = list(patient.phq9_responses.select_related("patient", "entered_by").order_by("answered_at"))
        audit_record(request=request, action="export", resource="phq9", patient=patient, object_id=patient.pk)
        if query["as"] == "csv":
            out = HttpResponse(content_type="text/csv")
            out["Content-Disposition"] = f'attachment; filename="phq9-{patient.code}.csv"'
            writer = csv.writer(out)
            writer.writerow(fhir.CSV_HEADER)
            writer.writerows(fhir.phq9_csv_rows(responses))
            return out
        return JsonResponse(fhir.phq9_bundle(responses), content_type="application/fhir+json")
