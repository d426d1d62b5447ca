"""Clinic data: care teams, patients, recordings, PHQ-9 responses, tokens, enrolment links and the audit log."""

import hashlib
import secrets
import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from clinic.phq9 import phq9_total, severity_band
from clinic.protocols import Task


class CareTeam(models.Model):
    name = models.CharField(max_length=200, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="care_teams", blank=True, through="Membership"
    )

    def __str__(self) -> str:
        return self.name


class StaffProfile(models.Model):
    """A staff member's own settings: the language of their dashboard and of the e-mails they receive."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile")
    language = models.CharField(max_length=8, blank=True,
                                help_text="Dashboard and e-mail language (en, es); blank: the browser's")

    def __str__(self) -> str:
        return f"settings of {self.user_id}"


class Membership(models.Model):
    """A clinician's place in a care team; a lead also reviews the team's audit trail."""

    class Role(models.TextChoices):
        CLINICIAN = "clinician"
        LEAD = "lead"

    care_team = models.ForeignKey(CareTeam, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.CLINICIAN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["care_team__name", "user__username"]
        constraints = [models.UniqueConstraint(fields=["care_team", "user"], name="one_membership_per_team")]

    def __str__(self) -> str:
        return f"{self.user} in {self.care_team} ({self.role})"


#: Patient codes are pseudonyms: letters, digits, "-" and "_" only (never a path, never a name).
PATIENT_CODE_PATTERN = r"^[A-Za-z0-9_-]+$"
patient_code_validator = RegexValidator(
    PATIENT_CODE_PATTERN, "A patient code may contain only letters, digits, '-' and '_'.", code="invalid_code"
)


class Patient(models.Model):
    class Sex(models.TextChoices):
        FEMALE = "female"
        MALE = "male"
        OTHER = "other"
        UNKNOWN = "unknown"

    code = models.CharField(max_length=64, unique=True, validators=[patient_code_validator],
                            help_text="Pseudonymous code (letters, digits, '-', '_'); no names.")
    care_team = models.ForeignKey(CareTeam, on_delete=models.PROTECT, related_name="patients")
    enrolled_on = models.DateField()
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    birth_year = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1900), MaxValueValidator(2100)]
    )
    language = models.CharField(max_length=16, default="en", help_text="BCP 47 tag, e.g. en, de-AT")
    timezone = models.CharField(max_length=64, default="UTC")
    active = models.BooleanField(default=True)
    consent_version = models.CharField(max_length=32, blank=True, help_text="Version of the consent form signed")
    consent_given_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    @property
    def has_consent(self) -> bool:
        return bool(self.consent_version and self.consent_given_at)

    def __str__(self) -> str:
        return self.code


class ApiToken(models.Model):
    """A bearer token; only its SHA-256 is stored, the token itself is shown once."""

    class Kind(models.TextChoices):
        CLINICIAN = "clinician"
        PATIENT = "patient"

    key_hash = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    patient = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.CASCADE, related_name="tokens")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # A clinician token: whether it was issued after a second factor (or single sign-on that asserted one), and
    # where (shown on the clinician's own token page).
    second_factor = models.BooleanField(default=False)
    label = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="token_has_exactly_one_owner",
                condition=(Q(kind="clinician", user__isnull=False, patient__isnull=True))
                | (Q(kind="patient", patient__isnull=False, user__isnull=True)),
            )
        ]

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, *, kind: str, user=None, patient=None, second_factor: bool = False,
              label: str = "") -> tuple["ApiToken", str]:
        key = secrets.token_urlsafe(32)
        token = cls.objects.create(key_hash=cls.hash_key(key), kind=kind, user=user, patient=patient,
                                   second_factor=second_factor, label=label)
        return token, key


def recording_upload_path(instance: "Recording", filename: str) -> str:
    """Named by a random uuid, never by anything of the patient's (clinic.storage writes the files)."""
    return f"recordings/{uuid.uuid4().hex}.enc"


class Recording(models.Model):
    class Status(models.TextChoices):
        RECEIVED = "received"
        PROCESSING = "processing"
        DONE = "done"
        REJECTED = "rejected"
        FAILED = "failed"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="recordings")
    file = models.FileField(upload_to=recording_upload_path, max_length=255)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveBigIntegerField()
    original_filename = models.CharField(max_length=255, blank=True)
    container = models.CharField(max_length=16)
    codec = models.CharField(max_length=32, blank=True)
    sample_rate = models.PositiveIntegerField(null=True)
    bit_rate = models.PositiveIntegerField(null=True, blank=True, help_text="Audio bit rate the file declares, bit/s")
    device_model = models.CharField(max_length=128, blank=True, help_text="Phone or device model the app reports")
    channels = models.PositiveSmallIntegerField(null=True)
    duration_s = models.FloatField(null=True)
    recorded_at = models.DateTimeField()
    uploaded_at = models.DateTimeField(auto_now_add=True)
    task = models.CharField(max_length=16, choices=Task.choices, default=Task.FREE_SPEECH,
                            help_text="What the patient was asked to do; baselines are kept per task.")
    task_detail = models.CharField(max_length=32, blank=True,
                                   help_text="The passage read (read_passage) or the prompt answered (free_speech).")
    language = models.CharField(max_length=8, default="en", db_default="en",
                                help_text="The language spoken (ISO 639-1, e.g. en, es); baselines are kept per "
                                          "language as per task.")
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED, db_index=True)
    status_reason = models.TextField(blank=True)
    # What status_reason says, for programs: the audio error's or the quality gate's code (voice_features), or
    # "not_finished"; apps show their own words for it in the patient's language (the recorder does).
    status_code = models.CharField(max_length=32, blank=True, default="", db_default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    # The lease of the worker process processing it ("host:pid"), renewed while it works; a lapsed lease, or a
    # claimant process that is gone, lets another worker take the recording over (clinic/processing/services.py).
    claimed_by = models.CharField(max_length=255, blank=True, default="", db_default="")  # rows inserted by older code
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Set when the hand-off to the broker failed (Redis down); workers queue these again without beat.
    enqueue_failed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    audio_deleted_at = models.DateTimeField(null=True, blank=True, help_text="Raw audio removed (retention)")
    bulk = models.BooleanField(default=False, db_default=False, help_text="Loaded in bulk (the demo cohort): processed on the 'bulk' "
                                                        "queue, never ahead of a patient's own upload.")

    class Meta:
        ordering = ["-recorded_at"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "sha256"], name="one_recording_per_file"),
            models.UniqueConstraint(
                fields=["patient", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="one_recording_per_idempotency_key",
            ),
        ]
        indexes = [models.Index(fields=["patient", "recorded_at"])]

    def __str__(self) -> str:
        return f"recording {self.pk} of {self.patient_id} ({self.status})"


class Phq9Response(models.Model):
    class Source(models.TextChoices):
        SELF_REPORT = "self_report"
        CLINICIAN = "clinician"

    item_fields = tuple(f"item{n}" for n in range(1, 10))

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="phq9_responses")
    item1 = models.PositiveSmallIntegerField(validators=[MaxValueValidator(3)])
    item2 = models.PositiveSmallIntegerField(validators=[MaxValueValidator(3)])
    item3 = models.PositiveSmallIntegerField(validators=[MaxValueValidator(3)])
    item4 = models.PositiveSmallIntegerField(validators=[MaxValueValidator(3)])
    item5 = models.PositiveSmallIntegerField(validators=[MaxValueValidator(3)])
    item6 = models.PositiveSmallIntegerField(validators=[MaxValueValidator(3)])
    item7 = models.PositiveSmallIntegerField(validators=[MaxValueValidator(3)])
    item8 = models.PositiveSmallIntegerField(validators=[MaxValueValidator(3)])
    item9 = models.PositiveSmallIntegerField(validators=[MaxValueValidator(3)])
    difficulty = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(3)],
        help_text="How difficult have these problems made it... (0 not difficult at all - 3 extremely)",
    )
    total = models.PositiveSmallIntegerField(editable=False)
    answered_at = models.DateTimeField()
    source = models.CharField(max_length=12, choices=Source.choices)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-answered_at"]
        indexes = [models.Index(fields=["patient", "answered_at"])]

    @property
    def items(self) -> list[int]:
        return [getattr(self, name) for name in self.item_fields]

    @property
    def severity(self) -> str:
        return severity_band(self.total)

    def save(self, *args, **kwargs) -> None:
        self.total = phq9_total(self.items)
        super().save(*args, **kwargs)


class AuditEvent(models.Model):
    """Append-only record of a staff read or write of patient data, and of staff sign-ins, failed sign-ins,
    second-factor enrolments and resets, password resets and API tokens."""

    class Action(models.TextChoices):
        READ = "read"
        CREATE = "create"
        UPDATE = "update"
        EXPORT = "export"
        DELETE = "delete"
        DENIED = "denied"  # a refused attempt to read or request something
        ERASE = "erase"
        LOGIN = "login"  # a staff sign-in (password, second factor or single sign-on) or a token issued
        LOGOUT = "logout"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", help_text="Empty for operator commands run on the server")
    action = models.CharField(max_length=10, choices=Action.choices)
    resource = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    patient_code = models.CharField(max_length=64, blank=True, db_index=True)
    path = models.CharField(max_length=512, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at"]

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise PermissionError("the audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("the audit log is append-only")


class EnrolmentLink(models.Model):
    """A one-time, expiring link that puts a patient's upload token on a phone; only its SHA-256 is stored."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="enrolment_links")
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    device_token = models.OneToOneField(ApiToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"enrolment link {self.pk} of {self.patient_id}"


class BulkExport(models.Model):
    """A care team's data export (FHIR NDJSON + CSV), built in the background, files encrypted at rest."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    care_team = models.ForeignKey(CareTeam, on_delete=models.CASCADE, related_name="exports")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0, help_text="0-1")
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    files = models.JSONField(default=dict, help_text="Output name -> {storage name, resource type, count}")

    class Meta:
        ordering = ["-requested_at"]


class EmotionLabel(models.Model):
    """A clinician's emotion label for a recording: ground truth for monitoring the emotion model."""

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="emotion_labels")
    label = models.CharField(max_length=32)
    labelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    labelled_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-labelled_at"]
        constraints = [models.UniqueConstraint(fields=["recording", "labelled_by"], name="one_emotion_label_per_rater")]
