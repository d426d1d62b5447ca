"""Screening writes: alerts from PHQ-9 answers, recording scores, nightly screening."""

import logging

from django.db import IntegrityError, transaction

from clinic.models import Phq9Response
from clinic.phq9 import is_safety_signal
from screening.models import Alert

logger = logging.getLogger(__name__)


def alert_open(*, patient, kind: str, priority: int, message: str, episode_key: str, **refs) -> Alert | None:
    """Open an alert unless one already exists for this episode (returns None then)."""
    try:
        with transaction.atomic():
            return Alert.objects.create(patient=patient, kind=kind, priority=priority, message=message,
                                        episode_key=episode_key, **refs)
    except IntegrityError:
        return None


def phq9_response_screen(*, response_id: int) -> Alert | None:
    """Item 9 above 0 opens a high-priority alert at once, whatever the voice says."""
    response = Phq9Response.objects.select_related("patient").get(pk=response_id)
    if not is_safety_signal(response.item9):
        return None
    return alert_open(
        patient=response.patient, kind=Alert.Kind.SELF_HARM, priority=Alert.Priority.HIGH, phq9=response,
        episode_key=f"phq9:{response.pk}",
        message=(f"PHQ-9 item 9 (thoughts of self-harm) answered {response.item9} of 3 on "
                 f"{response.answered_at:%Y-%m-%d}. Contact the patient today."),
    )
