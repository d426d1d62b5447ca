"""Password reset: throttled per address and per recipient; a completed reset clears the account's lockout."""

import hashlib
import time

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from rest_framework.throttling import SimpleRateThrottle

from clinic.audit import audit_identity
from web.lockout import client_ip


def _rate(text: str) -> tuple[int, int]:
    """'10/hour' -> (10, 3600), as DRF reads its throttle rates."""
    return SimpleRateThrottle.parse_rate(None, text)


def rate_consume(*, scope: str, ident: str, rate: str) -> int:
    """Count one request in a fixed window in the shared cache; 0 if allowed, else the seconds until the next."""
    allowed, period = _rate(rate)
    window = int(time.time()) // period
    key = f"rate:{scope}:{hashlib.sha256(ident.encode()).hexdigest()[:32]}:{window}"
    cache.add(key, 0, timeout=period + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=period + 5)
        count = 1
    if count <= allowed:
        return 0
    return max(1, (window + 1) * period - int(time.time()))


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "dashboard/password_reset_form.html"
    email_template_name = "dashboard/password_reset_email.txt"
    subject_template_name = "dashboard/password_reset_subject.txt"
    success_url = reverse_lazy("dashboard:password-reset-done")

    def form_valid(self, form) -> HttpResponse:
        wait = rate_consume(scope="reset-address", ident=client_ip(self.request) or "-",
                            rate=settings.CADENCE_PASSWORD_RESET_RATE_ADDRESS)
        if wait:
            minutes = max(1, round(wait / 60))
            response = render(self.request, "dashboard/password_reset_throttled.html", {"minutes": minutes},
                              status=429)
            response["Retry-After"] = str(wait)
            return response
        email = form.cleaned_data["email"].strip().lower()
        if rate_consume(scope="reset-recipient", ident=email, rate=settings.CADENCE_PASSWORD_RESET_RATE_RECIPIENT):
            # The same page as when mail is sent: it must not tell whether the address has an account.
            return super(auth_views.PasswordResetView, self).form_valid(form)
        return super().form_valid(form)


class PasswordSetView(auth_views.PasswordResetConfirmView):
    """The one-time link of a reset or of add_clinician: a new password also opens a locked account."""

    template_name = "dashboard/password_set_form.html"
    success_url = reverse_lazy("dashboard:password-set-done")

    def form_valid(self, form) -> HttpResponse:
        response = super().form_valid(form)
        axes_reset(username=self.user.get_username())
        audit_identity(request=self.request, actor=self.user, action="update", resource="password_reset")
        return response
