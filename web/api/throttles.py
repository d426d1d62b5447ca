"""API throttles, counted in the shared cache (Redis or the database) so every web process agrees.

Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (CADENCE_LOGIN_RATE, CADENCE_UPLOAD_RATE), read
when a request is throttled rather than once at import. A throttled call gets 429 with Retry-After.
"""

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle

from clinic.principals import PatientPrincipal


class _SettingsRate:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]


class LoginThrottle(_SettingsRate, AnonRateThrottle):
    """Token requests per address (the lockout after failed passwords is separate: django-axes)."""

    scope = "login"


class UploadThrottle(_SettingsRate, SimpleRateThrottle):
    """Uploads per patient (all of that patient's tokens together); rate: CADENCE_UPLOAD_RATE."""

    scope = "upload"

    def get_cache_key(self, request, view):
        if not isinstance(request.user, PatientPrincipal):
            return None
        return self.cache_format % {"scope": self.scope, "ident": f"patient-{request.user.patient.pk}"}
