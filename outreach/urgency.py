"""Which alert kinds are urgent: notified at any hour, escalated, never muted by a whole team."""

from screening.models import Alert

__all__ = ["is_urgent"]


def is_urgent(kind: str) -> bool:
    """Self-harm only. When screening's alert-kind specification lands this becomes ``kind_spec(kind).urgent``."""
    return kind == Alert.Kind.SELF_HARM
