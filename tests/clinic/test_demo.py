"""The demo seed: patients, recordings through the upload service, PHQ-9s; idempotent."""

import pytest
from django.core.management import call_command

from clinic.models import Patient, Phq9Response, Recording
from screening.models import Alert

pytestmark = pytest.mark.slow  # scheduled first (tests/conftest.py)


def test_it_seeds_a_demo_cohort_once(db, monkeypatch, django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr("clinic.processing.tasks.process_recording.apply_async",
                        lambda args, queue: queued.append(queue))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", patients=10, weeks=6, per_week=1)
        call_command("seed_demo", patients=10, weeks=6, per_week=1)
    assert Patient.objects.filter(code__startswith="DEMO-").count() == 10
    assert Recording.objects.count() >= 50
    assert set(Recording.objects.values_list("container", flat=True)) == {"wav"}
    # on the demo's own queue, never ahead of a patient's upload (tests/integration/test_bulk_queue.py)
    assert set(Recording.objects.values_list("bulk", flat=True)) == {True} and set(queued) == {"bulk"}
    assert Phq9Response.objects.count() == 30
    # DEMO-010 answers item 9 in the last weeks: the safety alert is raised by the real service.
    assert Alert.objects.filter(patient__code="DEMO-010", kind="self_harm", priority=1).exists()
