"""/api/v1/recordings/{id}/emotion-label/: clinicians of the recording's care team label its emotion (PUT) and
read their label and the choices (GET)."""

import pytest
from django.utils import timezone

from clinic.models import AuditEvent, EmotionLabel, Recording
from tests.support.emotion import LABELS, VERSION, active_registry


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # the cast's users, quickly


@pytest.fixture
def recording(cast):
    return Recording.objects.create(patient=cast.patient_a, file="recordings/a.wav", sha256="a" * 64, size_bytes=10,
                                    container="wav", recorded_at=timezone.now(), status="done")


@pytest.fixture
def emotion_on(settings, tmp_path):
    settings.EMOTION_MODEL_REGISTRY = active_registry(tmp_path / "emotion")


def _url(recording) -> str:
    return f"/api/v1/recordings/{recording.pk}/emotion-label/"


def test_a_clinician_of_the_team_labels_then_relabels_and_it_is_audited(cast, api, recording, emotion_on):
    before = api(cast.alice_token).get(_url(recording)).json()
    assert before == {"recording": recording.pk, "label": None, "labelled_at": None, "model_version": VERSION,
                      "choices": LABELS}
    response = api(cast.alice_token).put(_url(recording), {"label": "sadness"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["recording"] == recording.pk and body["label"] == "sadness"
    assert body["model_version"] == VERSION and body["choices"] == LABELS
    response = api(cast.alice_token).put(_url(recording), {"label": "neutral"}, format="json")
    assert response.status_code == 200 and response.json()["label"] == "neutral"
    assert api(cast.bob_token).put(_url(recording), {"label": "anger"}, format="json").status_code == 201
    assert sorted(EmotionLabel.objects.values_list("labelled_by__username", "label")) == [
        ("alice", "neutral"), ("bob", "anger")]  # one label per clinician, the latest
    assert api(cast.alice_token).get(_url(recording)).json()["label"] == "neutral"  # each reads their own
    assert api(cast.bob_token).get(_url(recording)).json()["label"] == "anger"
    events = AuditEvent.objects.filter(resource="emotion_label").order_by("pk")
    assert [(e.actor.username, e.action, e.patient_code, e.object_id) for e in events] == [
        ("alice", "read", "N-001", str(recording.pk)), ("alice", "create", "N-001", str(recording.pk)),
        ("alice", "update", "N-001", str(recording.pk)), ("bob", "create", "N-001", str(recording.pk)),
        ("alice", "read", "N-001", str(recording.pk)), ("bob", "read", "N-001", str(recording.pk))]


def test_another_team_gets_404_and_a_patient_app_403(cast, api, recording, emotion_on):
    other = api(cast.charlie_token).put(_url(recording), {"label": "sadness"}, format="json")
    assert other.status_code == 404 and other.json()["error"] == "not_found"
    missing = api(cast.alice_token).put("/api/v1/recordings/999999/emotion-label/", {"label": "sadness"},
                                        format="json")
    assert missing.status_code == 404
    patient = api(cast.key_a).put(_url(recording), {"label": "sadness"}, format="json")
    assert patient.status_code == 403 and api(cast.key_a).get(_url(recording)).status_code == 403
    assert api(cast.charlie_token).get(_url(recording)).status_code == 404
    assert api().put(_url(recording), {"label": "sadness"}, format="json").status_code == 401
    assert not EmotionLabel.objects.exists()
    assert not AuditEvent.objects.filter(resource="emotion_label").exists()


def test_it_refuses_a_label_that_is_not_a_class_of_the_active_model(cast, api, recording, emotion_on):
    for body in ({"label": "joy"}, {"label": ""}, {}, {"label": "x" * 33}, {"label": "sad\x00ness"}, {"label": 3},
                 {"label": ["sadness"]}):
        response = api(cast.alice_token).put(_url(recording), body, format="json")
        assert response.status_code == 400, body
        error = response.json()
        assert error["error"] == "invalid" and "label" in error["fields"] and error["detail"].startswith("label: ")
    assert not EmotionLabel.objects.exists()


def test_it_names_the_choices_when_the_label_is_unknown(cast, api, recording, emotion_on):
    detail = api(cast.alice_token).put(_url(recording), {"label": "joy"}, format="json").json()["detail"]
    assert VERSION in detail and "anger, happiness, neutral, sadness" in detail


def test_it_answers_409_while_no_emotion_model_is_active(cast, api, recording, settings, tmp_path):
    settings.EMOTION_MODEL_REGISTRY = tmp_path / "empty"
    response = api(cast.alice_token).put(_url(recording), {"label": "sadness"}, format="json")
    assert response.status_code == 409 and response.json()["error"] == "emotion_stage_off"
    assert api(cast.alice_token).get(_url(recording)).json() == {
        "recording": recording.pk, "label": None, "labelled_at": None, "model_version": None, "choices": []}
    assert not EmotionLabel.objects.exists()
