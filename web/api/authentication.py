"""Bearer tokens for clinicians and patients (only the SHA-256 of a token is stored)."""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from rest_framework import authentication, exceptions

from clinic.models import ApiToken
from clinic.principals import PatientPrincipal
from web.identity.policy import is_demo_account


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid Authorization header: use 'Bearer <token>'.")
        key = header[1].decode(errors="replace")
        token = (
            ApiToken.objects.select_related("user", "patient")
            .filter(key_hash=ApiToken.hash_key(key), revoked_at__isnull=True)
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        if token.kind == ApiToken.Kind.PATIENT:
            if not token.patient.active:
                raise exceptions.AuthenticationFailed("This patient is no longer enrolled.")
            return PatientPrincipal(patient=token.patient), token
        age = (timezone.now() - token.created_at).total_seconds()
        if age > settings.CADENCE_CLINICIAN_TOKEN_TTL_S:
            raise exceptions.AuthenticationFailed("This token has expired; ask for a new one at /api/v1/auth/token/.")
        user: AbstractBaseUser = token.user
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive.")
        if settings.CADENCE_REQUIRE_MFA and not token.second_factor and not is_demo_account(user):
            raise exceptions.AuthenticationFailed(
                "This token was issued without a second factor, which this clinic requires; ask for a new one at "
                "/api/v1/auth/token/ with your code as 'otp', or make one at /account/ on the dashboard.")
        return user, token

    def authenticate_header(self, request) -> str:
        return self.keyword
