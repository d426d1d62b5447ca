from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.exceptions import NotFound

from clinic.models import CareTeam, Patient, Phq9Response, Recording, patient_code_validator
from clinic.processing.models import FeatureSet
from clinic.protocols import FREE_SPEECH_PROMPTS, PASSAGES, Task
from clinic.services import BCP47_PATTERN, CONSENT_INCOMPLETE, LANGUAGE_TAG_PROBLEM, time_zone_problem


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(trim_whitespace=False)  # "  " is a wrong username (401), not a blank field
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    otp = serializers.CharField(required=False, max_length=64, help_text=(
        "The current code of the account's authenticator app, or one of its recovery codes: required when the "
        "account has a second factor."))


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    token_type = serializers.CharField(default="Bearer")


class PatientCodeField(serializers.CharField):
    """Checked before anything else (a NUL or a slash never reaches the uniqueness query)."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            patient_code_validator(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        return value


class CareTeamField(serializers.PrimaryKeyRelatedField):
    """A care team by id; one that does not exist is a 404, as one the clinician is not in (web/api/views.py)."""

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError:
            if isinstance(data, bool) or not str(data).lstrip("-").isdigit():
                raise
            raise NotFound(_("No care team has this id, or you are not in it.")) from None


class PatientSerializer(serializers.ModelSerializer):
    # Unique across the clinic: a code already taken is a 409 (web/api/views.py), not a field error.
    code = PatientCodeField(max_length=64, validators=[patient_code_validator],
                            help_text="Pseudonymous code: letters, digits, '-' and '_' (no names); unique (409 if "
                                      "taken).")
    care_team = CareTeamField(queryset=CareTeam.objects.all(), required=False,
                              help_text="Your care team to enrol into (404 if you are not in it); needed only when you "
                                        "are in several.")

    class Meta:
        model = Patient
        fields = ["id", "code", "care_team", "enrolled_on", "sex", "birth_year", "language", "timezone", "active",
                  "consent_version", "consent_given_at"]
        read_only_fields = ["id"]
        extra_kwargs = {"enrolled_on": {"required": False}}

    def validate_timezone(self, value: str) -> str:
        problem = time_zone_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def validate_language(self, value: str) -> str:
        if not BCP47_PATTERN.fullmatch(value):
            raise serializers.ValidationError(str(LANGUAGE_TAG_PROBLEM))
        return value

    def validate(self, attrs: dict) -> dict:
        version = attrs.get("consent_version", getattr(self.instance, "consent_version", ""))
        given_at = attrs.get("consent_given_at", getattr(self.instance, "consent_given_at", None))
        if bool(version) != bool(given_at):
            raise serializers.ValidationError(
                {"consent_given_at": [str(CONSENT_INCOMPLETE)]})
        return attrs


class PatientCreatedSerializer(PatientSerializer):
    upload_token = serializers.CharField(read_only=True, help_text="Shown once; only its hash is stored.")

    class Meta(PatientSerializer.Meta):
        fields = [*PatientSerializer.Meta.fields, "upload_token"]


class EnrolmentLinkSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="Open once on the patient's phone; works until expires_at.")
    expires_at = serializers.DateTimeField()


class EnrolmentRedeemSerializer(serializers.Serializer):
    link = serializers.CharField(max_length=128, help_text="The key after '#' in the enrolment URL.")


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="A stable machine-readable code, e.g. not_found, invalid.")
    detail = serializers.CharField(help_text="A sentence a person can read.")
    fields = serializers.DictField(
        child=serializers.JSONField(), required=False,
        help_text="For invalid input: each offending field (or query parameter) with its problems.")


class UploadTokenSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The patient's id.")
    upload_token = serializers.CharField(help_text="Shown once; only its hash is stored.")


class RecordingUploadSerializer(serializers.Serializer):
    audio = serializers.FileField(allow_empty_file=True, help_text="The recording (WAV, FLAC, Ogg, WebM, MP3, M4A).")
    recorded_at = serializers.DateTimeField(
        required=False, help_text="When the patient spoke (default: now). Not in the future beyond a small clock "
                                  "skew, not before enrolment.")
    task = serializers.ChoiceField(choices=Task.choices, default=Task.FREE_SPEECH,
                                   help_text="What the patient was asked to do; baselines are kept per task.")
    task_detail = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=32,
        help_text=f"read_passage: the passage ({', '.join(PASSAGES)}); free_speech: optional prompt "
                  f"({', '.join(FREE_SPEECH_PROMPTS)}).")
    device_model = serializers.CharField(
        required=False, allow_blank=True, max_length=128,
        help_text="Phone model as the app knows it (e.g. 'Pixel 7'); the X-Device-Model header works too")
    language = serializers.RegexField(
        r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$", required=False, allow_blank=True, max_length=35,
        error_messages={"invalid": "language must be a language tag such as en, es or es-MX."},
        help_text="The language spoken (a BCP 47 tag: en, es, es-MX); default: the patient's language. Baselines "
                  "are kept per language as per task.")


class PatientSelfSerializer(serializers.Serializer):
    language = serializers.CharField(help_text="The patient's language (BCP 47); the recorder speaks it when it can.")
    interface_language = serializers.CharField(allow_null=True,
                                               help_text="The interface language Cadence uses for it (en, es), null "
                                                         "when Cadence does not speak it.")


class RecordingAcceptedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


class FeatureSetSerializer(serializers.ModelSerializer):
    """One version of a recording's features; the embedding only when asked for (``?include=embedding``)."""

    features = serializers.DictField(child=serializers.FloatField(allow_null=True),
                                     help_text="Feature name -> value (null where undefined).")
    quality = serializers.DictField(child=serializers.JSONField(), help_text="Quality checks and their values.")
    embedding = serializers.ListField(child=serializers.FloatField(), source="vector", allow_null=True, required=False,
                                      help_text="256-number speaker embedding; only with ?include=embedding.")
    emotion = serializers.DictField(child=serializers.JSONField(), allow_null=True,
                                    help_text="Speech-emotion estimates, null while no model is active.")

    def get_fields(self):
        fields = super().get_fields()
        if self.context.get("include_embedding") is False:  # the views always say; the schema lists it
            fields.pop("embedding")
        return fields

    class Meta:
        model = FeatureSet
        fields = ["version", "features", "quality", "embedding", "speaker_similarity", "speaker_mismatch",
                  "emotion", "computed_at"]


class RecordingSerializer(serializers.ModelSerializer):
    patient = serializers.SlugRelatedField(slug_field="code", read_only=True)
    feature_sets = FeatureSetSerializer(many=True, read_only=True)
    emotion_stage = serializers.SerializerMethodField(
        help_text='"off" when no trained speech-emotion model is active, else the active model version')

    def get_emotion_stage(self, recording) -> str:
        # Read the model registry once per response, not once per recording listed.
        if "emotion_stage" not in self.context:
            from screening.selectors import emotion_stage

            self.context["emotion_stage"] = emotion_stage()
        return self.context["emotion_stage"]

    class Meta:
        model = Recording
        fields = ["id", "patient", "status", "status_reason", "status_code", "attempts", "recorded_at", "uploaded_at", "task", "task_detail",
                  "language", "finished_at", "container", "codec", "bit_rate", "sample_rate", "channels", "device_model", "duration_s", "size_bytes",
                  "sha256", "feature_sets", "emotion_stage"]


class Phq9InputSerializer(serializers.Serializer):
    items = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=3), min_length=9, max_length=9,
        help_text="The nine item scores in order, each 0-3.",
    )
    difficulty = serializers.IntegerField(min_value=0, max_value=3, required=False, allow_null=True)
    answered_at = serializers.DateTimeField()
    patient = serializers.IntegerField(
        required=False, min_value=1, max_value=2**31 - 1,
        help_text="Clinicians: the patient answered for (or ?patient=); ignored for a patient's own app.")


class Phq9Serializer(serializers.ModelSerializer):
    patient = serializers.SlugRelatedField(slug_field="code", read_only=True)
    items = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    severity = serializers.CharField(read_only=True)
    entered_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True,
                                              help_text="The clinician who entered it; null for self-report.")

    class Meta:
        model = Phq9Response
        fields = ["id", "patient", "items", "difficulty", "total", "severity", "answered_at", "source",
                  "entered_by", "created_at"]


class FhirBundleSerializer(serializers.Serializer):
    resourceType = serializers.CharField(help_text='"Bundle"')  # noqa: N815 (FHIR's name)
    type = serializers.CharField(help_text='"collection"')
    entry = serializers.ListField(child=serializers.DictField(child=serializers.JSONField()),
                                  help_text="QuestionnaireResponse and Observation resources.")


class EmotionLabelInputSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=32, help_text="One of the active speech-emotion model's classes "
                                                           "(listed in `choices` of the answer, and in a 400).")


class EmotionLabelSerializer(serializers.Serializer):
    recording = serializers.IntegerField(source="recording_id")
    label = serializers.CharField(allow_null=True, help_text="Your label; null if you have not labelled it.")
    labelled_at = serializers.DateTimeField(allow_null=True)
    model_version = serializers.CharField(allow_null=True, help_text="The active emotion model whose classes are "
                                                                     "offered; null while none is active.")
    choices = serializers.ListField(child=serializers.CharField(), help_text="The classes a label may take "
                                                                             "(empty while no model is active).")
