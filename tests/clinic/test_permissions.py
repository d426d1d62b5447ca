"""Permission matrix: patient A vs B, clinician inside vs outside the care team, anonymous."""

import pytest
from django.utils import timezone

from clinic.models import AuditEvent, Patient, Phq9Response, Recording
from tests.conftest import tone_wav


def _recording(patient, seed: int) -> Recording:
    return Recording.objects.create(patient=patient, file=f"recordings/{seed}.wav", sha256=f"{seed:064d}",
                                    size_bytes=10, container="wav", recorded_at=timezone.now())


def _phq9(patient) -> Phq9Response:
    response = Phq9Response(patient=patient, answered_at=timezone.now(), source="self_report",
                            **{f"item{n}": 1 for n in range(1, 10)})
    response.save()
    return response


@pytest.fixture
def objects(cast):
    rec_a, rec_b = _recording(cast.patient_a, 1), _recording(cast.patient_b, 2)
    return {"rec_a": rec_a, "rec_b": rec_b, "phq_a": _phq9(cast.patient_a), "phq_b": _phq9(cast.patient_b)}


def _who(cast, name):
    return {"anonymous": None, "patient_a": cast.key_a, "patient_b": cast.key_b, "alice": cast.alice_token,
            "bob": cast.bob_token, "charlie": cast.charlie_token}[name]


# Expected status of GET on patient A's data for each principal.
DETAIL_MATRIX = {"anonymous": 401, "patient_a": 200, "patient_b": 404, "alice": 200, "bob": 200, "charlie": 404}


@pytest.mark.parametrize("who,expected", DETAIL_MATRIX.items())
@pytest.mark.parametrize("url", ["/api/v1/patients/{pa}/", "/api/v1/recordings/{ra}/", "/api/v1/recordings/{ra}/audio/"])
def test_it_scopes_patient_a_data(cast, objects, api, who, expected, url, settings, tmp_path):
    from clinic.storage import audio_store

    objects["rec_a"].file.name = audio_store(prefix="recordings", chunks=[tone_wav()])
    objects["rec_a"].save()
    response = api(_who(cast, who)).get(url.format(pa=cast.patient_a.pk, ra=objects["rec_a"].pk))
    assert response.status_code == expected


@pytest.mark.parametrize("who,visible", [("patient_a", {"N-001"}), ("patient_b", {"S-001"}), ("alice", {"N-001"}),
                                         ("bob", {"N-001"}), ("charlie", {"S-001"})])
@pytest.mark.parametrize("url", ["/api/v1/recordings/", "/api/v1/phq9/"])
def test_it_lists_only_what_each_may_see(cast, objects, api, who, visible, url):
    response = api(_who(cast, who)).get(url)
    assert response.status_code == 200
    assert {row["patient"] for row in response.json()["results"]} == visible


@pytest.mark.parametrize("url", ["/api/v1/recordings/", "/api/v1/phq9/", "/api/v1/patients/"])
def test_it_refuses_anonymous_lists(cast, api, url):
    response = api().get(url)
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


def test_it_lists_patients_only_for_the_care_team(cast, api):
    assert [p["code"] for p in api(cast.alice_token).get("/api/v1/patients/").json()["results"]] == ["N-001"]
    assert [p["code"] for p in api(cast.charlie_token).get("/api/v1/patients/").json()["results"]] == ["S-001"]
    assert api(cast.key_a).get("/api/v1/patients/").status_code == 403


def test_it_creates_a_patient_with_a_one_time_upload_token(cast, api):
    response = api(cast.alice_token).post("/api/v1/patients/", {"code": "N-002", "sex": "male"}, format="json")
    assert response.status_code == 201
    body = response.json()
    token = body["upload_token"]
    from clinic.models import ApiToken

    assert not ApiToken.objects.filter(key_hash=token).exists()  # only the hash is stored
    assert ApiToken.objects.filter(key_hash=ApiToken.hash_key(token), patient_id=body["id"]).exists()
    assert api(token).get(f"/api/v1/patients/{body['id']}/").status_code == 200
    assert "upload_token" not in api(cast.alice_token).get(f"/api/v1/patients/{body['id']}/").json()


def test_it_refuses_to_enrol_into_another_team(cast, api):
    response = api(cast.alice_token).post("/api/v1/patients/", {"code": "X", "care_team": cast.south.pk}, format="json")
    assert response.status_code == 404  # a team you are not in is as invisible as one that does not exist
    missing = api(cast.alice_token).post("/api/v1/patients/", {"code": "X", "care_team": 0}, format="json")
    assert missing.status_code == 404 and not Patient.objects.filter(code="X").exists()


def test_it_refuses_uploads_from_clinicians_and_anonymous(cast, api):
    assert api(cast.alice_token).post("/api/v1/recordings/", {"audio": b""}).status_code == 403
    assert api().post("/api/v1/recordings/", {}).status_code == 401


def test_it_issues_clinician_tokens_for_right_passwords_only(cast, api):
    ok = api().post("/api/v1/auth/token/", {"username": "alice", "password": "alice-password-1"}, format="json")
    assert ok.status_code == 200
    assert api(ok.json()["token"]).get("/api/v1/patients/").status_code == 200
    bad = api().post("/api/v1/auth/token/", {"username": "alice", "password": "nope"}, format="json")
    assert bad.status_code == 401
    assert api("not-a-token").get("/api/v1/patients/").status_code == 401


def test_it_audits_every_staff_read(cast, objects, api):
    before = AuditEvent.objects.count()
    api(cast.bob_token).get(f"/api/v1/recordings/{objects['rec_a'].pk}/")
    api(cast.bob_token).get("/api/v1/phq9/")
    api(cast.key_a).get(f"/api/v1/recordings/{objects['rec_a'].pk}/")  # a patient reading their own: not staff
    events = list(AuditEvent.objects.order_by("at")[before:])
    assert [(e.actor.username, e.resource, e.patient_code) for e in events] == [
        ("bob", "recording", "N-001"), ("bob", "phq9", "N-001")]


def test_it_keeps_the_audit_log_append_only(cast, objects, api):
    api(cast.bob_token).get(f"/api/v1/patients/{cast.patient_a.pk}/")
    event = AuditEvent.objects.latest("at")
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()


def test_it_serves_no_clinical_page_without_authentication(client, cast):
    assert client.get("/api/schema/").status_code in (200, 401, 403)
    assert client.get(f"/api/v1/patients/{cast.patient_a.pk}/").status_code == 401


def test_it_expires_clinician_tokens_but_not_upload_tokens(cast, api, settings):
    from datetime import timedelta

    from clinic.models import ApiToken

    ApiToken.objects.update(created_at=timezone.now() - timedelta(seconds=settings.CADENCE_CLINICIAN_TOKEN_TTL_S + 1))
    response = api(cast.alice_token).get("/api/v1/patients/")
    assert response.status_code == 401 and "expired" in response.json()["detail"]
    assert api(cast.key_a).get(f"/api/v1/patients/{cast.patient_a.pk}/").status_code == 200


def test_it_rotates_a_lost_upload_token(cast, api):
    url = f"/api/v1/patients/{cast.patient_a.pk}/upload-token/"
    assert api(cast.charlie_token).post(url).status_code == 404
    assert api(cast.key_a).post(url).status_code == 403
    response = api(cast.bob_token).post(url)
    assert response.status_code == 201
    assert api(cast.key_a).get(f"/api/v1/patients/{cast.patient_a.pk}/").status_code == 401  # the old one is revoked
    assert api(response.json()["upload_token"]).get(f"/api/v1/patients/{cast.patient_a.pk}/").status_code == 200


def test_it_lets_the_care_team_end_monitoring(cast, api):
    url = f"/api/v1/patients/{cast.patient_a.pk}/"
    assert api(cast.charlie_token).patch(url, {"active": False}, format="json").status_code == 404
    assert api(cast.key_a).patch(url, {"active": False}, format="json").status_code == 404
    response = api(cast.bob_token).patch(url, {"active": False, "code": "RENAMED"}, format="json")
    assert response.status_code == 200 and response.json()["active"] is False
    assert response.json()["code"] == "N-001"
    assert api(cast.key_a).get(url).status_code == 401  # the patient's app is no longer accepted
