"""Request ids, 503 for a dependency that is down, and the security headers of every response."""

import logging
import re
import uuid

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse

from config.logging import request_id_var

logger = logging.getLogger(__name__)

_VALID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


def _unavailable_errors() -> tuple[type[BaseException], ...]:
    from kombu.exceptions import OperationalError as BrokerError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return OperationalError, InterfaceError, BrokerError, RedisConnectionError, RedisTimeoutError, OSError


RETRY_AFTER_S = 30


class ServiceUnavailableMiddleware:
    """A request that fails because a dependency is down (database, cache, broker, the recordings storage)
    answers 503 with Retry-After, never a 500: the client should come back, nothing it sent is wrong."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.errors = _unavailable_errors()

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, self.errors):
            return None
        logger.warning("dependency unavailable during %s %s (%s)", request.method, request.path_info.split("/")[1:3],
                       type(exception).__name__)
        detail = f"The service is briefly unavailable; please try again in {RETRY_AFTER_S} seconds."
        if request.path.startswith("/api/"):
            response = JsonResponse({"error": "unavailable", "detail": detail}, status=503)
        else:
            response = HttpResponse(f"<!doctype html><title>Unavailable</title><p>{detail}</p>", status=503)
        response["Retry-After"] = str(RETRY_AFTER_S)
        response["Cache-Control"] = "no-store"
        return response


class SecurityHeadersMiddleware:
    """The headers a hospital's security review asks for, on every response.

    - ``Content-Security-Policy``: scripts, styles, fonts and connections only from this origin; no inline
      script, no inline style attribute or element, no ``eval``; pages load code as static files only
      (``<script src="{% static ... %}">``) and pass data in ``json_script`` blocks or ``data-`` attributes.
    - ``Permissions-Policy``: every powerful feature off; the microphone (and the screen wake lock that keeps
      the phone awake while it records) on for the patient recorder (/r/) only.
    - ``Cache-Control: no-store`` on every response that does not set its own (pages and API answers carry
      patient data; static files and the recorder's service worker set theirs).
    """

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.csp = settings.CADENCE_CONTENT_SECURITY_POLICY
        self.recorder_prefix = "/r/"

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", self.csp)
        recorder = "(self)" if request.path_info.startswith(self.recorder_prefix) else "()"
        response.setdefault("Permissions-Policy", _PERMISSIONS.format(recorder=recorder))
        if "Cache-Control" not in response:
            response["Cache-Control"] = "no-store"
        return response


_PERMISSIONS = ("accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
                "magnetometer=(), microphone={recorder}, midi=(), payment=(), publickey-credentials-get=(self), "
                "usb=(), screen-wake-lock={recorder}, xr-spatial-tracking=()")
