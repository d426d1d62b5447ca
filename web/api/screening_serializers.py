"""Typed descriptions of the screening responses (timeline, validation report) for the OpenAPI schema.

The views return the screening layer's dictionaries; these serializers say what is in them.
"""

from rest_framework import serializers

_ANY = serializers.JSONField()


def _dict(help_text: str, *, nullable: bool = False) -> serializers.DictField:
    return serializers.DictField(child=serializers.JSONField(), allow_null=nullable, help_text=help_text)


class TimelinePatientSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    sex = serializers.CharField()
    birth_year = serializers.IntegerField(allow_null=True)
    language = serializers.CharField()
    enrolled_on = serializers.DateField()


class TimelineRecordingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    recorded_at = serializers.DateTimeField()
    status = serializers.CharField()
    status_reason = serializers.CharField(allow_blank=True)
    status_code = serializers.CharField(allow_blank=True, help_text="What status_reason says, for programs "
                                        "(docs/api.md); empty when done.")
    duration_s = serializers.FloatField(allow_null=True)
    feature_version = serializers.CharField(allow_null=True)
    features = serializers.DictField(child=serializers.FloatField(allow_null=True), allow_null=True)
    quality = _dict("Quality checks and their values.", nullable=True)
    speaker_similarity = serializers.FloatField(allow_null=True)
    speaker_mismatch = serializers.BooleanField(allow_null=True)
    emotion = _dict("Speech-emotion estimates.", nullable=True)
    device_model = serializers.CharField(allow_blank=True, help_text="Phone model the app reported.")
    codec = serializers.CharField(allow_blank=True)
    new_phone = serializers.BooleanField(
        help_text="The first recording from a new phone or codec family: a new baseline segment starts here.")
    baseline_pending_reason = serializers.CharField(
        allow_blank=True, help_text="Why the recording has no score yet: 'first recordings' or 'new phone' ('' if scored).")
    scored = serializers.BooleanField(help_text="The recording has a risk score.")
    early_estimate = _dict("While the baseline is pending: the early estimate against population norms "
                           "(predicted_phq9, interval, p_phq9_ge10 (null under the uncalibrated early model), "
                           "population_phq9 (before the patient's early level), personal_offset and n_phq9 (the "
                           "early level from the patient's PHQ-9s so far, 0 and 0 without one), drivers, "
                           "model_version, calibrated, reference); null otherwise.", nullable=True)


class TimelineBaselineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    built_at = serializers.DateTimeField()
    n_recordings = serializers.IntegerField()
    task = serializers.CharField(help_text="Recording task the baseline belongs to.")
    features = _dict("Feature name -> the patient's baseline statistics.")


class TimelineScoreSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    recording_id = serializers.IntegerField(allow_null=True)
    predicted_phq9 = serializers.FloatField(allow_null=True)
    predicted_phq9_low = serializers.FloatField(allow_null=True)
    predicted_phq9_high = serializers.FloatField(allow_null=True)
    prob_ge10 = serializers.FloatField(allow_null=True)
    voice_deviation = serializers.FloatField(allow_null=True)
    deviations = _dict("Per-feature deviation from the baseline.")
    drivers = serializers.ListField(child=_ANY, help_text="The features that moved the score most.")
    calibrated = serializers.BooleanField()
    model_version = serializers.CharField()
    baseline_id = serializers.IntegerField(allow_null=True)
    task = serializers.CharField(allow_blank=True, help_text="The recording's task ('' for weekly scores).")
    estimate_type = serializers.ChoiceField(
        choices=["personal", "early", "pending"],
        help_text="'personal': change from the patient's own baseline (every score in 'scores' and 'weekly').")


class TimelineEarlySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    recording_id = serializers.IntegerField()
    task = serializers.CharField()
    estimate_type = serializers.ChoiceField(choices=["early"])
    reason = serializers.CharField(help_text="Why the baseline is pending: 'first recordings' or 'new phone'.")
    predicted_phq9 = serializers.FloatField()
    predicted_phq9_low = serializers.FloatField()
    predicted_phq9_high = serializers.FloatField()
    prob_ge10 = serializers.FloatField(allow_null=True, help_text="Null under the uncalibrated early model.")
    drivers = serializers.ListField(child=serializers.JSONField(), help_text="Features furthest from similar speakers' norms.")
    calibrated = serializers.BooleanField()
    model_version = serializers.CharField()
    reference = _dict("The norms' cell: sex, age band, task, codec family.")


class TimelinePhq9Serializer(serializers.Serializer):
    id = serializers.IntegerField()
    answered_at = serializers.DateTimeField()
    total = serializers.IntegerField()
    severity = serializers.CharField()
    items = serializers.ListField(child=serializers.IntegerField())
    difficulty = serializers.IntegerField(allow_null=True)
    source = serializers.CharField()


class TimelineAlertSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    priority = serializers.IntegerField()
    state = serializers.CharField()
    message = serializers.CharField()
    created_at = serializers.DateTimeField()


class TimelineFeatureChangeSerializer(serializers.Serializer):
    feature = serializers.CharField()
    label = serializers.CharField()
    unit = serializers.CharField(allow_blank=True)
    change = serializers.FloatField(allow_null=True, help_text="Latest recording minus the free-speech baseline median.")
    mdc95 = serializers.FloatField(allow_null=True, help_text="Minimal detectable change (95 %) of the latest "
                                   "recording's task; null while not measured.")
    icc = serializers.FloatField(allow_null=True, help_text="Test-retest ICC(3,1) behind the MDC95.")
    beyond_mdc = serializers.BooleanField(allow_null=True, help_text="The change exceeds the MDC95; null when either "
                                          "is unknown.")
    note = serializers.CharField(allow_blank=True, help_text="The verdict in a sentence, as the dashboard shows it.")


class TimelineSerializer(serializers.Serializer):
    patient = TimelinePatientSerializer()
    recordings = TimelineRecordingSerializer(many=True)
    baselines = TimelineBaselineSerializer(many=True)
    scores = TimelineScoreSerializer(many=True)
    baseline_pending_recordings = serializers.IntegerField()
    early_estimates = TimelineEarlySerializer(
        many=True, help_text="Early estimates: no personal baseline yet (population norms, wider interval); "
                             "replaced by personal scores once the baseline forms.")
    emotion_stage = serializers.CharField()
    weekly = TimelineScoreSerializer(many=True)
    phq9 = TimelinePhq9Serializer(many=True)
    alerts = TimelineAlertSerializer(many=True)
    feature_changes = TimelineFeatureChangeSerializer(many=True, help_text="Each key feature's latest change from "
                                                      "baseline against its minimal detectable change.")


class ReportSummarySerializer(serializers.Serializer):
    n_phq9 = serializers.IntegerField(help_text="PHQ-9 responses in scope.")
    n_pairs = serializers.IntegerField(help_text="PHQ-9s paired with enough recordings before them.")


class ReportContentSerializer(serializers.Serializer):
    title = serializers.CharField()
    generated_at = serializers.DateTimeField()
    summary = ReportSummarySerializer()
    parameters = _dict("How the report was computed.")


class TeamSummarySerializer(serializers.Serializer):
    care_team = serializers.IntegerField()
    name = serializers.CharField()
    summary = _dict("The team's summary section (same keys as report.summary).")


class ValidationReportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    trigger = serializers.CharField()
    scope = serializers.CharField(help_text='"all" (every care team) or "care_teams".')
    care_teams = serializers.ListField(child=serializers.IntegerField(), help_text="Care team ids covered.")
    report = ReportContentSerializer(help_text="The full report; further sections as in docs/screening.md.")
    teams = TeamSummarySerializer(many=True, help_text="Cross-team reports: one summary per care team.")


class ReportRequestedSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='"queued": the report is built in the background.')
    scope = serializers.CharField()
    care_teams = serializers.ListField(child=serializers.IntegerField())
