"""Failed sign-ins: who is locked out, and what a locked-out request gets (429 with Retry-After).

Failures are counted (django-axes, in the database) three ways, each with its own limit:

- a username *from one address* (``CADENCE_LOGIN_FAILURE_LIMIT``, 10): the pair is locked;
- an address, whatever usernames it tries (``CADENCE_LOGIN_ADDRESS_FAILURE_LIMIT``, 30);
- a username from every address together (``CADENCE_LOGIN_ACCOUNT_FAILURE_LIMIT``, 100), only for an account
  without a second factor. An account with one is never locked by its username alone: a stranger who knows the
  username cannot keep its owner out, and the right password still needs the second factor.

A successful sign-in (after the second factor, when there is one) and a completed password reset clear the
failures recorded against the username.
"""

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import ngettext

from clinic.accounts import has_second_factor


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address: REMOTE_ADDR, or the address the trusted reverse proxies saw."""
    proxies = settings.CADENCE_TRUSTED_PROXY_COUNT
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if proxies > 0 and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None


class LockoutHandler(AxesDatabaseHandler):
    """django-axes' database handler with a limit of its own for each way failures are counted."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        """The failures of the most exhausted count, scaled to AXES_FAILURE_LIMIT (locked at or above it)."""
        username = get_client_username(request, credentials)
        ip = request.axes_ip_address
        recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))

        def failures(**match) -> int:
            return recent.filter(**match).aggregate(n=Sum("failures_since_start"))["n"] or 0

        counts = [(failures(ip_address=ip), settings.CADENCE_LOGIN_ADDRESS_FAILURE_LIMIT)]
        if username:
            counts.append((failures(username=username, ip_address=ip), settings.AXES_FAILURE_LIMIT))
            user_id = User.objects.filter(username=username).values_list("pk", flat=True).first()
            if user_id is None or not has_second_factor(user_id):
                counts.append((failures(username=username), settings.CADENCE_LOGIN_ACCOUNT_FAILURE_LIMIT))
        base = settings.AXES_FAILURE_LIMIT
        return max(count * base // max(limit, 1) for count, limit in counts)

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """On a successful sign-in: the username's failures go; the address's failures for other usernames stay
        (signing in to one's own account must not wipe the guesses made against someone else's)."""
        username = get_client_username(request, credentials)
        if not username:
            return 0
        count, _ = AccessAttempt.objects.filter(username=username).delete()
        return count


def _retry_after_s() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    retry = _retry_after_s()
    minutes = max(1, round(retry / 60))
    detail = ngettext("Too many failed logins for this account or from this address. Try again in %(minutes)d "
                      "minute, or reset your password.",
                      "Too many failed logins for this account or from this address. Try again in %(minutes)d "
                      "minutes, or reset your password.", minutes) % {"minutes": minutes}
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": "locked_out", "detail": detail}, status=429)
    else:
        response = render(request, "dashboard/lockout.html", {"detail": detail, "minutes": minutes}, status=429)
    response["Retry-After"] = str(retry)
    return response
