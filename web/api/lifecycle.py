"""Data life-cycle API: erasing a patient, and a care team's bulk export (request, status, download)."""

from django.db import transaction
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from clinic.audit import audit_record, audit_record_many
from clinic.lifecycle import erasure_allowed, patient_erase
from clinic.models import BulkExport, CareTeam, Patient
from clinic.selectors import patients_visible_to
from clinic.storage import audio_open
from screening.tasks import build_bulk_export
from web.api.permissions import IsClinician

_EXPORT_TYPES = {"ndjson": "application/fhir+ndjson", "csv": "text/csv"}


class ErasureSerializer(serializers.Serializer):
    erased = serializers.BooleanField()
    tombstone = serializers.CharField(help_text="The keyed hash of the patient code that the audit log keeps.")
    recordings = serializers.IntegerField(help_text="Recordings erased.")
    phq9_responses = serializers.IntegerField(help_text="PHQ-9 responses erased.")
    files = serializers.IntegerField(help_text="Audio files deleted.")
    bulk_exports = serializers.IntegerField(help_text="The care team's bulk exports deleted (they held the patient).")


class _ExportOutputSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="FHIR resource type, or 'table' for a CSV file.")
    count = serializers.IntegerField()
    url = serializers.URLField()


class BulkExportSerializer(serializers.Serializer):
    """An export's status; when done, also the FHIR Bulk Data manifest (transactionTime, output, ...)."""

    id = serializers.IntegerField()
    care_team = serializers.IntegerField()
    status = serializers.ChoiceField(choices=BulkExport.Status.choices)
    progress = serializers.FloatField(help_text="0-1")
    requested_at = serializers.DateTimeField()
    status_url = serializers.URLField(help_text="Poll this URL for the status.")
    error = serializers.JSONField(required=False, help_text="Failed: {error, detail}; done: [] (FHIR manifest).")
    transactionTime = serializers.DateTimeField(required=False, help_text="Done: when the export finished.")
    requiresAccessToken = serializers.BooleanField(required=False, help_text="Done: always true.")
    output = _ExportOutputSerializer(many=True, required=False, help_text="Done: one entry per file.")


class PatientEraseView(APIView):
    """Erase a patient and everything recorded about them (care-team leads and operators)."""

    permission_classes = [IsClinician]

    @extend_schema(request=inline_serializer("EraseRequest", {"confirm": serializers.CharField(
        help_text="The patient's code, typed again: erasure cannot be undone.")}), responses={200: ErasureSerializer})
    def post(self, request, patient_id: int):
        patient = Patient.objects.filter(pk=patient_id).select_related("care_team").first()
        visible = patient is not None and patients_visible_to(request.user).filter(pk=patient_id).exists()
        if patient is None or not (visible or request.user.is_staff or request.user.is_superuser):
            raise NotFound()
        if not erasure_allowed(request.user, patient):
            raise PermissionDenied(_("Only the care team's leads and operators can erase a patient."))
        if request.data.get("confirm") != patient.code:
            return Response({"error": "confirmation_required", "detail": _(
                "Erasure cannot be undone: send the patient's code as 'confirm' to go ahead.")},
                status=status.HTTP_400_BAD_REQUEST)
        result = patient_erase(patient=patient, erased_by=request.user, via=f"API {request.path}")
        return Response({"erased": True, "tombstone": result.tombstone, "recordings": result.recordings,
                         "phq9_responses": result.phq9_responses, "files": result.files,
                         "bulk_exports": result.exports})


def _member_team(request, team_id: int) -> CareTeam:
    return get_object_or_404(CareTeam.objects.filter(members=request.user), pk=team_id)


def _member_export(request, export_id: int) -> BulkExport:
    return get_object_or_404(BulkExport.objects.filter(care_team__members=request.user), pk=export_id)


def _export_body(request, export: BulkExport) -> dict:
    body = {"id": export.pk, "care_team": export.care_team_id, "status": export.status,
            "progress": round(export.progress, 3), "requested_at": export.requested_at,
            "status_url": reverse("bulk-export-detail", args=[export.pk], request=request)}
    if export.status == BulkExport.Status.FAILED:
        body["error"] = {"error": "export_failed", "detail": _("The export could not be built; ask for a new one.")}
    if export.status == BulkExport.Status.DONE:  # FHIR Bulk Data manifest
        body |= {"transactionTime": export.finished_at, "requiresAccessToken": True, "error": [], "output": [
            {"type": entry["type"] or "table", "count": entry["count"],
             "url": reverse("bulk-export-file", args=[export.pk, filename], request=request)}
            for filename, entry in export.files.items()]}
    return body


class BulkExportCreateView(APIView):
    """Ask for a care team's export; it is built in the background (poll ``status_url``)."""

    permission_classes = [IsClinician]

    @extend_schema(request=None, responses={202: BulkExportSerializer})
    def post(self, request, team_id: int):
        team = _member_team(request, team_id)
        with transaction.atomic():
            export = BulkExport.objects.create(care_team=team, requested_by=request.user)
            audit_record(request=request, action="export", resource="bulk_export", object_id=export.pk)
            transaction.on_commit(lambda: build_bulk_export.delay(export.pk))
        return Response(_export_body(request, export), status=status.HTTP_202_ACCEPTED)


class BulkExportDetailView(APIView):
    permission_classes = [IsClinician]

    @extend_schema(responses={200: BulkExportSerializer})
    def get(self, request, export_id: int):
        return Response(_export_body(request, _member_export(request, export_id)))


class BulkExportFileView(APIView):
    """One output file, decrypted as it streams; every download is written to each patient's audit trail."""

    permission_classes = [IsClinician]

    @extend_schema(responses={(200, "application/fhir+ndjson"): str, (200, "text/csv"): str})
    def get(self, request, export_id: int, filename: str):
        export = _member_export(request, export_id)
        entry = export.files.get(filename) if export.status == BulkExport.Status.DONE else None
        if entry is None:
            raise NotFound(_("No such file in this export."))
        audit_record_many(request=request, resource="bulk_export", action="export",
                          patients=list(Patient.objects.filter(care_team_id=export.care_team_id)))
        response = FileResponse(audio_open(entry["name"]), as_attachment=True, filename=filename,
                                content_type=_EXPORT_TYPES[filename.rsplit(".", 1)[1]])
        response["Cache-Control"] = "private, no-store"
        return response
