"""The second factor outside the browser: a code (authenticator app or recovery code) sent with an API request."""

from allauth.mfa.base.internal.flows import check_rate_limit
from allauth.mfa.models import Authenticator
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from rest_framework.response import Response


def second_factor_check(request: HttpRequest, *, user, code: str) -> Response | None:
    """None when ``code`` is a valid code of the user's; else the API's refusal. A wrong code counts as a failed
    sign-in (django-axes) and against allauth's per-account limit on codes."""
    if not code:
        return Response({"error": "otp_required", "detail": (
            "This account has a second factor: send the current code of your authenticator app (or a recovery "
            "code) as 'otp'. Security keys work on the dashboard, where tokens can also be made (/account/).")},
            status=401)
    try:
        clear_limit = check_rate_limit(user)
    except ValidationError:
        return Response({"error": "too_many_codes", "detail": (
            "Too many wrong codes for this account. Wait a few minutes before trying again.")}, status=429)
    for authenticator in Authenticator.objects.filter(user=user).exclude(type=Authenticator.Type.WEBAUTHN):
        if authenticator.wrap().validate_code(code.strip()):
            authenticator.record_usage()
            clear_limit()
            return None
    user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=request)
    return Response({"error": "invalid_otp", "detail": "The code is wrong or has expired; use the current one."},
                    status=401)
