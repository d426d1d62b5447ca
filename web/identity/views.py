"""The clinician's own security page: second factors, and API tokens made after sign-in (listed, revocable)."""

from datetime import timedelta

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_POST

from clinic import services as clinic_services
from clinic.accounts import has_second_factor
from clinic.audit import audit_identity
from clinic.models import ApiToken
from web.identity.policy import IDP_MFA, is_demo_account, needs_second_factor

#: Stored with the token in English; the account page shows it in the reader's language.
DASHBOARD_TOKEN_LABEL = gettext_noop("made on the dashboard")


def _tokens(user) -> list[dict]:
    ttl = timedelta(seconds=settings.CADENCE_CLINICIAN_TOKEN_TTL_S)
    oldest = timezone.now() - ttl
    rows = ApiToken.objects.filter(user=user, kind=ApiToken.Kind.CLINICIAN, revoked_at__isnull=True,
                                   created_at__gt=oldest).order_by("-created_at")
    return [{"token": t, "expires_at": t.created_at + ttl} for t in rows]


def _context(request: HttpRequest, **extra) -> dict:
    kinds = set(Authenticator.objects.filter(user=request.user).values_list("type", flat=True))
    return {"nav": "account", "needs_second_factor": needs_second_factor(request),
            "has_totp": Authenticator.Type.TOTP in kinds, "has_webauthn": Authenticator.Type.WEBAUTHN in kinds,
            "has_recovery_codes": Authenticator.Type.RECOVERY_CODES in kinds,
            "idp_mfa": bool(request.session.get(IDP_MFA)), "is_demo": is_demo_account(request.user),
            "tokens": _tokens(request.user), "token_ttl_hours": settings.CADENCE_CLINICIAN_TOKEN_TTL_S / 3600,
            **extra}


@require_GET
@login_required
def account_security(request: HttpRequest) -> HttpResponse:
    return render(request, "identity/account.html", _context(request))


@require_POST
@login_required
def token_create(request: HttpRequest) -> HttpResponse:
    if needs_second_factor(request):
        messages.error(request, _("Add a second factor first: API tokens reach patient data."))
        return redirect("account_security")
    second = has_second_factor(request.user.pk) or bool(request.session.get(IDP_MFA))
    key = clinic_services.clinician_token_issue(user=request.user, second_factor=second,
                                               label=DASHBOARD_TOKEN_LABEL)
    audit_identity(request=request, actor=request.user, action="login", resource="api_token")
    return render(request, "identity/account.html", _context(request, new_token=key), status=201)


@require_POST
@login_required
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user, kind=ApiToken.Kind.CLINICIAN,
                              revoked_at__isnull=True)
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_identity(request=request, actor=request.user, action="delete", resource="api_token", object_id=token.pk)
    messages.success(request, _("The token is revoked: it no longer opens the API."))
    return redirect("account_security")
