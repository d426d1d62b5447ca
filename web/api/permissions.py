from django.conf import settings
from rest_framework.permissions import BasePermission

from clinic.principals import PatientPrincipal


class IsClinician(BasePermission):
    message = "Only clinicians can do this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and not isinstance(user, PatientPrincipal))


class IsPatient(BasePermission):
    message = "Only a patient's own app can do this."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, PatientPrincipal)


class ApiDocsAccess(BasePermission):
    """The OpenAPI schema and its docs page: public, or for any authenticated caller when
    CADENCE_API_DOCS_REQUIRE_AUTH is true (read per request, so the setting can be tested)."""

    def has_permission(self, request, view) -> bool:
        return not settings.CADENCE_API_DOCS_REQUIRE_AUTH or bool(request.user and request.user.is_authenticated)
