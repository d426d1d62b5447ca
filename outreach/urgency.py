"""Which alert kinds are urgent: notified at any hour, escalated, never muted by a whole team."""

from screening.alerts.kinds import kind_spec

__all__ = ["is_urgent"]


def is_urgent(kind: str) -> bool:
    """Self-harm only, as screening's alert-kind specification declares."""
    return kind_spec(kind).urgent
