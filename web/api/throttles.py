"""API throttles, counted in the shared cache (Redis or the database) so every web process agrees."""

from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle

from clinic.principals import PatientPrincipal


class LoginThrottle(AnonRateThrottle):
    """Token requests per address (the lockout after failed passwords is separate: django-axes)."""

    scope = "login"


class UploadThrottle(SimpleRateThrottle):
    """Uploads per patient (all of that patient's tokens together); rate: CADENCE_UPLOAD_RATE."""

    scope = "upload"

    def get_cache_key(self, request, view):
        if not isinstance(request.user, PatientPrincipal):
            return None
        return self.cache_format % {"scope": self.scope, "ident": f"patient-{request.user.patient.pk}"}
