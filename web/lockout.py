"""What a locked-out login gets: 429 with Retry-After, as JSON on the API and a page on the dashboard."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address: REMOTE_ADDR, or the address the trusted reverse proxies saw."""
    proxies = settings.CADENCE_TRUSTED_PROXY_COUNT
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if proxies > 0 and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None


def _retry_after_s() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    retry = _retry_after_s()
    minutes = max(1, round(retry / 60))
    detail = (f"Too many failed logins for this account or from this address. "
              f"Try again in {minutes} minute{'s' if minutes != 1 else ''}, or reset your password.")
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": "locked_out", "detail": detail}, status=429)
    else:
        response = render(request, "dashboard/lockout.html", {"detail": detail, "minutes": minutes}, status=429)
    response["Retry-After"] = str(retry)
    return response
