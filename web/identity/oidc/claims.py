"""What Cadence reads from an identity provider's claims: the username, the care teams, and whether MFA was done."""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class TeamGrant:
    team: str
    lead: bool


def group_teams() -> dict[str, TeamGrant]:
    """CADENCE_OIDC_GROUP_TEAMS ("group=Team name[:lead];...") as {group: grant}."""
    grants = {}
    for entry in settings.CADENCE_OIDC_GROUP_TEAMS.split(";"):
        group, sep, target = entry.partition("=")
        if not sep or not group.strip() or not target.strip():
            continue
        team, _, role = target.strip().rpartition(":") if target.strip().endswith(":lead") else (target, "", "")
        grants[group.strip()] = TeamGrant(team=team.strip(), lead=role == "lead")
    return grants


def id_token(extra_data: dict) -> dict:
    return dict(extra_data.get("id_token") or {})


def claims(extra_data: dict) -> dict:
    """The id token's claims, with the userinfo endpoint's (when fetched) on top."""
    return id_token(extra_data) | dict(extra_data.get("userinfo") or {})


def groups(extra_data: dict) -> set[str]:
    value = claims(extra_data).get(settings.CADENCE_OIDC_GROUPS_CLAIM) or []
    return {value} if isinstance(value, str) else {str(g) for g in value}


def username(extra_data: dict) -> str:
    return str(claims(extra_data).get(settings.CADENCE_OIDC_USERNAME_CLAIM) or "").strip()


def provider_asserted_mfa(extra_data: dict) -> bool:
    """Whether the signed id token says the provider checked a second factor (RFC 8176 amr, or an agreed acr)."""
    token = id_token(extra_data)
    amr = token.get("amr") or []
    amr = [amr] if isinstance(amr, str) else amr
    if set(map(str, amr)) & set(settings.CADENCE_OIDC_MFA_AMR):
        return True
    return bool(token.get("acr")) and str(token.get("acr")) in settings.CADENCE_OIDC_MFA_ACR
