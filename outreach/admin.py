"""Outreach in the admin site: team channels editable (the secret never shown), messages read-only and audited."""

from django.contrib import admin

from clinic.admin import ReadOnlyAdmin
from clinic.models import Patient
from outreach.models import Delivery, TeamChannel


@admin.register(TeamChannel)
class TeamChannelAdmin(admin.ModelAdmin):
    list_display = ["care_team", "webhook_url", "quiet_start", "quiet_end", "time_zone", "updated_at"]
    exclude = ["webhook_secret"]  # made and shown once on the team's notification page


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "purpose", "channel", "state", "attempts", "care_team", "reason"]
    list_filter = ["state", "channel", "purpose", "care_team"]
    exclude = ["recipient", "body", "payload"]

    def audit_patient(self, obj) -> Patient | None:
        return obj.patient
