"""A Spanish-speaking patient's phone, in headless Chromium whose own language is English: the care team enrols the
patient with ``language: es-MX``; once linked, the recorder, its task and passage, the PHQ-9 (its published Spanish
version) and the crisis text appear in Spanish; an item-9 answer in Spanish raises the same self-harm alert.
axe-core checks the Spanish pages (``<html lang="es">``). Fixtures: tests/recorder/conftest.py."""

import pytest

from clinic.models import Patient, Phq9Response, Recording
from clinic.services import enrolment_link_create
from screening.models import Alert
from tests.recorder.test_browser import _axe, _phone, _pin_day, _shot, _take_state, _until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_spanish_speaking_patient_gets_the_recorder_phq9_and_crisis_text_in_spanish(
        phone_browser, live_server, cast, api, axe_script):
    from datetime import date, timedelta

    created = api(cast.alice_token).post("/api/v1/patients/", {
        "code": "ES-001", "sex": "female", "birth_year": 1975, "language": "es-MX",
        "enrolled_on": (date.today() - timedelta(days=7)).isoformat()}, format="json")
    assert created.status_code == 201, created.content
    patient = Patient.objects.get(code="ES-001")
    _, key = enrolment_link_create(patient=patient, created_by=cast.alice)

    page = _phone(phone_browser, live_server.url)
    page.set_extra_http_headers({"Accept-Language": "en-US,en;q=0.9"})  # the phone itself is set to English
    _pin_day(page, 0)
    page.goto(f"{live_server.url}/r/enrol/#{key}")
    _until(page, "document.documentElement.lang === 'es' && location.pathname.endsWith('/r/') "
                 "&& !location.search && document.getElementById('start').disabled === false", timeout_s=30)
    assert page.locator("#task-name").inner_text() == "Lea este texto en voz alta"
    assert page.locator("#task-text").inner_text().startswith("El viento norte y el sol porfiaban")
    assert page.get_by_role("button", name="Empezar a grabar").is_visible()
    _axe(page, axe_script)
    _shot(page, "es-00-task")

    page.wait_for_selector("#phq9-form:not([hidden])")
    assert page.get_by_text("Su equipo de atención le pide que responda hoy a estas preguntas.").is_visible()
    assert page.get_by_text("Durante las últimas 2 semanas, ¿qué tan seguido ha tenido molestias").is_visible()
    for n in range(1, 9):
        page.locator(f"#phq9-item{n}").get_by_label("Ningún día").check()
    assert page.locator("#crisis").is_hidden()
    item9 = page.locator("#phq9-item9")
    assert "Pensamientos de que estaría mejor muerto(a)" in item9.locator("legend").inner_text()
    item9.get_by_label("Más de la mitad de los días").check()
    crisis = page.get_by_role("alert").filter(has_text="988")
    assert crisis.is_visible() and "No tiene que enfrentarlo solo(a)" in crisis.inner_text()
    assert "Si está pensando en hacerse daño" in crisis.inner_text()
    assert crisis.get_by_role("link", name="988").get_attribute("href") == "tel:988"
    _axe(page, axe_script)
    _shot(page, "es-01-crisis", at="#crisis")

    page.get_by_role("button", name="Enviar respuestas").click()
    page.wait_for_selector("text=Sus respuestas se han enviado a su equipo de atención.")
    response = Phq9Response.objects.get(patient=patient)
    assert response.item9 == 2 and response.total == 2 and response.source == "self_report"
    alert = Alert.objects.get(patient=patient, kind=Alert.Kind.SELF_HARM)
    assert alert.priority == 1
    assert page.errors == []


def test_a_take_the_server_cannot_use_is_explained_in_the_patients_language(phone_browser, live_server, cast,
                                                                           monkeypatch):
    """The server's quality gate refuses a real take (here: its noise limit raised out of reach); the phone shows
    why from the recording's status_code, in Spanish, not the server's English sentence."""
    from datetime import date, timedelta

    import voice_features.quality

    patient = cast.patient_a
    type(patient).objects.filter(pk=patient.pk).update(language="es-MX",  # the pinned day is after enrolment
                                                       enrolled_on=date.today() - timedelta(days=7))
    _, key = enrolment_link_create(patient=patient, created_by=cast.alice)
    monkeypatch.setattr(voice_features.quality, "MIN_SNR_DB", 500.0)  # Eager Celery: processed in the upload
    page = _phone(phone_browser, live_server.url)
    page.set_extra_http_headers({"Accept-Language": "en-US,en;q=0.9"})
    _pin_day(page, 1)  # free speech: six seconds are enough for the on-device check
    page.goto(f"{live_server.url}/r/enrol/#{key}")
    _until(page, "document.documentElement.lang === 'es' && location.pathname.endsWith('/r/') "
                 "&& !location.search && document.getElementById('start').disabled === false", timeout_s=30)
    page.get_by_role("button", name="Empezar a grabar").click()
    page.wait_for_timeout(6000)
    page.get_by_role("button", name="Detener la grabación").click()
    page.wait_for_selector("#check:not([hidden])")
    page.get_by_role("button", name="Enviar", exact=True).click()
    refused = _take_state(page, "rejected", timeout_s=60).inner_text()
    recording = Recording.objects.get(patient=patient)
    assert (recording.status, recording.status_code) == ("rejected", "too_noisy")
    assert recording.status_reason.startswith("The recording is too noisy")
    assert "No se puede usar: Había demasiado ruido a su alrededor." in refused
    assert "too noisy" not in refused and "SNR" not in refused
    _shot(page, "es-02-refused-take", at="#takes-section")
    assert page.errors == []


def test_a_spanish_speaking_clinician_gets_the_dashboard_in_spanish(phone_browser, live_server, cast, axe_script):
    from clinic.accounts import staff_language_set

    staff_language_set(user=cast.alice, language="es")
    context = phone_browser.new_context(viewport={"width": 1280, "height": 900}, locale="es-ES")
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    assert page.locator("html").get_attribute("lang") == "es"  # before login: the browser's language
    page.get_by_label("Usuario").fill("alice")
    page.get_by_label("Contraseña").fill("alice-password-1")
    page.get_by_role("button", name="Iniciar sesión").click()
    page.wait_for_selector("h1:has-text('Triaje')")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.get_by_role("link", name="N-001").is_visible()
    _axe(page, axe_script)
    context.close()
