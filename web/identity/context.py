"""What the sign-in pages say: whether a second factor is required, the demo account, single sign-on."""

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse


def identity(request: HttpRequest) -> dict:
    sso = None
    if settings.CADENCE_OIDC_ISSUER:
        sso = {"name": settings.CADENCE_OIDC_NAME,
               "url": reverse("openid_connect_login", kwargs={"provider_id": "sso"})}
    return {"require_mfa": settings.CADENCE_REQUIRE_MFA, "demo_username": settings.CADENCE_DEMO_USERNAME,
            "max_age_hours": round(settings.CADENCE_SESSION_MAX_AGE_S / 3600, 1), "sso": sso}
