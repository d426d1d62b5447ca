"""The admin site for operators: care teams and memberships, patients; recordings and the audit log read-only.

Every page that shows or changes patient data writes the audit log, like any other staff action.
"""

from allauth.mfa.models import Authenticator
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.db import transaction

from clinic import services
from clinic.accounts import second_factors
from clinic.audit import audit_record, audit_record_many
from clinic.models import AuditEvent, CareTeam, Membership, Patient, Recording, StaffProfile


class AuditedAdmin(admin.ModelAdmin):
    """Writes an audit event for list views, object views, additions, changes and deletions."""

    def audit_patient(self, obj) -> Patient | None:
        return None

    @property
    def audit_resource(self) -> str:
        return f"admin:{self.model._meta.model_name}"

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", None) and response.context_data.get("cl")
        if changelist is not None:
            patients = {p.pk: p for p in map(self.audit_patient, changelist.result_list) if p is not None}
            if patients:
                audit_record_many(request=request, resource=self.audit_resource, patients=list(patients.values()))
            else:
                audit_record(request=request, action=AuditEvent.Action.READ, resource=self.audit_resource)
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            obj = self.get_object(request, unquote(object_id))
            if obj is not None:
                audit_record(request=request, action=AuditEvent.Action.READ, resource=self.audit_resource,
                             patient=self.audit_patient(obj), object_id=obj.pk)
        return response

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_record(request=request, action=AuditEvent.Action.UPDATE if change else AuditEvent.Action.CREATE,
                     resource=self.audit_resource, patient=self.audit_patient(obj), object_id=obj.pk)

    def delete_model(self, request, obj):
        audit_record(request=request, action=AuditEvent.Action.DELETE, resource=self.audit_resource,
                     patient=self.audit_patient(obj), object_id=obj.pk)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            audit_record(request=request, action=AuditEvent.Action.DELETE, resource=self.audit_resource,
                         patient=self.audit_patient(obj), object_id=obj.pk)
        super().delete_queryset(request, queryset)


class ReadOnlyAdmin(AuditedAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(CareTeam)
class CareTeamAdmin(AuditedAdmin):
    list_display = ["name", "member_count", "patient_count"]
    search_fields = ["name"]
    inlines = [MembershipInline]

    @admin.display(description="members")
    def member_count(self, team: CareTeam) -> int:
        return team.memberships.count()

    @admin.display(description="patients")
    def patient_count(self, team: CareTeam) -> int:
        return team.patients.count()

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        for membership in [*formset.new_objects, *(obj for obj, _ in formset.changed_objects)]:
            audit_record(request=request, action=AuditEvent.Action.UPDATE, resource="admin:membership",
                         object_id=membership.pk)
        for membership in formset.deleted_objects:
            audit_record(request=request, action=AuditEvent.Action.DELETE, resource="admin:membership",
                         object_id=membership.pk)


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    """A staff member's own settings (their dashboard and e-mail language); no patient data."""

    list_display = ["user", "language"]
    list_filter = ["language"]
    search_fields = ["user__username"]


@admin.register(Membership)
class MembershipAdmin(AuditedAdmin):
    list_display = ["user", "care_team", "role", "user_active", "created_at"]
    list_filter = ["role", "care_team", "user__is_active"]
    search_fields = ["user__username", "user__email", "care_team__name"]
    autocomplete_fields = ["user", "care_team"]
    list_select_related = ["user", "care_team"]

    @admin.display(boolean=True, description="active")
    def user_active(self, membership: Membership) -> bool:
        return membership.user.is_active


@admin.register(Patient)
class PatientAdmin(AuditedAdmin):
    list_display = ["code", "care_team", "enrolled_on", "active", "sex", "birth_year", "language"]
    list_filter = ["active", "care_team", "sex", "language"]
    search_fields = ["code"]
    list_select_related = ["care_team"]
    date_hierarchy = "enrolled_on"

    def audit_patient(self, obj) -> Patient | None:
        return obj

    def get_readonly_fields(self, request, obj=None):
        return ["code", "care_team", "created_at"] if obj is not None else ["created_at"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # patients end monitoring (active = off); their data is kept

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if not change:
                key = services.upload_token_rotate(patient=obj)
                messages.warning(request, f"Upload token for {obj.code} (shown once, give it to the patient's "
                                          f"app): {key}")


@admin.register(Recording)
class RecordingAdmin(ReadOnlyAdmin):
    list_display = ["id", "patient", "recorded_at", "status", "container", "duration_s", "attempts", "uploaded_at"]
    list_filter = ["status", "container", "patient__care_team"]
    search_fields = ["patient__code", "sha256", "idempotency_key"]
    list_select_related = ["patient"]
    date_hierarchy = "recorded_at"
    exclude = ["file"]

    def audit_patient(self, obj) -> Patient | None:
        return obj.patient


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "action", "resource", "patient_code", "object_id", "ip_address"]
    list_filter = ["action", "resource", "at"]
    search_fields = ["patient_code", "actor__username", "path"]
    list_select_related = ["actor"]
    date_hierarchy = "at"


# Staff accounts: whether each has a second factor. The second factors themselves are listed without their secrets
# (a TOTP key in the admin would be a second factor for anyone who reads the page); reset them with reset_mfa.
admin.site.unregister(User)
admin.site.unregister(Authenticator)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    list_display = ("username", "email", "is_active", "is_staff", "second_factor", "last_login")

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "second_factor")

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        return fieldsets if obj is None else (*fieldsets, ("Second factor", {"fields": ("second_factor",)}))

    @admin.display(description="Second factor")
    def second_factor(self, obj) -> str:
        return ", ".join(second_factors(obj)) or "none"


@admin.register(Authenticator)
class SecondFactorAdmin(admin.ModelAdmin):
    list_display = ("user", "type", "created_at", "last_used_at")
    list_filter = ("type",)
    fields = ("user", "type", "created_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
