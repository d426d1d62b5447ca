"""Screening's subscriptions to the clinical domain's signals (connected in ``ScreeningConfig.ready``)."""

import logging

from clinic.signals import phq9_recorded, recording_processed
from screening import tasks
from screening.alerts.services import phq9_response_screen

logger = logging.getLogger(__name__)


def screen_processed_recording(sender, *, recording_id: int, **kwargs) -> None:
    tasks.screen_recording.delay(recording_id)


def screen_phq9_response(sender, *, response_id: int, **kwargs) -> None:
    phq9_response_screen(response_id=response_id)


def connect() -> None:
    recording_processed.connect(screen_processed_recording, dispatch_uid="screening.recording_processed")
    phq9_recorded.connect(screen_phq9_response, dispatch_uid="screening.phq9_recorded")
