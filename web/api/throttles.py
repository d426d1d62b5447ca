"""API throttles, counted in the shared cache (Redis or the database) so every web process agrees.

Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (CADENCE_LOGIN_RATE, CADENCE_UPLOAD_RATE), read
when a request is throttled rather than once at import. A throttled call gets 429 with Retry-After.

When the shared cache is unreachable (Redis down), a throttle counts in this process's memory instead of
failing the request: an upload does not need the cache to be stored safely. Each such decision is logged
(once a minute per process) and counted in ``cadence_throttle_cache_failures_total{scope}`` on /metrics;
the shared count is used again as soon as the cache answers.
"""

import logging
import time

from django.core.cache.backends.locmem import LocMemCache
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle

from clinic.metrics import THROTTLE_CACHE_FAILURES
from clinic.principals import PatientPrincipal

logger = logging.getLogger(__name__)
_LOCAL = LocMemCache("cadence-throttle-fallback", {"MAX_ENTRIES": 10000})
_LOG_EVERY_S = 60.0
_last_logged = {"at": float("-inf")}


class _SettingsRate:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]


class _FallsBackToLocalCount:
    """Counts in the shared cache, or in this process's memory while the shared cache is unreachable."""

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception as exc:  # redis.ConnectionError, a database cache that cannot be read, ...
            THROTTLE_CACHE_FAILURES.labels(scope=self.scope).inc()
            now = time.monotonic()
            if now - _last_logged["at"] >= _LOG_EVERY_S:
                _last_logged["at"] = now
                logger.warning("throttle %s: shared cache unavailable (%s); counting in this process",
                               self.scope, type(exc).__name__)
            self.cache = _LOCAL
            return super().allow_request(request, view)


class LoginThrottle(_FallsBackToLocalCount, _SettingsRate, AnonRateThrottle):
    """Token requests per address (the lockout after failed passwords is separate: django-axes)."""

    scope = "login"


class UploadThrottle(_FallsBackToLocalCount, _SettingsRate, SimpleRateThrottle):
    """Uploads per patient (all of that patient's tokens together); rate: CADENCE_UPLOAD_RATE."""

    scope = "upload"

    def get_cache_key(self, request, view):
        if not isinstance(request.user, PatientPrincipal):
            return None
        return self.cache_format % {"scope": self.scope, "ident": f"patient-{request.user.patient.pk}"}
