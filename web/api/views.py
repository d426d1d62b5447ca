"""Patient-data API: one view per resource action, scoped to what the caller may see."""

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiRequest, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ParseError, ValidationError
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
    ListQuery,
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
from web.recorder.links import LinkUnusable, enrolment_base


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
            return Response({"error": "invalid_credentials", "detail": _("Wrong username or password.")}, status=401)
        second_factor = has_second_factor(user.pk)
        if second_factor:
            refusal = second_factor_check(request._request, user=user, code=otp)
            if refusal is not None:
                return refusal
        elif settings.CADENCE_REQUIRE_MFA and not is_demo_account(user):
            audit_identity(request=request._request, actor=user, action="denied", resource="api_token",
                           object_id="no second factor")
            return Response({"error": "second_factor_required", "detail": _(
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
            # A team you are not in is as invisible as one that does not exist.
            code = status.HTTP_404_NOT_FOUND if exc.code == "not_a_member" else status.HTTP_400_BAD_REQUEST
            return Response(body, status=code)
        taken = Response({"error": "code_taken", "detail": _("A patient with this code is already enrolled; codes are "
                                                             "unique across the clinic.")},
                         status=status.HTTP_409_CONFLICT)
        if Patient.objects.filter(code=fields["code"]).exists():
            return taken
        try:
            patient, key = services.patient_create(care_team=team, **fields)
        except IntegrityError:  # enrolled by someone else a moment ago
            return taken
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
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
        fields = {k: v for k, v in data.validated_data.items() if k in services.PATIENT_EDITABLE}
        try:
            services.patient_update(patient=patient, **fields)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
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

    @extend_schema(request=None, responses={201: s.EnrolmentLinkSerializer, 409: OpenApiResponse(
        s.ErrorSerializer, description="CADENCE_BASE_URL is an address a phone cannot open or record on (not in DEBUG), "
        "or the patient's monitoring has ended")})
    def post(self, request, patient_id: int):
        patient = visible_patient(request, patient_id)
        try:
            base = enrolment_base()
        except LinkUnusable as exc:
            return Response({"error": "base_url_unusable", "detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        if not patient.active:
            return Response({"error": "patient_inactive", "detail": _(
                "Monitoring of this patient has ended, so no phone can be linked. Resume monitoring first (PATCH "
                "active: true).")},
                            status=status.HTTP_409_CONFLICT)
        link, key = services.enrolment_link_create(patient=patient, created_by=request.user)
        audit_record(request=request, action="create", resource="enrolment_link", patient=patient, object_id=link.pk)
        body = {"url": base.link(key), "expires_at": link.expires_at}
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


def patient_filter(request, query: dict) -> dict:
    """``?patient=`` as a filter; a patient the caller may not see is a 404, never an empty list."""
    if "patient" not in query:
        return {}
    return {"patient_id": visible_patient(request, query["patient"]).pk}


AUDIO_MEDIA_TYPES = {"wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg", "webm": "audio/webm",
                     "mp3": "audio/mpeg", "m4a": "audio/mp4", "3gp": "audio/3gpp", "amr": "audio/amr",
                     "caf": "audio/x-caf", "au": "audio/basic"}


class UploadMultiPartParser(MultiPartParser):
    """Django refuses a multipart part whose headers exceed 1,024 bytes (a defence against oversized headers);
    the usual cause is a long file name, so the phone is told that instead of "parse error"."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except ParseError as exc:
            if "header size" not in str(exc.detail):
                raise
            raise services.UploadRejected(_(
                "The upload's part headers are longer than 1,024 bytes, usually because the file name is too long; "
                "send the file with a name of at most 255 characters."), code="file_name_too_long") from exc


class RecordingListView(APIView):
    parser_classes = [UploadMultiPartParser, FormParser]
    pagination_class = ApiCursorPagination
    ordering = ("-recorded_at", "-pk")

    def get_permissions(self):
        return [IsPatient()] if self.request.method == "POST" else super().get_permissions()

    def get_throttles(self):
        return [UploadThrottle()] if self.request.method == "POST" else super().get_throttles()

    @extend_schema(parameters=[RecordingListQuery], responses=s.RecordingSerializer(many=True))
    def get(self, request):
        query = parse(RecordingListQuery, request)
        recordings = selectors.recordings_visible_to(request.user).filter(**patient_filter(request, query))
        recordings = recordings.select_related("patient").prefetch_related("feature_sets")
        return paginated(self, request, recordings, s.RecordingSerializer, resource="recording",
                         context={"include_embedding": query.get("include") == "embedding"})

    @extend_schema(
        request={"multipart/form-data": OpenApiRequest(s.RecordingUploadSerializer, encoding={
            "audio": {"contentType": ", ".join(dict.fromkeys(AUDIO_MEDIA_TYPES.values()))}})},
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
                _("The upload is larger than the %(limit)s-byte limit.") % {"limit": settings.CADENCE_MAX_UPLOAD_BYTES},
                code="too_large", http_status=413,
            )
        if "audio" not in request.FILES:
            raise services.UploadRejected(_("Send the recording as the multipart field 'audio'."), code="missing_audio")
        data = s.RecordingUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key") or None
        if key and len(key) > 128:
            raise services.UploadRejected(_("Idempotency-Key is longer than 128 characters."), code="invalid_key")
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
            detail = (_("The audio of this recording was deleted %(days)s days after processing (retention policy); "
                        "its features and scores are kept.") % {"days": days} if days else
                      _("The audio of this recording was deleted (retention policy); its features and scores are "
                        "kept."))
            return Response({"error": "audio_deleted", "detail": detail}, status=status.HTTP_410_GONE)
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
