"""Writes: patients, tokens, enrolment links, recording ingest, PHQ-9 responses."""

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic.models import (
    ApiToken,
    CareTeam,
    EmotionLabel,
    EnrolmentLink,
    Patient,
    Phq9Response,
    Recording,
    patient_code_validator,
)
from clinic.processing.tasks import recordings_enqueue
from clinic.protocols import Task, UnknownTaskDetail, task_detail_check
from clinic.reasons import reason_text
from clinic.signals import phq9_recorded
from clinic.storage import audio_delete, audio_store
from voice_features.audio import probe_audio
from voice_features.errors import VoiceFeaturesError

logger = logging.getLogger(__name__)

_HTTP_STATUS_FOR_AUDIO_ERROR = {
    "not_audio": 415,
    "unsupported_rate": 415,
    "no_audio_stream": 415,
    "unsupported_format": 415,
    "too_large": 413,
    "too_short": 422,
    "too_long": 422,
    "too_many_channels": 422,
}


def audio_error_text(exc: VoiceFeaturesError) -> str:
    """An audio error's sentence in the active language (:func:`clinic.reasons.reason_text`; English: its own)."""
    return reason_text(exc.code, exc.message)


class EnrolmentLinkInvalid(Exception):
    """An enrolment link that cannot be used (unknown, already used, expired, or the patient left)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message, self.code = message, code


class InputRejected(Exception):
    """Input refused by a rule of the clinical domain before anything was stored: a code and a sentence a
    person can read (the API answers ``{"error": code, "detail": message}`` with ``http_status``)."""

    def __init__(self, message: str, *, code: str, http_status: int = 400) -> None:
        super().__init__(message)
        self.message, self.code, self.http_status = message, code, http_status


class UploadRejected(InputRejected):
    """An upload refused before anything was stored."""


class Phq9Rejected(InputRejected):
    """A PHQ-9 refused before it was stored."""


@dataclass(frozen=True)
class IngestResult:
    recording: Recording
    created: bool


#: What a clinician may change after enrolment (the code and the care team stay as enrolled).
PATIENT_EDITABLE = ("sex", "birth_year", "language", "timezone", "consent_version", "consent_given_at", "active")


def _patient_check(patient: Patient) -> None:
    """The rules every enrolment and edit follows, from the API, the dashboard and the admin alike.

    Raises django.core.exceptions.ValidationError with a message per field.
    """
    errors: dict[str, list[str]] = {}
    try:
        patient.full_clean(exclude=["code", "care_team", "enrolled_on"], validate_unique=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not BCP47_PATTERN.fullmatch(patient.language or ""):
        errors.setdefault("language", []).append(str(LANGUAGE_TAG_PROBLEM))
    if time_zone_problem(patient.timezone):
        errors.setdefault("timezone", []).append(time_zone_problem(patient.timezone))
    if bool(patient.consent_version) != bool(patient.consent_given_at):
        errors.setdefault("consent_given_at", []).append(str(CONSENT_INCOMPLETE))
    if errors:
        raise ValidationError(errors)


BCP47_PATTERN = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")
#: What is wrong with a patient's details, in the reader's language (the dashboard's form and the API say the same).
LANGUAGE_TAG_PROBLEM = gettext_lazy("A language tag such as en, es or de-AT.")
CONSENT_INCOMPLETE = gettext_lazy("Record consent with both the form's version and the date it was given.")


def time_zone_problem(name: str) -> str | None:
    """Why ``name`` is not an IANA time zone (None when it is)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, TypeError):
        return _("Not a time zone name such as Europe/Vienna, America/Mexico_City or UTC.")
    return None


def patient_create(*, care_team: CareTeam, code: str, enrolled_on: date | None = None, **fields) -> tuple[Patient, str]:
    """Enrol a patient and issue the upload token, which is returned only here.

    The time zone defaults to ``CADENCE_DEFAULT_TIME_ZONE``, the language to ``CADENCE_DEFAULT_PATIENT_LANGUAGE``.
    Raises django.core.exceptions.ValidationError
    for a code that is not letters, digits, '-' and '_', and for fields that break :func:`_patient_check`.
    """
    patient_code_validator(code)
    fields.setdefault("timezone", settings.CADENCE_DEFAULT_TIME_ZONE)
    fields.setdefault("language", settings.CADENCE_DEFAULT_PATIENT_LANGUAGE)
    patient = Patient(care_team=care_team, code=code, enrolled_on=enrolled_on or timezone.localdate(), **fields)
    _patient_check(patient)
    with transaction.atomic():
        patient.save(force_insert=True)
        _, key = ApiToken.issue(kind=ApiToken.Kind.PATIENT, patient=patient)
    return patient, key


def patient_update(*, patient: Patient, **fields) -> list[str]:
    """Change what :data:`PATIENT_EDITABLE` names; ``active=False`` ends monitoring (the phones' tokens stop
    working and enrolment links are refused; everything recorded stays). Returns the fields that changed.

    Raises django.core.exceptions.ValidationError as :func:`patient_create` does; nothing is saved then.
    """
    unknown = set(fields) - set(PATIENT_EDITABLE)
    if unknown:
        raise TypeError(f"not editable: {', '.join(sorted(unknown))}")
    changed = [name for name, value in fields.items() if getattr(patient, name) != value]
    before = {name: getattr(patient, name) for name in changed}
    for name in changed:
        setattr(patient, name, fields[name])
    try:
        _patient_check(patient)
    except ValidationError:
        for name, value in before.items():
            setattr(patient, name, value)
        raise
    if changed:
        patient.save(update_fields=changed)
    return changed


def upload_token_rotate(*, patient: Patient) -> str:
    """Revoke the patient's upload tokens (a lost phone, a new app) and issue a new one, shown once."""
    with transaction.atomic():
        ApiToken.objects.filter(patient=patient, revoked_at__isnull=True).update(revoked_at=timezone.now())
        _, key = ApiToken.issue(kind=ApiToken.Kind.PATIENT, patient=patient)
    return key


def enrolment_link_create(*, patient: Patient, created_by: User) -> tuple[EnrolmentLink, str]:
    """A one-time link key for the patient's phone, valid CADENCE_ENROLMENT_LINK_TTL_S; returned only here."""
    key = secrets.token_urlsafe(24)
    link = EnrolmentLink.objects.create(
        patient=patient, key_hash=ApiToken.hash_key(key), created_by=created_by,
        expires_at=timezone.now() + timedelta(seconds=settings.CADENCE_ENROLMENT_LINK_TTL_S),
    )
    return link, key


def enrolment_link_redeem(*, key: str) -> str:
    """Use up a link and issue the phone its own upload token (other devices keep theirs)."""
    link = EnrolmentLink.objects.select_related("patient").filter(key_hash=ApiToken.hash_key(key)).first()
    now = timezone.now()
    if link is None:
        raise EnrolmentLinkInvalid(_("This link is not valid. Check that it was copied completely, or ask your care "
                                     "team for a new one."), code="link_unknown")
    if not link.patient.active:
        raise EnrolmentLinkInvalid(_("Monitoring has ended for this link's patient."), code="patient_inactive")
    with transaction.atomic():
        claimed = EnrolmentLink.objects.filter(pk=link.pk, used_at__isnull=True, expires_at__gt=now).update(used_at=now)
        if claimed != 1:
            link.refresh_from_db()
            if link.used_at is not None:
                raise EnrolmentLinkInvalid(_("This link has already been used. Each link works once; ask your care "
                                             "team for a new one."), code="link_used")
            raise EnrolmentLinkInvalid(_("This link has expired. Ask your care team for a new one."),
                                       code="link_expired")
        token, key = ApiToken.issue(kind=ApiToken.Kind.PATIENT, patient=link.patient)
        EnrolmentLink.objects.filter(pk=link.pk).update(device_token=token)
    return key


def clinician_token_issue(*, user: User, second_factor: bool = False, label: str = "") -> str:
    """A clinician's bearer token (shown once); ``second_factor`` says it was issued after one."""
    _, key = ApiToken.issue(kind=ApiToken.Kind.CLINICIAN, user=user, second_factor=second_factor, label=label)
    return key


def _sha256(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def _existing(patient: Patient, *, sha256: str, idempotency_key: str | None) -> Recording | None:
    """The recording this upload repeats, if any; a key already used for other audio is a 422."""
    if idempotency_key:
        found = Recording.objects.filter(patient=patient, idempotency_key=idempotency_key).first()
        if found and found.sha256 != sha256:
            raise UploadRejected(
                _("This Idempotency-Key was already used for a different recording; use a new key for new audio."),
                code="idempotency_key_reused", http_status=409,
            )
        if found:
            return found
    return Recording.objects.filter(patient=patient, sha256=sha256).first()


def _check_recorded_at(patient: Patient, recorded_at: datetime | None) -> None:
    """Refuse a recording time in the future (beyond the allowed clock skew) or before enrolment."""
    if recorded_at is None:
        return
    now = timezone.now()
    if (recorded_at - now).total_seconds() > settings.CADENCE_MAX_CLOCK_SKEW_S:
        raise UploadRejected(
            _("recorded_at (%(recorded_at)s) is in the future; the server's time is %(now)s. Check the device "
              "clock.") % {"recorded_at": recorded_at.isoformat(), "now": now.replace(microsecond=0).isoformat()},
            code="recorded_in_future",
            http_status=409,
        )
    try:
        local_day = recorded_at.astimezone(ZoneInfo(patient.timezone)).date()
    except (ZoneInfoNotFoundError, ValueError, OSError):
        local_day = recorded_at.date()
    if local_day < patient.enrolled_on:
        raise UploadRejected(
            _("recorded_at (%(recorded_at)s) is before the patient's enrolment on %(enrolled_on)s.") % {
                "recorded_at": recorded_at.isoformat(), "enrolled_on": patient.enrolled_on.isoformat()},
            code="recorded_before_enrolment", http_status=409,
        )


def _probe_or_reject(upload: UploadedFile):
    try:
        info = probe_audio(upload.file)
    except VoiceFeaturesError as exc:
        raise UploadRejected(audio_error_text(exc), code=exc.code,
                             http_status=_HTTP_STATUS_FOR_AUDIO_ERROR.get(exc.code, 400))
    finally:
        upload.seek(0)
    if info.duration_s is not None and info.duration_s < settings.CADENCE_MIN_DURATION_S:
        raise UploadRejected(
            _("The recording is %(duration)s s long; at least %(minimum)s s are needed.") % {
                "duration": f"{info.duration_s:.1f}", "minimum": f"{settings.CADENCE_MIN_DURATION_S:.0f}"},
            code="too_short", http_status=422,
        )
    if info.duration_s is not None and info.duration_s > settings.CADENCE_MAX_DURATION_S:
        raise UploadRejected(
            _("The recording is %(duration)s s long; the limit is %(limit)s s.") % {
                "duration": f"{info.duration_s:.0f}", "limit": f"{settings.CADENCE_MAX_DURATION_S:.0f}"},
            code="too_long", http_status=422,
        )
    return info


def recording_ingest(
    *, patient: Patient, upload: UploadedFile, recorded_at: datetime | None = None, idempotency_key: str | None = None,
    task: str = Task.FREE_SPEECH, task_detail: str = "", device_model: str = "", language: str = "",
    bulk: bool = False,
) -> IngestResult:
    """Store an upload and queue it for processing; the same file or key twice is one recording.

    ``device_model`` is the phone model the app reports (kept so a change of phone can be told
    apart from a change of voice); codec, bit rate and sample rate come from the file itself.
    The same ``idempotency_key`` with different audio is refused (422) and the first recording stays as it was.
    ``language`` is the language spoken (a BCP 47 tag; default the patient's); its primary subtag is kept, and
    baselines are kept per language as per task.
    ``bulk`` (the demo cohort) sends the recording to the ``bulk`` queue, which never delays patients' uploads.
    """
    _check_recorded_at(patient, recorded_at)
    if task not in Task.values:
        raise UploadRejected(_("Unknown task %(task)s; use one of: %(tasks)s.") % {
            "task": repr(task), "tasks": ", ".join(Task.values)}, code="invalid_task")
    try:
        task_detail = task_detail_check(task=task, detail=task_detail)
    except UnknownTaskDetail as exc:
        raise UploadRejected(str(exc), code="invalid_task")
    if upload.size == 0:
        raise UploadRejected(_("The file is empty."), code="empty")
    if upload.size > settings.CADENCE_MAX_UPLOAD_BYTES:
        raise UploadRejected(
            _("The file is %(size)s bytes; the limit is %(limit)s.") % {
                "size": upload.size, "limit": settings.CADENCE_MAX_UPLOAD_BYTES},
            code="too_large", http_status=413,
        )
    _require_consent(patient)
    sha256 = _sha256(upload)
    existing = _existing(patient, sha256=sha256, idempotency_key=idempotency_key)
    if existing:
        return IngestResult(existing, created=False)
    info = _probe_or_reject(upload)
    recording = Recording(
        patient=patient, sha256=sha256, size_bytes=upload.size, original_filename=(upload.name or "")[:255],
        container=info.container, codec=info.codec, sample_rate=info.sample_rate, channels=info.channels,
        bit_rate=info.bit_rate, device_model=_clean_device_model(device_model),
        duration_s=info.duration_s, recorded_at=recorded_at or timezone.now(), idempotency_key=idempotency_key,
        task=task, task_detail=task_detail, language=spoken_language(language or patient.language), bulk=bulk,
    )
    try:
        with transaction.atomic():
            recording.file.name = audio_store(prefix="recordings", chunks=upload.chunks())
            recording.save()
            transaction.on_commit(lambda: _enqueue(recording.pk, bulk=bulk))
    except IntegrityError:
        audio_delete(recording.file.name)
        existing = _existing(patient, sha256=sha256, idempotency_key=idempotency_key)
        if existing is None:
            raise
        return IngestResult(existing, created=False)
    return IngestResult(recording, created=True)


def spoken_language(tag: str) -> str:
    """The language of a BCP 47 tag, as recordings keep it: its primary subtag (``es-MX`` -> ``es``), "en" if none."""
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    return primary[:8] if primary.isalpha() else "en"


def _clean_device_model(value: str | None) -> str:
    """Printable characters only, at most 128 (the app's free text goes into the dashboard)."""
    text = "".join(ch for ch in (value or "") if ch.isprintable()).strip()
    return text[:128]


def _require_consent(patient: Patient) -> None:
    if settings.CADENCE_REQUIRE_CONSENT and not patient.has_consent:
        raise UploadRejected(
            _("No consent is recorded for this patient, and this service requires it before recordings are "
              "accepted. Ask the care team to record the signed consent form (version and date)."),
            code="consent_required", http_status=403,
        )


def _enqueue(recording_id: int, *, bulk: bool) -> None:
    """Hand the stored recording to the workers (a bulk one to its own queue). With the broker down the upload
    still succeeds: the row is marked and every worker queues it again once the broker is back
    (clinic.processing.tasks.recover_recordings)."""
    recordings_enqueue([recording_id], bulk={recording_id} if bulk else set())  # the upload knows: no query


def phq9_answered_at_check(answered_at: datetime) -> None:
    """A PHQ-9 cannot be answered in the future (beyond the allowed clock skew): raises :class:`Phq9Rejected`."""
    now = timezone.now()
    if (answered_at - now).total_seconds() > settings.CADENCE_MAX_CLOCK_SKEW_S:
        raise Phq9Rejected(
            _("A PHQ-9 cannot be answered in the future: answered_at (%(answered_at)s) is after the server's time "
              "(%(now)s).") % {"answered_at": answered_at.isoformat(), "now": now.replace(microsecond=0).isoformat()},
            code="answered_in_future",
            http_status=409)  # a conflict with the server's clock, as recorded_in_future


def phq9_record(
    *, patient: Patient, items: list[int], answered_at: datetime, difficulty: int | None = None, entered_by: User | None = None
) -> Phq9Response:
    """Store a PHQ-9; an item-9 answer above 0 raises the safety alert at once. A PHQ-9 answered in the future
    is refused (:func:`phq9_answered_at_check`)."""
    phq9_answered_at_check(answered_at)
    response = Phq9Response(
        patient=patient, answered_at=answered_at, difficulty=difficulty, entered_by=entered_by,
        source=Phq9Response.Source.CLINICIAN if entered_by else Phq9Response.Source.SELF_REPORT,
        **dict(zip(Phq9Response.item_fields, items, strict=True)),
    )
    with transaction.atomic():
        response.save()
        transaction.on_commit(lambda: _phq9_recorded(response.pk))
    return response


def _phq9_recorded(response_id: int) -> None:
    phq9_recorded.send(sender=Phq9Response, response_id=response_id)


def emotion_label_set(*, recording: Recording, label: str, labelled_by: User) -> tuple[EmotionLabel, bool]:
    """Record one clinician's emotion label for a recording, replacing their earlier one (True when new).

    The caller checks ``label`` against the active emotion model's classes; the labels are the
    ground truth of the model's daily per-class recall (screening.monitoring).
    """
    return EmotionLabel.objects.update_or_create(recording=recording, labelled_by=labelled_by,
                                                 defaults={"label": label, "labelled_at": timezone.now()})
