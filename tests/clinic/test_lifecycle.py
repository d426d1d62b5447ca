"""Erasure (scan of every table and the storage), erasure during processing, retention and consent."""

import io
import os
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import models
from django.db.models.functions import Cast
from django.utils import timezone

from clinic.audit import erased_code_tombstone
from clinic.lifecycle import audio_retention_purge
from clinic.models import AuditEvent, Patient, Recording
from clinic.processing import services as processing
from clinic.processing.models import FeatureSet
from clinic.services import recording_ingest
from clinic.storage import audio_store
from screening.export import bulk_export_build
from tests.conftest import tone_wav
from tests.dashboard import factories

TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField, models.GenericIPAddressField)


def _rows_naming(value: str) -> dict[str, int]:
    """Rows of every table whose text or JSON columns contain ``value``."""
    found = {}
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, TEXT_FIELDS) or (isinstance(field, models.FileField)):
                n = model.objects.annotate(_t=Cast(field.name, models.TextField())).filter(_t__contains=value).count()
                if n:
                    found[f"{model._meta.db_table}.{field.name}"] = n
    return found


def _rows_linked_to(patient_id: int) -> dict[str, int]:
    found = {}
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is Patient:
                n = model.objects.filter(**{field.name: patient_id}).count()
                if n:
                    found[f"{model._meta.db_table}.{field.name}"] = n
    return found


def _stored_files() -> set[str]:
    root = default_storage.location
    return {os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files}


def _table_counts() -> dict[str, int]:
    return {m._meta.db_table: m.objects.count() for m in apps.get_models() if m.objects.exists()}


@pytest.fixture
def patient_history(cast, api, settings):
    """Patient A with everything a patient accumulates: audio, features, scores, alerts, PHQ-9, audit, export."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    for patient, seed in ((cast.patient_a, 1), (cast.patient_b, 2)):
        history = factories.history(patient, n=4, seed=seed)
        for k, recording in enumerate(history.recordings):
            recording.file.name = audio_store(prefix="recordings", chunks=[tone_wav(seconds=1.0, seed=seed * 10 + k)])
            recording.save(update_fields=["file"])
        factories.alert(patient, kind="self_harm", priority=1)
    pa = cast.patient_a.pk
    assert api(cast.alice_token).get(f"/api/v1/patients/{pa}/").status_code == 200
    assert api(cast.alice_token).get(f"/api/v1/patients/{pa}/timeline/").status_code == 200
    client = api()
    client.force_login(cast.alice)
    assert client.get(f"/?q={cast.patient_a.code.lower()}").status_code == 200  # a search naming the code
    LogEntry.objects.create(user=cast.alice, content_type=ContentType.objects.get_for_model(Patient), object_id=str(pa),
                            object_repr=cast.patient_a.code, action_flag=CHANGE, change_message="Changed language.")
    from clinic.models import BulkExport

    bulk_export_build(export_id=BulkExport.objects.create(care_team=cast.north, requested_by=cast.alice).pk)
    return cast


def test_it_erases_a_patient_everywhere_and_leaves_a_tombstone(patient_history, capsys,
                                                               django_capture_on_commit_callbacks):
    cast = patient_history
    code, pk = cast.patient_a.code, cast.patient_a.pk
    files_a = set(Recording.objects.filter(patient_id=pk).values_list("file", flat=True))
    files_b = set(Recording.objects.filter(patient_id=cast.patient_b.pk).values_list("file", flat=True))
    assert _rows_naming(code) and _rows_linked_to(pk) and files_a <= _stored_files()
    before = _table_counts()

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("erase_patient", code, "--yes", stdout=out)

    after = _table_counts()
    with capsys.disabled():
        print("\nerasure of one patient, rows per table before -> after:")
        for table in sorted(before):
            print(f"  {table}: {before[table]} -> {after.get(table, 0)}")
    assert _rows_naming(code) == {} and _rows_linked_to(pk) == {}
    assert _stored_files() - {"keys/audio-key-check.bin"} == files_b
    tombstone = erased_code_tombstone(code)
    assert tombstone in out.getvalue()
    erasure = AuditEvent.objects.get(action="erase")
    assert erasure.patient_code == tombstone and erasure.actor is None and "erase_patient" in erasure.path
    assert AuditEvent.objects.filter(patient_code=tombstone).count() > 1  # earlier reads kept, without the code
    assert Patient.objects.filter(pk=cast.patient_b.pk).exists() and Recording.objects.filter(
        patient=cast.patient_b).count() == 4


def test_it_lets_operators_erase_through_the_api_after_confirmation(cast, api):
    url = f"/api/v1/patients/{cast.patient_a.pk}/erase/"
    assert api(cast.charlie_token).post(url, {"confirm": "N-001"}, format="json").status_code == 404
    response = api(cast.alice_token).post(url, {"confirm": "N-001"}, format="json")
    assert response.status_code == 403 and response.json()["error"] == "permission_denied"
    operator = User.objects.create_user("olga", password="olga-password-1", is_staff=True)
    from clinic.services import clinician_token_issue

    token = clinician_token_issue(user=operator)
    response = api(token).post(url, {}, format="json")
    assert response.status_code == 400 and response.json()["error"] == "confirmation_required"
    response = api(token).post(url, {"confirm": "N-001"}, format="json")
    assert response.status_code == 200 and response.json()["tombstone"] == erased_code_tombstone("N-001")
    assert not Patient.objects.filter(code="N-001").exists()
    assert AuditEvent.objects.get(action="erase").actor == operator


def test_a_care_team_lead_may_erase_the_teams_patients(cast, api):
    from clinic.models import Membership

    Membership.objects.filter(care_team=cast.north, user=cast.alice).update(role=Membership.Role.LEAD)
    response = api(cast.alice_token).post(f"/api/v1/patients/{cast.patient_a.pk}/erase/", {"confirm": "N-001"},
                                          format="json")
    assert response.status_code == 200 and not Patient.objects.filter(code="N-001").exists()
    assert api(cast.alice_token).post(f"/api/v1/patients/{cast.patient_b.pk}/erase/",
                                      {"confirm": "S-001"}, format="json").status_code == 404


@pytest.fixture
def received(cast, monkeypatch):
    monkeypatch.setattr("clinic.processing.tasks.process_recording.delay", lambda recording_id: None)
    upload = SimpleUploadedFile("r.wav", tone_wav(seconds=4.0, seed=5))
    return recording_ingest(patient=cast.patient_a, upload=upload).recording


def _erase(cast) -> None:
    call_command("erase_patient", cast.patient_a.code, "--yes", stdout=io.StringIO())


def test_the_worker_stops_cleanly_when_the_patient_is_erased_mid_processing(received, cast, monkeypatch):
    def extract_then_erase(recording):
        _erase(cast)
        return {"quality": {"accepted": True}, "features": {"duration_s": 4.0}, "version": "1.0"}

    monkeypatch.setattr(processing, "_extract", extract_then_erase)
    from clinic.processing.tasks import process_recording

    assert process_recording(received.pk) is None
    assert not FeatureSet.objects.exists() and not Recording.objects.exists()


def test_the_worker_stops_cleanly_when_the_audio_vanishes_before_it_is_read(received, cast, monkeypatch,
                                                                           django_capture_on_commit_callbacks):
    real_extract = processing._extract

    def erase_then_extract(recording):
        with django_capture_on_commit_callbacks(execute=True):
            _erase(cast)
        assert not default_storage.exists(recording.file.name)
        return real_extract(recording)  # the file is gone: opening it fails

    monkeypatch.setattr(processing, "_extract", erase_then_extract)
    from clinic.processing.tasks import process_recording

    assert process_recording(received.pk) is None


def test_it_deletes_audio_after_the_retention_period_and_keeps_features(cast, api, settings, alice_session):
    history = factories.history(cast.patient_a, n=2, seed=4)
    old, recent = history.recordings
    now = timezone.now()
    for recording, age in ((old, 40), (recent, 5)):
        recording.file.name = audio_store(prefix="recordings", chunks=[tone_wav(seconds=1.0, seed=age)])
        recording.finished_at = now - timedelta(days=age)
        recording.save()
    assert audio_retention_purge() == 0  # off by default
    settings.CADENCE_AUDIO_RETENTION_DAYS = 30
    old_name = old.file.name
    assert audio_retention_purge() == 1
    old.refresh_from_db()
    assert old.audio_deleted_at and not old.file and not default_storage.exists(old_name)
    assert FeatureSet.objects.filter(recording=old).exists()
    response = api(cast.alice_token).get(f"/api/v1/recordings/{old.pk}/audio/")
    assert response.status_code == 410 and "30 days" in response.json()["detail"]
    assert api(cast.alice_token).get(f"/api/v1/recordings/{recent.pk}/audio/").status_code == 200
    page = alice_session.get(f"/patients/{cast.patient_a.pk}/").content.decode()
    assert "audio deleted after 30 days" in page and f"/api/v1/recordings/{recent.pk}/audio/" in page
    assert settings.CELERY_BEAT_SCHEDULE["purge-expired-audio"]["task"] == "clinic.tasks.purge_expired_audio"


@pytest.fixture
def alice_session(cast, settings):
    from django.test import Client

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client = Client()
    client.force_login(cast.alice)
    return client


def test_it_refuses_uploads_without_consent_where_required(cast, api, settings, monkeypatch):
    monkeypatch.setattr("clinic.processing.tasks.process_recording.delay", lambda recording_id: None)
    settings.CADENCE_REQUIRE_CONSENT = True

    def upload():
        return api(cast.key_a).post("/api/v1/recordings/", {"audio": SimpleUploadedFile("a.wav", tone_wav())},
                                    format="multipart")

    response = upload()
    assert response.status_code == 403 and response.json()["error"] == "consent_required"
    assert "consent" in response.json()["detail"] and not Recording.objects.exists()
    url = f"/api/v1/patients/{cast.patient_a.pk}/"
    assert api(cast.alice_token).patch(url, {"consent_version": "2.1"}, format="json").status_code == 400
    response = api(cast.alice_token).patch(url, {"consent_version": "2.1", "consent_given_at": "2026-11-02T09:00Z"},
                                           format="json")
    assert response.status_code == 200 and response.json()["consent_version"] == "2.1"
    assert upload().status_code == 202
