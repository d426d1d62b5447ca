"""Template context for every dashboard page."""

from django.http import HttpRequest

from clinic.accounts import lead_team_ids


def navigation(request: HttpRequest) -> dict:
    """Whether the navigation shows the audit log (administrators and care-team leads)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"can_read_audit": lambda: user.is_staff or lead_team_ids(user).exists()}
