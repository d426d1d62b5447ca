"""Screening state: baselines, risk scores, fitted risk models, alerts, validation reports."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from screening.alerts.kinds import ALERT_KINDS, kind_spec
from screening.alerts.kinds import Priority as AlertPriority
from screening.localize import said_again


class RiskModel(models.Model):
    """A fitted population risk model (JSON), versioned; at most one is active."""

    version = models.CharField(max_length=64, unique=True)
    fitted_at = models.DateTimeField(auto_now_add=True)
    payload = models.JSONField()
    cv_metrics = models.JSONField(default=dict)
    active = models.BooleanField(default=False)

    class Meta:
        ordering = ["-fitted_at"]
        constraints = [models.UniqueConstraint(fields=["active"], condition=Q(active=True), name="one_active_risk_model")]


class EarlyReference(models.Model):
    """Population norms and the early model learnt from the clinic's data (``manage.py fit_early_model``),
    for early estimates before a personal baseline; at most one is active (none: the literature prior)."""

    version = models.CharField(max_length=64, unique=True)
    fitted_at = models.DateTimeField(auto_now_add=True)
    payload = models.JSONField(help_text="norms (screening.risk_model.early.PopulationNorms), model (or null), counts")
    active = models.BooleanField(default=False)

    class Meta:
        ordering = ["-fitted_at"]
        constraints = [models.UniqueConstraint(fields=["active"], condition=Q(active=True),
                                               name="one_active_early_reference")]


class BaselineSnapshot(models.Model):
    """An immutable baseline, kept so any past score can be reproduced."""

    patient = models.ForeignKey("clinic.Patient", on_delete=models.CASCADE, related_name="baselines")
    built_at = models.DateTimeField()
    task = models.CharField(max_length=16, default="free_speech",
                            help_text="Recording task the baseline belongs to (baselines are per task and phone)")
    payload = models.JSONField()
    n_recordings = models.PositiveIntegerField()

    class Meta:
        ordering = ["-built_at"]
        indexes = [models.Index(fields=["patient", "built_at"])]


class RiskScore(models.Model):
    class Scope(models.TextChoices):
        RECORDING = "recording"
        WEEK = "week"

    class EstimateType(models.TextChoices):
        PERSONAL = "personal", "Personal score (change from the patient's own baseline)"
        EARLY = "early", "Early estimate: no personal baseline yet"
        PENDING = "pending", "Baseline pending, no estimate"

    patient = models.ForeignKey("clinic.Patient", on_delete=models.CASCADE, related_name="risk_scores")
    recording = models.ForeignKey("clinic.Recording", null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="risk_scores")
    scope = models.CharField(max_length=10, choices=Scope.choices)
    at = models.DateTimeField(help_text="recorded_at of the recording, or the start of the week")
    task = models.CharField(max_length=16, blank=True,
                            help_text="The recording's task (recording scores); blank for weekly scores")
    baseline = models.ForeignKey(BaselineSnapshot, null=True, blank=True, on_delete=models.SET_NULL)
    risk_model_version = models.CharField(max_length=64)
    calibrated = models.BooleanField()
    predicted_phq9 = models.FloatField(null=True)
    predicted_phq9_low = models.FloatField(null=True)
    predicted_phq9_high = models.FloatField(null=True)
    prob_ge10 = models.FloatField(null=True)
    voice_deviation = models.FloatField(null=True, help_text="Composite voice-deviation index")
    population_phq9 = models.FloatField(null=True, help_text="Population-model PHQ-9 before the personal offset")
    personal_offset = models.FloatField(null=True, help_text="The patient's calibration offset used, points")
    n_phq9 = models.PositiveIntegerField(null=True, help_text="PHQ-9s behind the personal offset")
    n_recordings = models.PositiveIntegerField(default=1, help_text="Recordings summarised (weekly scores)")
    deviations = models.JSONField(default=dict)
    drivers = models.JSONField(default=list)
    estimate_type = models.CharField(
        max_length=10, choices=EstimateType.choices, default=EstimateType.PERSONAL,
        help_text="What the score rests on: the patient's own baseline, or (no baseline yet) an early estimate")
    early_estimate = models.JSONField(
        null=True, blank=True,
        help_text="Early estimate against population norms while the baseline is pending (docs/screening.md)")
    scored_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["patient", "scope", "at"])]
        constraints = [
            models.UniqueConstraint(fields=["recording"], condition=Q(scope="recording"), name="one_score_per_recording"),
            models.UniqueConstraint(fields=["patient", "at"], condition=Q(scope="week"), name="one_score_per_week"),
        ]


def localized_message(message: str, message_i18n: dict | None) -> str:
    """``message_i18n``'s English template in the active language filled with its values (decimal numbers in the
    language's format); the stored English ``message`` where there is no template (older rows) or the translation
    does not fit."""
    msgid, params = (message_i18n or {}).get("msgid"), (message_i18n or {}).get("params")
    if not isinstance(msgid, str) or not isinstance(params, dict):
        return message
    return said_again(msgid, params, message)


class Alert(models.Model):
    #: The kinds and priorities declared in screening.alerts.kinds (``Alert.Kind.SELF_HARM`` = "self_harm").
    Kind = models.TextChoices("Kind", [(kind.name.upper(), (kind.name, kind.label)) for kind in ALERT_KINDS])
    Priority = models.IntegerChoices("Priority", [(priority.name, priority.value) for priority in AlertPriority])

    class State(models.TextChoices):
        OPEN = "open"
        ACKNOWLEDGED = "acknowledged"
        RESOLVED = "resolved"

    patient = models.ForeignKey("clinic.Patient", on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices)
    state = models.CharField(max_length=12, choices=State.choices, default=State.OPEN, db_index=True)
    message = models.TextField()
    #: ``{"msgid": the message's English template, "params": its values}`` (screening.alerts.rules): the dashboard
    #: shows the message in the clinician's language from it; empty for alerts made before (shown as stored).
    message_i18n = models.JSONField(default=dict, blank=True)
    episode_key = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    recording = models.ForeignKey("clinic.Recording", null=True, blank=True, on_delete=models.SET_NULL)
    phq9 = models.ForeignKey("clinic.Phq9Response", null=True, blank=True, on_delete=models.SET_NULL)

    def localized_message(self) -> str:
        """The message in the active language (the dashboard's): its template translated and filled again; the
        stored English message where there is no template (older alerts) or the translation does not fit."""
        return localized_message(self.message, self.message_i18n)

    class Meta:
        ordering = ["priority", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "kind", "episode_key"], name="one_alert_per_episode"),
        ]

    @property
    def urgent(self) -> bool:
        """Self-harm: notified at once, never held by quiet hours, escalated, listed first (the kind's flag)."""
        return kind_spec(self.kind).urgent


class ValidationReport(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    trigger = models.CharField(max_length=16, default="manual")
    payload = models.JSONField()
    html = models.TextField()
    html_i18n = models.JSONField(
        default=dict, blank=True,
        help_text="The page in every other language of LANGUAGES, built with it: {language code: HTML}; empty for "
                  "reports built before it was kept (shown in English).")
    care_team_ids = models.JSONField(
        null=True, blank=True, help_text="Care teams whose patients the report covers; null: every team.")
    team_summaries = models.JSONField(
        default=list, blank=True, help_text="Cross-team reports: each care team's summary section.")

    class Meta:
        ordering = ["-created_at"]
        permissions = [("view_cross_team_report", "Can read and request the cross-team validation report")]


class FeatureReliability(models.Model):
    """Test–retest reliability of one feature for one recording task (``manage.py feature_reliability``)."""

    task = models.CharField(max_length=16)
    feature = models.CharField(max_length=64)
    computed_at = models.DateTimeField()
    n_pairs = models.PositiveIntegerField()
    icc = models.FloatField(null=True, help_text="ICC(3,1)")
    icc_ci_low = models.FloatField(null=True)
    icc_ci_high = models.FloatField(null=True)
    sem = models.FloatField(null=True, help_text="Standard error of measurement, feature units")
    mdc95 = models.FloatField(null=True, help_text="Minimal detectable change (95 %), feature units")
    reason = models.CharField(max_length=200, blank=True, help_text="Why the figures are missing")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "feature"], name="one_reliability_per_task_feature")]
        ordering = ["task", "feature"]


class MonitoringSnapshot(models.Model):
    """One day's model-monitoring figures for a care team (drift, quality, scores, calibration, emotion)."""

    care_team = models.ForeignKey("clinic.CareTeam", on_delete=models.CASCADE, related_name="monitoring_snapshots")
    computed_at = models.DateTimeField()
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    payload = models.JSONField()

    class Meta:
        ordering = ["-computed_at"]
        indexes = [models.Index(fields=["care_team", "computed_at"])]


class OperatorAlert(models.Model):
    """An alert for the people who run the model (never about one patient), one per episode."""

    class Kind(models.TextChoices):
        FEATURE_DRIFT = "feature_drift", "Input feature drift"
        REJECTION_RATE = "rejection_rate", "Quality-rejection rate"
        SCORE_DRIFT = "score_drift", "Score distribution drift"
        CALIBRATION = "calibration", "Calibration against PHQ-9"
        EMOTION_RECALL = "emotion_recall", "Emotion per-class recall"
        EMOTION_DRIFT = "emotion_drift", "Emotion prediction drift"

    class State(models.TextChoices):
        OPEN = "open"
        RESOLVED = "resolved"

    care_team = models.ForeignKey("clinic.CareTeam", on_delete=models.CASCADE, related_name="operator_alerts")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN, db_index=True)
    message = models.TextField()
    #: As an alert's (``Alert.message_i18n``): the English template and its values; empty for older ones.
    message_i18n = models.JSONField(default=dict, blank=True)
    details = models.JSONField(default=dict)
    episode_key = models.CharField(max_length=64)
    snapshot = models.ForeignKey(MonitoringSnapshot, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    def localized_message(self) -> str:
        """The message in the active language, as an alert's (:meth:`Alert.localized_message`)."""
        return localized_message(self.message, self.message_i18n)

    class Meta:
        ordering = ["state", "-created_at"]
        constraints = [models.UniqueConstraint(fields=["care_team", "kind", "episode_key"],
                                               name="one_operator_alert_per_episode")]
