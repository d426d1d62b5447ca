"""Operator writes: care teams, clinician accounts and their roles, deactivation, set-password links.

Every function is idempotent: a deploy script may run it twice and get the same state.
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from clinic.models import ApiToken, CareTeam, Membership, StaffProfile


class AccountError(Exception):
    """An operator request that cannot be carried out; the message says why, in a sentence (in the active language:
    the clinician's on the dashboard, the caller's in the API, the default one in a management command)."""


@dataclass(frozen=True)
class ClinicianResult:
    user: User
    created: bool
    membership: Membership
    reactivated: bool


def care_team_create(name: str) -> tuple[CareTeam, bool]:
    name = name.strip()
    if not name:
        raise AccountError(_("A care team needs a name."))
    if len(name) > CareTeam._meta.get_field("name").max_length:
        raise AccountError(_("A care team name may be at most 200 characters long."))
    return CareTeam.objects.get_or_create(name=name)


def password_problems(password: str, user: User | None = None) -> list[str]:
    """Django's password validators' messages, empty when the password is acceptable."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        return list(exc.messages)
    return []


def clinician_add(
    *, username: str, team_name: str, email: str = "", lead: bool = False, password: str | None = None,
    language: str | None = None,
) -> ClinicianResult:
    """Create or update a clinician and their membership; the role is what the caller says it is."""
    username = username.strip()
    if not username:
        raise AccountError(_("A clinician needs a username."))
    team = CareTeam.objects.filter(name=team_name.strip()).first()
    if team is None:
        raise AccountError(
            _("There is no care team called %(team)s; create it first with "
              "'python manage.py create_care_team NAME'.") % {"team": repr(team_name.strip())}
        )
    if password is not None:
        problems = password_problems(password, User(username=username, email=email))
        if problems:
            raise AccountError(_("The password was refused: %(problems)s") % {"problems": " ".join(problems)})
    role = Membership.Role.LEAD if lead else Membership.Role.CLINICIAN
    with transaction.atomic():
        user, created = User.objects.get_or_create(username=username, defaults={"email": email})
        reactivated = not created and not user.is_active
        user.is_active = True
        if email:
            user.email = email
        if password is not None:
            user.set_password(password)
        elif created:
            user.set_unusable_password()
        user.save()
        membership, _created = Membership.objects.update_or_create(care_team=team, user=user, defaults={"role": role})
        if language is not None:
            staff_language_set(user=user, language=language)
    return ClinicianResult(user=user, created=created, membership=membership, reactivated=reactivated)


def staff_language_set(*, user: User, language: str) -> StaffProfile:
    """A staff member's dashboard and e-mail language (a code of settings.LANGUAGES; "" follows the browser)."""
    language = language.strip().lower()
    codes = [code for code, _name in settings.LANGUAGES]
    if language and language not in codes:
        raise AccountError(_("Cadence speaks %(languages)s; %(language)s is not one of them.") % {
            "languages": ", ".join(codes), "language": repr(language)})
    profile, _created = StaffProfile.objects.update_or_create(user=user, defaults={"language": language})
    user.__dict__.pop("_cadence_language", None)
    return profile


def staff_language(user: User) -> str:
    """A staff member's own language, "" when they have not chosen one (read once per request's user)."""
    if "_cadence_language" not in user.__dict__:
        user.__dict__["_cadence_language"] = (
            StaffProfile.objects.filter(user_id=user.pk).values_list("language", flat=True).first() or "")
    return user.__dict__["_cadence_language"]


def set_password_link(user: User) -> str:
    """A one-time link to choose a password; valid for PASSWORD_RESET_TIMEOUT (72 h), void once used."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    path = reverse("dashboard:password-set", args=[uid, default_token_generator.make_token(user)])
    return settings.CADENCE_BASE_URL.rstrip("/") + path


def clinician_deactivate(username: str) -> tuple[User, int, int]:
    """Block the account, revoke its API tokens and end its sessions; memberships and audit events stay.

    Returns the user, the number of tokens revoked and of sessions ended.
    """
    user = User.objects.filter(username=username.strip()).first()
    if user is None:
        raise AccountError(_("There is no user called %(username)s.") % {"username": repr(username.strip())})
    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        tokens = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
        sessions = _end_sessions(user)
    return user, tokens, sessions


#: The second factors a clinician can hold (recovery codes come with them and are not one on their own).
SECOND_FACTOR_NAMES = {"totp": "authenticator app", "webauthn": "security key or passkey"}


def second_factors(user: User) -> list[str]:
    """The kinds of second factor the clinician holds, in words; empty when they have none."""
    from allauth.mfa.models import Authenticator

    kinds = Authenticator.objects.filter(user_id=user.pk, type__in=list(SECOND_FACTOR_NAMES)).values_list(
        "type", flat=True)
    return [SECOND_FACTOR_NAMES[k] for k in sorted(set(kinds))]


def has_second_factor(user_id: int) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user_id=user_id, type__in=list(SECOND_FACTOR_NAMES)).exists()


def second_factor_reset(username: str) -> tuple[User, int, int, int]:
    """A lost phone or key: remove every second factor (and recovery codes), revoke the API tokens and end the
    sessions; the clinician enrols again at the next sign-in. Returns the user and the three counts."""
    from allauth.mfa.models import Authenticator

    user = User.objects.filter(username=username.strip()).first()
    if user is None:
        raise AccountError(_("There is no user called %(username)s.") % {"username": repr(username.strip())})
    with transaction.atomic():
        removed, _by_kind = Authenticator.objects.filter(user=user).delete()
        tokens = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
        sessions = _end_sessions(user)
    return user, removed, tokens, sessions


def access_revoke(user: User) -> tuple[int, int]:
    """End every session and revoke every API token of a clinician (removal at the identity provider)."""
    with transaction.atomic():
        tokens = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
        sessions = _end_sessions(user)
    return tokens, sessions


def _end_sessions(user: User) -> int:
    ended = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            ended.append(session.pk)
    Session.objects.filter(pk__in=ended).delete()
    return len(ended)


def lead_team_ids(user):
    """The ids of the care teams this user leads (a lazy queryset)."""
    return Membership.objects.filter(user_id=getattr(user, "pk", None), role=Membership.Role.LEAD).values(
        "care_team_id")


class TeamChoiceError(AccountError):
    """No care team could be chosen for a new patient; ``choices`` lists the caller's teams (id, name)."""

    def __init__(self, message: str, *, code: str, choices: list[dict] | None = None) -> None:
        super().__init__(message)
        self.code, self.choices = code, choices or []


def care_team_for_new_patient(user, team: CareTeam | None = None) -> CareTeam:
    """The team a clinician enrols a patient into: the one named, or their only team."""
    teams = list(CareTeam.objects.filter(memberships__user_id=user.pk).order_by("name"))
    if team is not None:
        if team not in teams:
            raise TeamChoiceError(_("You are not a member of this care team."), code="not_a_member",
                                  choices=[{"id": t.pk, "name": t.name} for t in teams])
        return team
    if len(teams) == 1:
        return teams[0]
    if not teams:
        raise TeamChoiceError(
            _("You are not in any care team, so a patient cannot be enrolled. An administrator adds you to one with "
              "'python manage.py add_clinician USERNAME --team NAME' (the team is created with "
              "'python manage.py create_care_team NAME') or in the admin site under Memberships."),
            code="no_care_team",
        )
    raise TeamChoiceError(
        _("You are in several care teams; say which one with 'care_team' (one of the ids in 'choices')."),
        code="care_team_required", choices=[{"id": t.pk, "name": t.name} for t in teams],
    )
