"""Who must show a second factor, and how long a staff session lasts (read by the middleware and the views)."""

import time

from django.conf import settings
from django.http import HttpRequest

from clinic.accounts import has_second_factor

#: Session keys: when the clinician signed in (for the absolute limit), and whether the identity provider said it
#: checked a second factor (single sign-on with ``amr``/``acr``), so Cadence does not ask again.
SIGNED_IN_AT = "cadence_signed_in_at"
IDP_MFA = "cadence_idp_mfa"


def is_demo_account(user) -> bool:
    demo = settings.CADENCE_DEMO_USERNAME
    return bool(demo) and getattr(user, "username", None) == demo


def needs_second_factor(request: HttpRequest) -> bool:
    """A signed-in staff member who must enrol a second factor before reaching patient data."""
    user = request.user
    if not settings.CADENCE_REQUIRE_MFA or not user.is_authenticated or is_demo_account(user):
        return False
    if request.session.get(IDP_MFA):
        return False
    return not has_second_factor(user.pk)


def session_started(request: HttpRequest) -> None:
    request.session[SIGNED_IN_AT] = int(time.time())


def session_too_old(request: HttpRequest) -> bool:
    started = request.session.get(SIGNED_IN_AT)
    if started is None:  # a session from before the limit existed: counted from now
        session_started(request)
        return False
    return time.time() - started > settings.CADENCE_SESSION_MAX_AGE_S
