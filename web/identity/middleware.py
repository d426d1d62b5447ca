"""Staff sessions: the absolute limit (CADENCE_SESSION_MAX_AGE_S), and no patient data before a second factor."""

from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from web.identity.policy import needs_second_factor, session_too_old

#: Reachable by a signed-in clinician who has still to enrol a second factor: sign-in and sign-out, the
#: second-factor pages, their own security page, and nothing with patient data.
_ENROLMENT_PREFIXES = ("/accounts/", "/login/", "/logout/", "/account/", "/static/", "/password", "/healthz",
                       "/readyz", "/metrics", "/r/", "/favicon")


class StaffSessionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            if session_too_old(request):
                logout(request)
                if request.path.startswith("/api/"):
                    return JsonResponse({"error": "session_expired", "detail": "Your session has reached its time "
                                         "limit; sign in again."}, status=401)
                messages.info(request, _("Your session reached its time limit; please sign in again."))
                return redirect(f"{reverse('account_login')}?{urlencode({'next': request.path})}")
            if not request.path.startswith(_ENROLMENT_PREFIXES) and needs_second_factor(request):
                if request.path.startswith("/api/"):
                    return JsonResponse({"error": "second_factor_required", "detail": (
                        "Your account needs a second factor before it can reach patient data: add one at "
                        "/account/ on the dashboard.")}, status=403)
                return redirect("dashboard:account")
        return self.get_response(request)
