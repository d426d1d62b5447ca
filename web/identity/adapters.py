"""django-allauth adapted to a clinic: nobody signs up, failed passwords are django-axes' to count, the second
factor is skipped only when the identity provider asserts one, and single sign-on reaches patients only through a
care team that an operator named (CADENCE_OIDC_GROUP_TEAMS) or an account made beforehand with add_clinician."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic.accounts import access_revoke, care_team_create
from clinic.audit import audit_identity
from clinic.models import Membership
from web.identity.oidc import claims
from web.identity.policy import IDP_MFA


def user_display(user) -> str:
    return user.get_full_name() or user.get_username()


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {**DefaultAccountAdapter.error_messages,
                      "username_password_mismatch": gettext_lazy(
                          "Your username and password did not match. Please try again.")}

    def is_open_for_signup(self, request) -> bool:
        return False

    def pre_authenticate(self, request, **credentials) -> None:
        """Failed passwords are counted by django-axes per username and address (web/lockout.py), not here."""

    def get_login_stages(self) -> list[str]:
        return ["web.identity.stages.AuthenticateStage" if stage == "allauth.mfa.stages.AuthenticateStage" else stage
                for stage in super().get_login_stages()]


class MFAAdapter(DefaultMFAAdapter):
    def get_totp_label(self, user) -> str:
        return user.get_username()

    def get_totp_issuer(self) -> str:
        return settings.MFA_TOTP_ISSUER


class SsoRefused(Exception):
    """Single sign-on refused; the message is shown to the person, in words."""


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin) -> bool:
        return False  # accounts come from pre_social_login below, or from add_clinician

    def pre_social_login(self, request, sociallogin) -> None:
        data = sociallogin.account.extra_data
        try:
            user = _sso_user(sociallogin)
        except SsoRefused as refusal:
            known = User.objects.filter(username=claims.username(data)).first() if claims.username(data) else None
            if sociallogin.is_existing:
                known = sociallogin.user
            if known is not None:
                access_revoke(known)  # removed at the provider: no session or token outlives the next sign-in
            audit_identity(request=request, actor=known, action="denied", resource="sso",
                           object_id="" if known else "unknown account")
            raise ImmediateHttpResponse(render(request, "identity/sso_refused.html", {"reason": str(refusal)},
                                               status=403)) from None
        if not sociallogin.is_existing:
            sociallogin.connect(request, user)
        request.session[IDP_MFA] = claims.provider_asserted_mfa(data)

    def on_authentication_error(self, request, provider, error=None, exception=None, extra_context=None):
        audit_identity(request=request, actor=None, action="denied", resource="sso", object_id=str(error or "")[:64])


def _sso_user(sociallogin) -> User:
    """The Cadence account this sign-in is for, its memberships brought in line with the provider's groups."""
    data = sociallogin.account.extra_data
    grants = claims.group_teams()
    granted = [grants[g] for g in sorted(claims.groups(data)) if g in grants]
    username = claims.username(data)
    user = sociallogin.user if sociallogin.is_existing else User.objects.filter(username=username).first()
    if user is not None and user.is_superuser and not sociallogin.is_existing:
        raise SsoRefused(_("This username belongs to a Cadence administrator account, which is never taken over by "
                           "single sign-on: sign in with its password and second factor."))
    if user is not None and not user.is_active:
        raise SsoRefused(_("Your Cadence account has been deactivated. Ask your administrator if you need access "
                           "again."))
    if user is None and not granted:
        raise SsoRefused(_("Your organisation's account is not one that may use Cadence: it is in none of the groups "
                           "that Cadence's administrator has given access to a care team, and no Cadence account was "
                           "made for it. Ask your administrator for access."))
    with transaction.atomic():
        if user is None:
            if not username:
                raise SsoRefused(_("The identity provider sent no %(claim)s claim, so Cadence cannot tell who you "
                                   "are. Ask your administrator.") % {"claim": repr(settings.CADENCE_OIDC_USERNAME_CLAIM)})
            user = User(username=username, email=str(claims.claims(data).get("email") or ""))
            user.set_unusable_password()
            user.save()
        _sync_memberships(user, granted, governed={g.team for g in grants.values()})
    if not Membership.objects.filter(user=user).exists() and not user.is_staff:
        raise SsoRefused(_("You are no longer in a group that gives access to a Cadence care team, so you cannot "
                           "sign in. Ask your administrator if you need access again."))
    return user


def _sync_memberships(user: User, granted: list[claims.TeamGrant], *, governed: set[str]) -> None:
    """Teams named by the groups are joined (as lead when the mapping says so); teams the mapping governs but the
    groups no longer name are left. Memberships an operator gave in other teams are not touched."""
    wanted = {}
    for grant in granted:
        wanted[grant.team] = wanted.get(grant.team, False) or grant.lead
    for team_name, lead in wanted.items():
        team, _created = care_team_create(team_name)
        role = Membership.Role.LEAD if lead else Membership.Role.CLINICIAN
        Membership.objects.update_or_create(care_team=team, user=user, defaults={"role": role})
    Membership.objects.filter(user=user, care_team__name__in=governed - set(wanted)).delete()
