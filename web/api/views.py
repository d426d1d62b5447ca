"""Patient-data API: one view per resource action, scoped to what the caller may see."""

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from django.db import transaction
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic import selectors, services
from clinic.accounts import TeamChoiceError, care_team_for_new_patient, has_second_factor
from clinic.audit import audit_identity, audit_record, audit_record_many
from clinic.models import Patient
from clinic.principals import PatientPrincipal
from clinic.storage import audio_open
from screening.selectors import EmotionLabelRejected, emotion_label_choice, emotion_model_classes
from web.api import serializers as s
from web.api.pagination import ApiCursorPagination
from web.api.params import (
    ExportQuery,
    ListQuery,
    PatientFilterQuery,
    Phq9PostQuery,
    Query,
    RecordingDetailQuery,
    RecordingListQuery,
    parse,
)
from web.api.permissions import IsClinician, IsPatient
from web.api.throttles import LoginThrottle, UploadThrottle
from web.identity.mfa import second_factor_check
from web.identity.policy import is_demo_account
from web.locale import supported_language
from web.recorder.links import enrolment_url


class TokenView(APIView):
    """Failed passwords count towards the account's and the address's lockout (django-axes): 429 then."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginThrottle]

    @extend_schema(request=s.TokenRequestSerializer, responses=s.TokenResponseSerializer, auth=[])
    def post(self, request):
        data = s.TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        otp = data.validated_data.pop("otp", "")
        # The Django request, so a lockout flag set by axes reaches its middleware (which answers 429).
        user = authenticate(request._request, **data.validated_data)
        if user is None:
            return Response({"error": "invalid_credentials", "detail": "Wrong username or password."}, status=401)
        second_factor = has_second_factor(user.pk)
        if second_factor:
            refusal = second_factor_check(request._request, user=user, code=otp)
            if refusal is not None:
                return refusal
        elif settings.CADENCE_REQUIRE_MFA and not is_demo_account(user):
            audit_identity(request=request._request, actor=user, action="denied", resource="api_token",
                           object_id="no second factor")
            return Response({"error": "second_factor_required", "detail": (
                "This account needs a second factor before it can have an API token: sign in to the dashboard, add "
                "an authenticator app or a security key at /account/, then ask again with its code as 'otp'.")},
                status=403)
        # A token is a login: the account's failed attempts are cleared and last_login is updated
        # (not through user_logged_in, whose access log would open a session for a cookie-less client).
        axes_reset(username=user.get_username())
        update_last_login(None, user)
        audit_identity(request=request._request, actor=user, action="login", resource="api_token")
        key = services.clinician_token_issue(user=user, second_factor=second_factor,
                                             label="API, password and code" if second_factor else "API, password")
        return Response({"token": key, "token_type": "Bearer"})


def visible_patient(request, patient_id: int) -> Patient:
    """The patient if the caller may see them; a 404 otherwise, exactly as for an id that does not exist."""
    return get_object_or_404(selectors.patients_visible_to(request.user), pk=patient_id)


def paginated(view: APIView, request, queryset, serializer, *, resource: str, context: dict | None = None):
    """One page of ``queryset`` in the list envelope; staff reads of the patients on it are audited."""
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(queryset, request, view=view)
    patients = [row if isinstance(row, Patient) else row.patient for row in page]
    audit_record_many(request=request, resource=resource, patients=list({p.pk: p for p in patients}.values()))
    return paginator.get_paginated_response(serializer(page, many=True, context=context or {}).data)


class PatientListView(APIView):
    permission_classes = [IsClinician]
    pagination_class = ApiCursorPagination
    ordering = ("code",)

    @extend_schema(parameters=[ListQuery], responses=s.PatientSerializer(many=True))
    def get(self, request):
        parse(ListQuery, request)
        return paginated(self, request, selectors.patients_visible_to(request.user), s.PatientSerializer,
                         resource="patient")

    @extend_schema(request=s.PatientSerializer, responses={201: s.PatientCreatedSerializer})
    def post(self, request):
        parse(Query, request)
        data = s.PatientSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        try:
            team = care_team_for_new_patient(request.user, fields.pop("care_team", None))
        except TeamChoiceError as exc:
            body = {"error": exc.code, "detail": str(exc)} | ({"choices": exc.choices} if exc.choices else {})
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        patient, key = services.patient_create(care_team=team, **fields)
        audit_record(request=request, action="create", resource="patient", patient=patient, object_id=patient.pk)
        body = s.PatientSerializer(patient).data | {"upload_token": key}
        return Response(body, status=status.HTTP_201_CREATED)


class PatientDetailView(APIView):
    @extend_schema(responses=s.PatientSerializer)
    def get(self, request, patient_id: int):
        parse(Query, request)
        patient = visible_patient(request, patient_id)
        audit_record(request=request, action="read", resource="patient", patient=patient, object_id=patient.pk)
        return Response(s.PatientSerializer(patient).data)

    @extend_schema(request=s.PatientSerializer, responses=s.PatientSerializer)
    def patch(self, request, patient_id: int):
        """Clinicians update demographics or end monitoring (``active: false``); the code and team stay."""
        parse(Query, request)
        if isinstance(request.user, PatientPrincipal):
            raise NotFound()
        patient = visible_patient(request, patient_id)
        data = s.PatientSerializer(patient, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k not in ("code", "care_team")}
        for name, value in fields.items():
            setattr(patient, name, value)
        patient.save(update_fields=list(fields) or None)
        audit_record(request=request, action="update", resource="patient", patient=patient, object_id=patient.pk)
        return Response(s.PatientSerializer(patient).data)


class UploadTokenView(APIView):
    """Revoke a patient's upload tokens and issue a new one (shown once)."""

    permission_classes = [IsClinician]

    @extend_schema(request=None, responses={201: s.UploadTokenSerializer})
    def post(self, request, patient_id: int):
        parse(Query, request)
        patient = visible_patient(request, patient_id)
        key = services.upload_token_rotate(patient=patient)
        audit_record(request=request, action="update", resource="upload_token", patient=patient, object_id=patient.pk)
        return Response({"id": patient.pk, "upload_token": key}, status=status.HTTP_201_CREATED)


class EnrolmentLinkView(APIView):
    """A one-time link (and its QR code on the dashboard) that puts the recorder on the patient's phone."""

    permission_classes = [IsClinician]

    @extend_schema(request=None, responses={201: s.EnrolmentLinkSerializer})
    def post(self, request, patient_id: int):
        patient = visible_patient(request, patient_id)
        link, key = services.enrolment_link_create(patient=patient, created_by=request.user)
        audit_record(request=request, action="create", resource="enrolment_link", patient=patient, object_id=link.pk)
        body = {"url": enrolment_url(request, key), "expires_at": link.expires_at}
        return Response(s.EnrolmentLinkSerializer(body).data, status=status.HTTP_201_CREATED)


class EnrolmentRedeemView(APIView):
    """The phone trades the link's key for its own upload token; the link is then used up."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginThrottle]

    @extend_schema(request=s.EnrolmentRedeemSerializer, responses={201: s.TokenResponseSerializer}, auth=[])
    def post(self, request):
        data = s.EnrolmentRedeemSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            token = services.enrolment_link_redeem(key=data.validated_data["link"])
        except services.EnrolmentLinkInvalid as exc:
            code = status.HTTP_404_NOT_FOUND if exc.code == "link_unknown" else status.HTTP_410_GONE
            return Response({"error": exc.code, "detail": exc.message}, status=code)
        return Response({"token": token, "token_type": "Bearer"}, status=status.HTTP_201_CREATED)


class PatientSelfView(APIView):
    """The phone's own patient settings (patient token): the recorder reads its language here."""

    permission_classes = [IsPatient]

    @extend_schema(responses=s.PatientSelfSerializer)
    def get(self, request):
        language = request.user.patient.language
        return Response({"language": language, "interface_language": supported_language(language)})


def _only_patient(request, query: dict) -> dict:
    """``?patient=`` as a filter; a patient the caller may not see is a 404, never an empty list."""
    if "patient" not in query:
        return {}
    return {"patient_id": visible_patient(request, query["patient"]).pk}


class RecordingListView(APIView):
    parser_classes = [MultiPartParser, FormParser]
    pagination_class = ApiCursorPagination
    ordering = ("-recorded_at", "-pk")

    def get_permissions(self):
        return [IsPatient()] if self.request.method == "POST" else super().get_permissions()

    def get_throttles(self):
        return [UploadThrottle()] if self.request.method == "POST" else super().get_throttles()

    @extend_schema(parameters=[RecordingListQuery], responses=s.RecordingSerializer(many=True))
    def get(self, request):
        query = parse(RecordingListQuery, request)
        recordings = selectors.recordings_visible_to(request.user).filter(**_only_patient(request, query))
        recordings = recordings.select_related("patient").prefetch_related("feature_sets")
        return paginated(self, request, recordings, s.RecordingSerializer, resource="recording",
                         context={"include_embedding": query.get("include") == "embedding"})

    @extend_schema(
        request={"multipart/form-data": s.RecordingUploadSerializer},
        parameters=[OpenApiParameter(
            "Idempotency-Key", {"type": "string", "maxLength": 128}, OpenApiParameter.HEADER, required=False,
            description="Retry-safe key (at most 128 characters): the same key with the same file answers the "
                        "same recording; with a different file, 422."),
            OpenApiParameter("X-Device-Model", {"type": "string", "maxLength": 64}, OpenApiParameter.HEADER,
                             required=False, description="The phone model, if the app knows it (or form field "
                                                         "device_model).")],
        responses={202: s.RecordingAcceptedSerializer, 200: s.RecordingAcceptedSerializer},
    )
    def post(self, request):
        parse(Query, request)
        if int(request.META.get("CONTENT_LENGTH") or 0) > settings.CADENCE_MAX_UPLOAD_BYTES + 64 * 1024:
            raise services.UploadRejected(
                f"The upload is larger than the {settings.CADENCE_MAX_UPLOAD_BYTES}-byte limit.",
                code="too_large", http_status=413,
            )
        if "audio" not in request.FILES:
            raise services.UploadRejected("Send the recording as the multipart field 'audio'.", code="missing_audio")
        data = s.RecordingUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key") or None
        if key and len(key) > 128:
            raise services.UploadRejected("Idempotency-Key is longer than 128 characters.", code="invalid_key")
        result = services.recording_ingest(
            patient=request.user.patient, upload=data.validated_data["audio"],
            recorded_at=data.validated_data.get("recorded_at"), idempotency_key=key,
            task=data.validated_data["task"], task_detail=data.validated_data["task_detail"],
            device_model=data.validated_data.get("device_model") or request.headers.get("X-Device-Model", "")[:256],
            language=data.validated_data.get("language") or "",
        )
        code = status.HTTP_202_ACCEPTED if result.created else status.HTTP_200_OK
        return Response({"id": result.recording.pk, "status": result.recording.status}, status=code)


class RecordingDetailView(APIView):
    @extend_schema(parameters=[RecordingDetailQuery], responses=s.RecordingSerializer)
    def get(self, request, recording_id: int):
        query = parse(RecordingDetailQuery, request)
        queryset = selectors.recordings_visible_to(request.user).select_related("patient")
        recording = get_object_or_404(queryset.prefetch_related("feature_sets"), pk=recording_id)
        audit_record(request=request, action="read", resource="recording", patient=recording.patient,
                     object_id=recording.pk)
        context = {"include_embedding": query.get("include") == "embedding"}
        return Response(s.RecordingSerializer(recording, context=context).data)


AUDIO_MEDIA_TYPES = {"wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg", "webm": "audio/webm",
                     "mp3": "audio/mpeg", "m4a": "audio/mp4", "3gp": "audio/3gpp", "amr": "audio/amr",
                     "caf": "audio/x-caf", "au": "audio/basic"}


class RecordingAudioView(APIView):
    @extend_schema(responses={
        (200, media): OpenApiTypes.BINARY for media in [*AUDIO_MEDIA_TYPES.values(), "application/octet-stream"]})
    def get(self, request, recording_id: int):
        parse(Query, request)
        recording = get_object_or_404(selectors.recordings_visible_to(request.user).select_related("patient"),
                                      pk=recording_id)
        audit_record(request=request, action="read", resource="recording_audio", patient=recording.patient,
                     object_id=recording.pk)
        if recording.audio_deleted_at or not recording.file:
            days = settings.CADENCE_AUDIO_RETENTION_DAYS
            return Response({"error": "audio_deleted", "detail": "The audio of this recording was deleted"
                             + (f" {days} days after processing" if days else "") + " (retention policy); its "
                             "features and scores are kept."}, status=status.HTTP_410_GONE)
        content_type = AUDIO_MEDIA_TYPES.get(recording.container, "application/octet-stream")
        response = FileResponse(audio_open(recording.file.name), content_type=content_type)
        response["Cache-Control"] = "private, no-store"
        return response


class EmotionLabelView(APIView):
    """A clinician's emotion label for a recording of their care team: the ground truth of the active
    speech-emotion model's daily per-class recall (the Monitoring page). One label per clinician and
    recording; a second PUT replaces it."""

    permission_classes = [IsClinician]

    def _recording(self, request, recording_id: int):
        return get_object_or_404(selectors.recordings_visible_to(request.user).select_related("patient"),
                                 pk=recording_id)

    @extend_schema(responses=s.EmotionLabelSerializer)
    def get(self, request, recording_id: int):
        """Your label for the recording (null if none yet) and the classes you may choose from."""
        parse(Query, request)
        recording = self._recording(request, recording_id)
        audit_record(request=request, action="read", resource="emotion_label", patient=recording.patient,
                     object_id=recording.pk)
        mine = recording.emotion_labels.filter(labelled_by=request.user).first()
        version, choices = emotion_model_classes() or (None, [])
        return Response(s.EmotionLabelSerializer({
            "recording_id": recording.pk, "label": mine.label if mine else None,
            "labelled_at": mine.labelled_at if mine else None, "model_version": version, "choices": choices}).data)

    @extend_schema(request=s.EmotionLabelInputSerializer,
                   responses={200: s.EmotionLabelSerializer, 201: s.EmotionLabelSerializer})
    def put(self, request, recording_id: int):
        parse(Query, request)
        recording = self._recording(request, recording_id)
        data = s.EmotionLabelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        label = data.validated_data["label"]
        try:
            version, choices = emotion_label_choice(label)
        except EmotionLabelRejected as exc:
            if exc.code == "invalid_label":
                raise ValidationError({"label": [exc.message]}) from None
            raise  # no active model: 409 emotion_stage_off
        with transaction.atomic():
            row, created = services.emotion_label_set(recording=recording, label=label, labelled_by=request.user)
            audit_record(request=request, action="create" if created else "update", resource="emotion_label",
                         patient=recording.patient, object_id=recording.pk)
        body = s.EmotionLabelSerializer({"recording_id": recording.pk, "label": row.label,
                                         "labelled_at": row.labelled_at, "model_version": version,
                                         "choices": choices}).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class Phq9ListView(APIView):
    """Patients answer for themselves; clinicians enter on a patient's behalf (recorded as such)."""

    pagination_class = ApiCursorPagination
    ordering = ("-answered_at", "-pk")

    @extend_schema(parameters=[PatientFilterQuery], responses=s.Phq9Serializer(many=True))
    def get(self, request):
        query = parse(PatientFilterQuery, request)
        responses = selectors.phq9_visible_to(request.user).filter(**_only_patient(request, query))
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
            if not patient_id:
                raise ValidationError({"patient": ["Say which patient this PHQ-9 is for."]})
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
        import csv

        query = parse(ExportQuery, request)
        from django.http import HttpResponse, JsonResponse

        from clinic import fhir

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
