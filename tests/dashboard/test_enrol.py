"""Enrolment in the dashboard: add a patient, edit the details, end monitoring; links a phone can open.

Alice (team North) enrols; Bob is also put in South to choose a team; Charlie (South) sees nothing of North.
"""

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from clinic.models import AuditEvent, EnrolmentLink, Patient

pytestmark = pytest.mark.django_db

ADD = "/patients/new/"
DETAILS = {"sex": "female", "birth_year": "1979", "language": "es", "timezone": "Europe/Madrid",
           "consent_version": "v2.1", "consent_date": "2026-11-30"}


@pytest.fixture(autouse=True)
def _https_base_url(settings):
    settings.CADENCE_BASE_URL = "https://cadence.example.org"


def _login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_adds_a_patient_from_triage_and_goes_on_to_the_link(cast):
    alice = _login(cast.alice)
    triage = alice.get("/").content.decode()
    assert f'href="{ADD}"' in triage and "Add patient" in triage
    form = alice.get(ADD).content.decode()
    assert 'name="care_team"' not in form  # one team: nothing to choose
    assert '<datalist id="time-zones">' in form and '<option value="Europe/Madrid">' in form

    response = alice.post(ADD, {"code": "N-100", **DETAILS})
    patient = Patient.objects.get(code="N-100")
    assert response.status_code == 302 and response["Location"] == f"/patients/{patient.pk}/?new=1#recorder"
    assert (patient.care_team, patient.sex, patient.birth_year, patient.language, patient.timezone) == (
        cast.north, "female", 1979, "es", "Europe/Madrid")
    assert patient.consent_version == "v2.1" and patient.consent_given_at.date() == date(2026, 11, 30)
    assert patient.tokens.count() == 1 and patient.active  # the same service as the API
    assert AuditEvent.objects.filter(actor=cast.alice, action="create", resource="patient",
                                     patient_code="N-100").count() == 1
    page = alice.get(response["Location"]).content.decode()
    assert "N-100 is enrolled. Next, create the enrolment link" in page
    assert "No phone is linked to this patient yet." in page and "next-step" in page
    assert "Create enrolment link" in page


def test_it_asks_for_the_team_only_of_a_clinician_in_several(cast):
    cast.south.members.add(cast.bob)
    bob = _login(cast.bob)
    form = bob.get(ADD).content.decode()
    assert 'name="care_team"' in form and ">North<" in form and ">South<" in form
    missing = bob.post(ADD, {"code": "S-100", **DETAILS})
    assert missing.status_code == 400 and "This field is required." in missing.content.decode()
    assert bob.post(ADD, {"code": "S-100", "care_team": cast.south.pk, **DETAILS}).status_code == 302
    assert Patient.objects.get(code="S-100").care_team == cast.south
    charlie = _login(cast.charlie)  # South only: North is no choice of his
    refused = charlie.post(ADD, {"code": "N-101", "care_team": cast.north.pk, **DETAILS})
    assert refused.status_code == 302 and Patient.objects.get(code="N-101").care_team == cast.south


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"code": "../x"}, "code", "may contain only letters, digits"),
    ({"code": "N-001"}, "code", "already enrolled"),
    ({"timezone": "Mars/Olympus"}, "timezone", "Not a time zone name"),
    ({"language": "español"}, "language", "A language tag such as en"),
    ({"consent_date": ""}, "consent_date", "both the form&#x27;s version and the date"),
    ({"birth_year": "1850"}, "birth_year", "greater than or equal to 1900"),
])
def test_it_refuses_bad_details_in_words_and_keeps_what_was_typed(cast, change, field, words):
    alice = _login(cast.alice)
    response = alice.post(ADD, {"code": "N-102", **DETAILS} | change)
    html = response.content.decode()
    assert response.status_code == 400 and words in html
    assert 'value="v2.1"' in html  # nothing typed is lost
    assert not Patient.objects.filter(code="N-102").exists()


def test_a_clinician_in_no_team_is_told_how_to_join_one(cast):
    from django.contrib.auth.models import User

    dana = _login(User.objects.create_user("dana"))
    page = dana.get(ADD).content.decode()
    assert "You are not in any care team" in page and "add_clinician" in page
    assert dana.post(ADD, {"code": "X-1", **DETAILS}).status_code == 400
    assert not Patient.objects.filter(code="X-1").exists()


def test_it_edits_the_details_and_ends_and_resumes_monitoring(cast, api):
    alice, patient = _login(cast.alice), cast.patient_a
    edit, monitoring = reverse("dashboard:patient-edit", args=[patient.pk]), f"/patients/{patient.pk}/monitoring/"
    page = alice.get(f"/patients/{patient.pk}/").content.decode()
    assert "Edit the details of N-001" in page and "End monitoring" in page

    bad = alice.post(edit, DETAILS | {"timezone": "Nowhere/Else"})
    assert bad.status_code == 400 and "Not a time zone name" in bad.content.decode()
    assert alice.post(edit, DETAILS).status_code == 302
    patient.refresh_from_db()
    assert (patient.language, patient.timezone, patient.consent_version) == ("es", "Europe/Madrid", "v2.1")
    assert patient.code == "N-001" and patient.care_team == cast.north
    updates = AuditEvent.objects.filter(actor=cast.alice, action="update", resource="patient", patient_code="N-001")
    assert updates.count() == 1

    unconfirmed = alice.post(monitoring, {"action": "end"}, follow=True)
    assert "tick the box" in unconfirmed.content.decode() and Patient.objects.get(pk=patient.pk).active
    ended = alice.post(monitoring, {"action": "end", "confirm": "N-001"}, follow=True).content.decode()
    assert "Monitoring of N-001 has ended" in ended and "Resume monitoring" in ended
    assert not Patient.objects.get(pk=patient.pk).active and updates.count() == 2
    assert api(cast.key_a).get("/api/v1/recordings/").status_code == 401  # the phone's token stops working
    refused = alice.post(f"/patients/{patient.pk}/enrolment-link/")
    assert refused.status_code == 409 and "Monitoring of this patient has ended" in refused.content.decode()
    assert not EnrolmentLink.objects.exists()
    assert alice.post(monitoring, {"action": "resume"}).status_code == 302
    assert Patient.objects.get(pk=patient.pk).active and updates.count() == 3
    assert _login(cast.charlie).post(monitoring, {"action": "end", "confirm": "N-001"}).status_code == 404


def test_it_builds_links_from_the_base_url_never_the_host_typed(cast, api, settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "testserver"]
    alice = _login(cast.alice)
    html = alice.post(f"/patients/{cast.patient_a.pk}/enrolment-link/", HTTP_HOST="127.0.0.1").content.decode()
    assert 'value="https://cadence.example.org/r/enrol/#' in html and "127.0.0.1" not in html
    assert 'data-copy="enrolment-url"' in html and "dashboard/copy.js" in html  # the copy button's script is a file
    body = api(cast.alice_token).post(f"/api/v1/patients/{cast.patient_a.pk}/enrolment-link/",
                                      HTTP_HOST="127.0.0.1").json()
    assert body["url"].startswith("https://cadence.example.org/r/enrol/#")


@pytest.mark.parametrize(("base_url", "words"), [
    ("http://127.0.0.1:8000", "an address of this computer only"),
    ("https://localhost", "an address of this computer only"),
    ("http://cadence.clinic.lan", "a plain-HTTP address"),
    ("cadence.example.org", "is not a web address"),
])
def test_it_refuses_in_words_a_link_a_phone_cannot_open(cast, api, settings, base_url, words):
    settings.CADENCE_BASE_URL, settings.DEBUG = base_url, False
    page = _login(cast.alice).post(f"/patients/{cast.patient_a.pk}/enrolment-link/")
    assert page.status_code == 409 and "No link was made." in page.content.decode() and words in page.content.decode()
    response = api(cast.alice_token).post(f"/api/v1/patients/{cast.patient_a.pk}/enrolment-link/")
    assert response.status_code == 409 and response.json()["error"] == "base_url_unusable"
    assert words in response.json()["detail"]
    assert not EnrolmentLink.objects.exists()


def test_the_embedded_demo_makes_a_loopback_link_and_says_where_it_works(cast, settings):
    settings.CADENCE_BASE_URL, settings.DEBUG = "http://127.0.0.1:8000", True
    page = _login(cast.alice).post(f"/patients/{cast.patient_a.pk}/enrolment-link/")
    html = page.content.decode()
    assert page.status_code == 201 and 'value="http://127.0.0.1:8000/r/enrol/#' in html
    assert "This link works only for a demonstration on this computer." in html


def test_the_api_takes_and_serves_language_time_zone_and_consent(cast, api, settings):
    settings.CADENCE_DEFAULT_TIME_ZONE = "America/Mexico_City"
    client = api(cast.alice_token)
    created = client.post("/api/v1/patients/", {"code": "N-200", "language": "es-MX"}, format="json").json()
    assert (created["language"], created["timezone"]) == ("es-MX", "America/Mexico_City")
    bad = client.post("/api/v1/patients/", {"code": "N-201", "language": "spanish!"}, format="json")
    assert bad.status_code == 400 and bad.json()["fields"]["language"] == ["A language tag such as en, es or de-AT."]
    patched = client.patch(f"/api/v1/patients/{created['id']}/", {
        "timezone": "Europe/Madrid", "consent_version": "v3", "consent_given_at": "2026-12-01T10:00:00Z"},
        format="json")
    assert patched.status_code == 200 and patched.json()["consent_version"] == "v3"
    half = client.patch(f"/api/v1/patients/{created['id']}/", {"consent_version": ""}, format="json")
    assert half.status_code == 400  # consent needs both its version and its date
    assert Patient.objects.get(code="N-200").consent_version == "v3"


def test_a_clinic_sets_a_new_patients_language(cast, api, settings):
    """CADENCE_DEFAULT_PATIENT_LANGUAGE: the language a new patient gets when none is given (a Spanish-speaking
    clinic's patients mostly record in Spanish): the dashboard's form offers it, the API applies it, and a value
    that is not a language tag stops the service at start-up."""
    from django.core import checks

    settings.CADENCE_DEFAULT_PATIENT_LANGUAGE = "es"
    form = _login(cast.alice).get(ADD).content.decode()
    assert 'name="language" value="es"' in form
    created = api(cast.alice_token).post("/api/v1/patients/", {"code": "N-300"}, format="json").json()
    assert created["language"] == "es" and Patient.objects.get(code="N-300").language == "es"
    given = api(cast.alice_token).post("/api/v1/patients/", {"code": "N-301", "language": "en"}, format="json")
    assert given.json()["language"] == "en"  # a given language stands
    assert not [e for e in checks.run_checks() if e.id == "clinic.E007"]
    settings.CADENCE_DEFAULT_PATIENT_LANGUAGE = "spanish please"
    [error] = [e for e in checks.run_checks() if e.id == "clinic.E007"]
    assert "not a language tag" in error.msg
