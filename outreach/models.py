"""Outreach state: how each care team is reached, what was sent to whom, patients' reminder schedules."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class TeamChannel(models.Model):
    """How a care team is reached outside the dashboard besides its clinicians' e-mail, and when not to."""

    care_team = models.OneToOneField("clinic.CareTeam", on_delete=models.CASCADE, related_name="outreach")
    webhook_url = models.URLField(blank=True, help_text="Paging or chat tool; each POST is HMAC-SHA256 signed")
    webhook_secret = models.CharField(max_length=128, blank=True, help_text="Key of the X-Cadence-Signature HMAC")
    quiet_start = models.TimeField(null=True, blank=True, help_text="Non-urgent alerts wait from this local time ...")
    quiet_end = models.TimeField(null=True, blank=True, help_text="... until this one (self-harm never waits)")
    time_zone = models.CharField(max_length=64, default="UTC", help_text="IANA zone of the quiet hours")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"outreach of {self.care_team}"


class AlertOptOut(models.Model):
    """A clinician who does not want e-mail for one alert kind in one team (urgent kinds: never the whole team)."""

    membership = models.ForeignKey("clinic.Membership", on_delete=models.CASCADE, related_name="alert_opt_outs")
    kind = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["membership", "kind"], name="one_opt_out_per_kind")]


class AlertNotice(models.Model):
    """An alert's outreach: the care team told once, then, for an urgent one left open, each escalation step."""

    class Stage(models.IntegerChoices):
        TEAM = 0, "care team notified"
        LEADS = 1, "escalated to the team leads"
        ON_CALL = 2, "escalated to the on-call address"

    alert = models.OneToOneField("screening.Alert", on_delete=models.CASCADE, related_name="notice")
    urgent = models.BooleanField()
    stage = models.PositiveSmallIntegerField(choices=Stage.choices, default=Stage.TEAM)
    created_at = models.DateTimeField()
    next_escalation_at = models.DateTimeField(null=True, blank=True, db_index=True)
    escalation_stopped_at = models.DateTimeField(null=True, blank=True)
    steps = models.JSONField(default=list, help_text="[{at, stage, text}] shown on the alert")


class Delivery(models.Model):
    """One message to one recipient over one channel; kept with its outcome, whatever happens."""

    class Channel(models.TextChoices):
        EMAIL = "email"
        WEBHOOK = "webhook"
        PUSH = "push"

    class Purpose(models.TextChoices):
        ALERT = "alert", "alert"
        ESCALATION = "escalation", "escalation"
        REMINDER = "reminder", "reminder"
        REENGAGEMENT = "reengagement", "re-engagement"

    class State(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        RETRYING = "retrying"
        SENT = "sent"
        FAILED = "failed"
        CANCELLED = "cancelled"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    purpose = models.CharField(max_length=12, choices=Purpose.choices)
    recipient = models.CharField(max_length=500, help_text="An address, a webhook URL or a push endpoint")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    care_team = models.ForeignKey("clinic.CareTeam", null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="deliveries")
    patient = models.ForeignKey("clinic.Patient", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="deliveries")
    alerts = models.ManyToManyField("screening.Alert", blank=True, related_name="deliveries")
    subscription = models.ForeignKey("PushSubscription", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="deliveries")
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    payload = models.JSONField(default=dict, blank=True, help_text="Webhook JSON body, push notification data")
    slot = models.CharField(max_length=40, blank=True, help_text="Reminder slot (local date) or episode it covers")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    reason = models.CharField(max_length=300, blank=True, help_text="Why it failed or was cancelled, in words")
    created_at = models.DateTimeField()
    due_at = models.DateTimeField(help_text="Not before (quiet hours), then the next retry")
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True, help_text="Where the browser reports it (push)")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "due_at"]), models.Index(fields=["patient", "created_at"])]
        constraints = [models.UniqueConstraint(
            fields=["patient", "purpose", "slot", "channel", "recipient"],
            condition=Q(patient__isnull=False), name="one_patient_message_per_slot_and_recipient")]


class ReminderSchedule(models.Model):
    """When a patient is asked to record, in the patient's own time zone, and how to reach them."""

    patient = models.OneToOneField("clinic.Patient", on_delete=models.CASCADE, related_name="reminder_schedule")
    active = models.BooleanField(default=True)
    weekdays = models.JSONField(help_text="ISO weekdays 1 (Monday) - 7 (Sunday)")
    time_of_day = models.TimeField()
    expiry_hours = models.PositiveSmallIntegerField(
        help_text="A day's task counts as missed when nothing arrives this long after its reminder time")
    email = models.EmailField(blank=True, help_text="Fallback when the phone has no live push subscription")
    phone = models.CharField(max_length=32, blank=True, help_text="For the SMS gateway webhook, E.164")
    starts_on = models.DateField(help_text="First day the schedule counts for adherence")
    next_reminder_at = models.DateTimeField(null=True, blank=True, db_index=True)
    missed_14d = models.PositiveSmallIntegerField(default=0, help_text="Missed days in the last 2 weeks (triage)")
    adherence_14d = models.FloatField(null=True, blank=True, help_text="Received / expected, last 2 weeks")
    adherence_at = models.DateTimeField(null=True, blank=True, help_text="When the two figures above were computed")
    updated_at = models.DateTimeField(auto_now=True)


class PushSubscription(models.Model):
    """A browser's Web Push subscription for a patient's recorder (RFC 8030/8291 keys)."""

    patient = models.ForeignKey("clinic.Patient", on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=64)
    user_agent = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-last_seen_at"]
