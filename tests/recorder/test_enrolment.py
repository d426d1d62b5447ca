"""Enrolment links: a clinician of the team creates one, a phone uses it once, the recorder page is served."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clinic.models import ApiToken, AuditEvent, EnrolmentLink

pytestmark = pytest.mark.django_db


def _create(api, token, patient_id):
    return api(token).post(f"/api/v1/patients/{patient_id}/enrolment-link/")


def _key(url: str) -> str:
    assert "/r/enrol/#" in url
    return url.split("#", 1)[1]


def test_it_creates_a_link_for_a_clinician_of_the_team_and_audits_it(cast, api):
    response = _create(api, cast.bob_token, cast.patient_a.pk)
    assert response.status_code == 201
    body = response.json()
    assert body["url"].startswith("https://cadence.example.org/r/enrol/#")  # CADENCE_BASE_URL, not the host
    key = _key(body["url"])
    link = EnrolmentLink.objects.get(patient=cast.patient_a)
    assert link.key_hash == ApiToken.hash_key(key) and key not in link.key_hash
    assert link.created_by == cast.bob and link.used_at is None
    assert AuditEvent.objects.filter(actor=cast.bob, action="create", resource="enrolment_link",
                                     patient_code="N-001").count() == 1


def test_it_answers_404_to_other_teams_and_refuses_patients(cast, api):
    assert _create(api, cast.charlie_token, cast.patient_a.pk).status_code == 404
    assert _create(api, cast.key_a, cast.patient_a.pk).status_code == 403
    assert _create(api, None, cast.patient_a.pk).status_code == 401
    assert not EnrolmentLink.objects.exists()


def test_it_trades_a_link_once_for_a_working_upload_token(cast, api):
    key = _key(_create(api, cast.alice_token, cast.patient_a.pk).json()["url"])
    redeemed = api().post("/api/v1/enrolment-links/redeem/", {"link": key}, format="json")
    assert redeemed.status_code == 201
    token = redeemed.json()["token"]
    assert api(token).get("/api/v1/recordings/").status_code == 200
    assert api(cast.key_a).get("/api/v1/recordings/").status_code == 200  # the other device keeps working
    link = EnrolmentLink.objects.get()
    assert link.used_at is not None and link.device_token.patient == cast.patient_a

    again = api().post("/api/v1/enrolment-links/redeem/", {"link": key}, format="json")
    assert again.status_code == 410
    assert again.json() == {"error": "link_used", "detail": "This link has already been used. Each link works once; "
                                                            "ask your care team for a new one."}


@pytest.mark.parametrize("case, status, code", [
    ("expired", 410, "link_expired"), ("unknown", 404, "link_unknown"), ("inactive", 410, "patient_inactive"),
])
def test_it_refuses_an_unusable_link_in_plain_words(cast, api, case, status, code):
    key = _key(_create(api, cast.alice_token, cast.patient_a.pk).json()["url"])
    if case == "expired":
        EnrolmentLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    elif case == "unknown":
        key = key[:-4] + "AAAA"
    else:
        cast.patient_a.active = False
        cast.patient_a.save()
    response = api().post("/api/v1/enrolment-links/redeem/", {"link": key}, format="json")
    assert response.status_code == status
    assert response.json()["error"] == code and response.json()["detail"].endswith(".")
    assert ApiToken.objects.filter(patient=cast.patient_a).count() == 1


def test_it_refuses_a_malformed_redeem_request(api, db):
    response = api().post("/api/v1/enrolment-links/redeem/", {}, format="json")
    assert response.status_code == 400 and response.json()["error"] == "invalid"


def test_it_shows_the_link_and_its_qr_code_once_on_the_patient_page(cast, client):
    client.force_login(cast.alice)
    page = client.get(f"/patients/{cast.patient_a.pk}/")
    assert b"Create enrolment link" in page.content and b"<svg role=\"img\"" not in page.content
    response = client.post(f"/patients/{cast.patient_a.pk}/enrolment-link/")
    assert response.status_code == 201 and response["Cache-Control"] == "no-store"
    html = response.content.decode()
    assert '<svg role="img" aria-label="QR code of the enrolment link for N-001"' in html
    link = EnrolmentLink.objects.get()
    url = html.split('id="enrolment-url" class="enrolment-url" type="text" readonly value="', 1)[1].split('"', 1)[0]
    assert ApiToken.hash_key(_key(url)) == link.key_hash
    assert AuditEvent.objects.filter(actor=cast.alice, resource="enrolment_link").count() == 1
    client.force_login(cast.charlie)
    assert client.post(f"/patients/{cast.patient_a.pk}/enrolment-link/").status_code == 404


def test_it_serves_the_recorder_without_a_login_and_with_the_deployment_crisis_numbers(client, settings, db):
    settings.CADENCE_CRISIS_CONTACTS = [("Samaritans", "116 123")]
    settings.CADENCE_CRISIS_TEXT = "Please call someone now."
    html = client.get("/r/").content.decode()
    assert "Start recording" in html and "Stop recording" in html
    assert 'href="tel:116123">116 123</a>' in html and "Please call someone now." in html and "988" not in html
    assert "The North Wind and the Sun" in html
    worker = client.get("/r/sw.js")
    assert worker.status_code == 200 and worker["Content-Type"].startswith("text/javascript")
    assert b"importScripts(" in worker.content
    assert client.get("/r/enrol/")["Cache-Control"] == "no-store"
