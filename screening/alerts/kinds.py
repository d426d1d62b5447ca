"""The alert kinds: one declaration per kind of patient alert, read by everything that names one.

The model's choices (``screening.models.Alert.Kind``), the rules (``screening.alerts.rules``), the nightly
writer (``screening.alerts.services.alerts_open_or_update``), the validation report's statistics
(``screening.validation.alert_stats``) and the dashboard's badges all read :data:`ALERT_KINDS`; the
notifications (issue #23) read :attr:`AlertKind.urgent` and :attr:`AlertKind.silence`.

Adding a kind is one :class:`AlertKind` entry here plus its rule (a function returning
``AlertCandidate`` in ``screening.alerts.rules``, called from ``evaluate_alerts``), and the migration
Django makes for the new choice. Stored values (``name``, ``rule`` in the episode keys, ``priority``)
never change for an existing kind: alerts already stored carry them.

Plain Python (no Django): the rules and the statistics are usable from a notebook.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

__all__ = ["ALERT_KINDS", "AlertKind", "Merge", "Priority", "Silence", "gettext_noop", "kind_spec", "kind_for_rule"]


def gettext_noop(text: str) -> str:
    """Marks ``text`` for the translation catalogues (``makemessages`` reads this name) and returns it as it
    is: the labels stay English here, where no Django is loaded, and the dashboard translates them when it
    shows them (``{% translate kind.label %}``)."""
    return text


#: The priorities' labels (``Alert.Priority``'s choices, from the names below), for the catalogues.
PRIORITY_LABELS = (gettext_noop("High"), gettext_noop("Medium"), gettext_noop("Low"))


class Priority(IntEnum):
    """Stored in ``Alert.priority``; lower is more urgent (the inbox and triage sort on it)."""

    HIGH = 1
    MEDIUM = 2
    LOW = 3


class Merge(StrEnum):
    """What a new trigger of a kind does when the patient already has an alert of that kind."""

    #: Every trigger is its own alert: each needs its own review (a self-harm answer).
    EACH = "each"
    #: A new trigger updates the patient's unresolved alert of the kind (its message, the current value)
    #: instead of opening another; an episode already resolved is not re-opened.
    UNRESOLVED = "unresolved"
    #: Tied to the patient's last recording: a new episode per recording gap, and the open alert resolves
    #: itself when a recording arrives (``overdue_resolve_ended``).
    UNTIL_RECORDING = "until_recording"


class Silence(StrEnum):
    """Who may silence the notifications of a kind (e-mail, webhooks; the alert itself always stays in the inbox)."""

    #: Each clinician may opt out for themselves; the team's quiet hours hold it back.
    CLINICIAN = "clinician"
    #: A clinician may opt out for themselves, but never the whole care team: the last clinician of a team
    #: still receiving it cannot opt out. Quiet hours never hold it back.
    NOT_WHOLE_TEAM = "not_whole_team"


@dataclass(frozen=True)
class AlertKind:
    """One kind of patient alert.

    Attributes
    ----------
    name : str
        The stored value (``Alert.kind``), also the key of the validation report's rows.
    rule : str
        The rule's name: the prefix of its episode keys (``"<rule>:<patient>:<first trigger>"``, stored in
        ``Alert.episode_key``).
    label : str
        The full label (the model's choice label, the badge's tooltip and accessible name).
    badge : str
        The short badge text on the triage list.
    priority : Priority
        Stored in ``Alert.priority``.
    merge : Merge
        What a new trigger does when the patient already has an alert of the kind.
    silence : Silence
        Who may silence its notifications.
    urgent : bool
        Notified at once, never held by quiet hours, cannot be opted out of by every clinician of a team,
        escalated when not acknowledged, listed first in the inbox and triage. Only self-harm.
    risk : bool
        The alert claims the patient is, or is becoming, depressed: its positive predictive value is checked
        against the next PHQ-9 in the validation report.
    """

    name: str
    rule: str
    label: str
    badge: str
    priority: Priority
    merge: Merge
    silence: Silence
    urgent: bool = False
    risk: bool = False

    def __post_init__(self) -> None:
        if self.urgent and self.silence is not Silence.NOT_WHOLE_TEAM:
            raise ValueError(f"alert kind {self.name!r}: an urgent kind cannot be silenced by the whole team")


#: Every alert kind, in the order the validation report lists them.
ALERT_KINDS: tuple[AlertKind, ...] = (
    AlertKind("self_harm", rule="phq9_item9", label=gettext_noop("PHQ-9 item 9 (self-harm thoughts)"),
              badge=gettext_noop("Item 9"), priority=Priority.HIGH, merge=Merge.EACH, silence=Silence.NOT_WHOLE_TEAM, urgent=True),
    AlertKind("phq9_rise", rule="phq9_rise", label=gettext_noop("Predicted PHQ-9 rise"),
              badge=gettext_noop("PHQ-9 rise"), priority=Priority.MEDIUM, merge=Merge.UNRESOLVED, silence=Silence.CLINICIAN, risk=True),
    AlertKind("risk_threshold", rule="p_phq9_ge10", label=gettext_noop("Risk above threshold"),
              badge=gettext_noop("High risk"), priority=Priority.MEDIUM, merge=Merge.UNRESOLVED, silence=Silence.CLINICIAN, risk=True),
    AlertKind("overdue", rule="overdue", label=gettext_noop("No recent recording"),
              badge=gettext_noop("Overdue"), priority=Priority.LOW, merge=Merge.UNTIL_RECORDING, silence=Silence.CLINICIAN),
    AlertKind("speaker_mismatch", rule="speaker_mismatch", label=gettext_noop("Different speaker"),
              badge=gettext_noop("Speaker?"), priority=Priority.MEDIUM, merge=Merge.UNRESOLVED, silence=Silence.CLINICIAN),
)

_BY_NAME = {kind.name: kind for kind in ALERT_KINDS}
_BY_RULE = {kind.rule: kind for kind in ALERT_KINDS}
if len(_BY_NAME) != len(ALERT_KINDS) or len(_BY_RULE) != len(ALERT_KINDS):
    raise ValueError("alert kinds: every name and every rule must be declared once")


def kind_spec(name: str) -> AlertKind:
    """The kind stored as ``name`` (``KeyError`` naming it when there is none)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no alert kind {name!r}; the kinds are {', '.join(_BY_NAME)}") from None


def kind_for_rule(rule: str) -> AlertKind:
    """The kind whose rule is ``rule`` (the prefix of an episode key)."""
    return _BY_RULE[rule]
