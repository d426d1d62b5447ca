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
