"""Alerts in the admin site: read-only (their lifecycle is acknowledge/resolve on the dashboard), audited."""

from django.contrib import admin

from clinic.admin import ReadOnlyAdmin
from clinic.models import Patient
from screening.models import Alert


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "patient", "kind", "priority", "state", "acknowledged_by", "resolved_by"]
    list_filter = ["state", "kind", "priority", "patient__care_team"]
    search_fields = ["patient__code", "message", "note"]
    list_select_related = ["patient", "acknowledged_by", "resolved_by"]
    date_hierarchy = "created_at"

    def audit_patient(self, obj) -> Patient | None:
        return obj.patient
