"""Sign-ins and refused sign-ins written to the audit log (connected in WebConfig.ready)."""

from allauth.mfa import signals as mfa_signals
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from clinic.audit import audit_identity
from web.identity.policy import session_started


@receiver(user_logged_in, dispatch_uid="cadence-audit-login")
def _logged_in(sender, request, user, **kwargs) -> None:
    if getattr(request, "session", None) is not None:
        session_started(request)
    audit_identity(request=request, actor=user, action="login", resource="session")


@receiver(user_logged_out, dispatch_uid="cadence-audit-logout")
def _logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        audit_identity(request=request, actor=user, action="logout", resource="session")


@receiver(user_login_failed, dispatch_uid="cadence-audit-login-failed")
def _login_failed(sender, credentials, request=None, **kwargs) -> None:
    username = str(credentials.get("username") or "")[:150]
    user = get_user_model().objects.filter(username=username).first() if username else None
    locked = bool(getattr(request, "axes_locked_out", False))
    audit_identity(request=request, actor=user, action="denied", resource="login_locked" if locked else "login",
                   object_id="" if user else "unknown account")


@receiver(mfa_signals.authenticator_added, dispatch_uid="cadence-audit-mfa-added")
def _factor_added(sender, request, user, authenticator, **kwargs) -> None:
    audit_identity(request=request, actor=user, action="create", resource=f"mfa_{authenticator.type}",
                   object_id=authenticator.pk)


@receiver(mfa_signals.authenticator_removed, dispatch_uid="cadence-audit-mfa-removed")
def _factor_removed(sender, request, user, authenticator, **kwargs) -> None:
    audit_identity(request=request, actor=user, action="delete", resource=f"mfa_{authenticator.type}",
                   object_id=authenticator.pk)


@receiver(mfa_signals.authenticator_reset, dispatch_uid="cadence-audit-mfa-reset")
def _factor_reset(sender, request, user, authenticator, **kwargs) -> None:
    audit_identity(request=request, actor=user, action="update", resource=f"mfa_{authenticator.type}",
                   object_id=authenticator.pk)


@receiver(mfa_signals.authentication_failed, dispatch_uid="cadence-audit-mfa-failed")
def _factor_failed(sender, request, user, authenticator, **kwargs) -> None:
    audit_identity(request=request, actor=user, action="denied", resource="mfa_code")
