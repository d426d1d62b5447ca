"""Spanish for patients and clinicians through the test client: the recorder follows the patient's language (then
the phone's browser), the dashboard and e-mails the clinician's own; recordings carry the language they were made
in, and a patient who records in two languages keeps a baseline per language."""

import re

import pytest
from django.core import mail

from clinic.accounts import staff_language_set
from clinic.models import Recording
from tests.conftest import tone_wav
from web.api.serializers import RecordingSerializer

pytestmark = pytest.mark.django_db

PHQ9_ITEM9_ES = "Pensamientos de que estaría mejor muerto(a) o de lastimarse de alguna manera"


def _lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def test_it_serves_the_recorder_in_spanish_when_asked_and_remembers_it_on_this_phone(client):
    response = client.get("/r/?lang=es")
    html = response.content.decode()
    assert _lang(html) == "es" and response["Content-Language"] == "es"
    assert "Empezar a grabar" in html and "Cuestionario (PHQ-9)" in html and PHQ9_ITEM9_ES in html
    assert "Ningún día" in html and "Casi todos los días" in html  # the PHQ-9 answers, scored 0-3 as in English
    assert "Si está pensando en hacerse daño" in html and 'href="tel:988"' in html
    assert "El viento norte y el sol porfiaban" in html and "The North Wind" not in html
    cookie = response.cookies["cadence_language"]
    assert cookie.value == "es" and cookie["path"] == "/r/" and cookie["httponly"]
    again = client.get("/r/").content.decode()
    assert _lang(again) == "es" and "Empezar a grabar" in again
    assert _lang(client.get("/r/?lang=en").content.decode()) == "en"


def test_it_follows_the_phones_browser_when_the_patient_language_is_not_known(client):
    html = client.get("/r/", HTTP_ACCEPT_LANGUAGE="es-MX,es;q=0.9,en;q=0.5").content.decode()
    assert _lang(html) == "es" and "Grabadora de Cadence" in html
    html = client.get("/r/", HTTP_ACCEPT_LANGUAGE="de-AT").content.decode()
    assert _lang(html) == "en" and "Start recording" in html
    assert _lang(client.get("/r/?lang=xx").content.decode()) == "en"  # a language Cadence does not speak


def test_it_tells_the_phone_its_patients_language_and_lets_the_care_team_change_it(cast, api):
    assert api(cast.key_a).get("/api/v1/patient/").json() == {"language": "en", "interface_language": "en"}
    changed = api(cast.alice_token).patch(f"/api/v1/patients/{cast.patient_a.pk}/", {"language": "es-MX"},
                                          format="json")
    assert changed.status_code == 200 and changed.json()["language"] == "es-MX"
    assert api(cast.key_a).get("/api/v1/patient/").json() == {"language": "es-MX", "interface_language": "es"}
    refused = api(cast.alice_token).patch(f"/api/v1/patients/{cast.patient_a.pk}/", {"language": "Spanish!"},
                                          format="json")
    assert refused.status_code == 400 and "language tag" in str(refused.json())
    assert api(cast.alice_token).get("/api/v1/patient/").status_code == 403  # a clinician has no patient of its own


def test_it_shows_the_crisis_contacts_the_deployment_set_for_each_language(client, settings):
    settings.CADENCE_CRISIS_BY_LANGUAGE = {"es": {"text": "Llame ahora al 024.", "contacts": [("Línea 024", "024")]},
                                           "en": {"text": "", "contacts": []}}
    settings.CADENCE_CRISIS_CONTACTS = [("Samaritans", "116 123")]
    spanish = client.get("/r/?lang=es").content.decode()
    assert "Llame ahora al 024." in spanish and 'href="tel:024">024</a>' in spanish and "116 123" not in spanish
    english = client.get("/r/?lang=en").content.decode()
    assert 'href="tel:116123">116 123</a>' in english and "024" not in english
    assert "If you are thinking about hurting yourself" in english  # no deployment text: Cadence's own


def test_it_keeps_the_language_a_recording_was_made_in(cast, api):
    cast.patient_a.language = "es-MX"
    cast.patient_a.save()
    default = api(cast.key_a).post("/api/v1/recordings/", {"audio": _wav(1), "task": "free_speech"},
                                   format="multipart")
    stated = api(cast.key_a).post("/api/v1/recordings/", {"audio": _wav(2), "task": "read_passage",
                                                          "task_detail": "north_wind", "language": "en-US"},
                                  format="multipart")
    assert default.status_code == stated.status_code == 202
    assert Recording.objects.get(pk=default.json()["id"]).language == "es"
    assert Recording.objects.get(pk=stated.json()["id"]).language == "en"
    assert "language" in RecordingSerializer.Meta.fields  # shown with the recording in the API
    bad = api(cast.key_a).post("/api/v1/recordings/", {"audio": _wav(1), "language": "<script>"}, format="multipart")
    assert bad.status_code == 400 and "language tag" in bad.content.decode()


def test_it_shows_the_dashboard_in_the_clinicians_own_language(client, cast):
    client.force_login(cast.alice)
    assert _lang(client.get("/").content.decode()) == "en"
    staff_language_set(user=cast.alice, language="es")  # by an operator: from her next login on
    client.force_login(cast.alice)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert _lang(html) == "es" and "Triaje" in html and "Cerrar sesión" in html and "Alertas abiertas" in html
    assert "No hay alertas abiertas." in client.get("/alerts/").content.decode()
    assert "Estado del procesamiento" in client.get("/processing/").content.decode()
    client.force_login(cast.bob)  # no language of his own: his browser's
    assert _lang(client.get("/", HTTP_ACCEPT_LANGUAGE="es").content.decode()) == "es"
    assert _lang(client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()) == "en"


def test_it_mails_the_password_reset_in_the_recipients_language(client, cast):
    cast.alice.email = "alice@example.org"
    cast.alice.save()
    staff_language_set(user=cast.alice, language="es")
    response = client.post("/password-reset/", {"email": "alice@example.org"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    message = mail.outbox[-1]
    assert message.subject == "Su contraseña de Cadence"
    assert "Elija una contraseña nueva aquí" in message.body and '"alice"' in message.body
    assert "N-001" not in message.body


def test_an_operator_sets_a_clinicians_language_in_words(cast):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    call_command("add_clinician", "alice", "--team", "North", "--language", "es")
    from clinic.accounts import staff_language
    cast.alice.refresh_from_db()
    assert staff_language(cast.alice) == "es"
    with pytest.raises(CommandError, match="Cadence speaks en, es; 'fr' is not one of them"):
        call_command("add_clinician", "alice", "--team", "North", "--language", "fr")


def _wav(seed: int):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(f"take-{seed}.wav", tone_wav(seed=seed), content_type="audio/wav")


def test_a_clinician_chooses_their_own_language_on_the_dashboard(client, cast):
    client.force_login(cast.bob)
    response = client.post("/language/", {"language": "es", "next": "/alerts/"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302 and response["Location"] == "/alerts/"
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert _lang(html) == "es" and '<option value="es" lang="es" selected>Español</option>' in html
    refused = client.post("/language/", {"language": "fr", "next": "https://evil.example/"}, follow=True)
    assert refused.redirect_chain[0][0] == "/" and "Cadence habla en, es" in refused.content.decode()  # in his language


def test_it_formats_numbers_for_spanish_readers_but_never_inside_a_chart(client, cast):
    from tests.dashboard.factories import history

    history(cast.patient_a, n=6)
    staff_language_set(user=cast.alice, language="es")
    client.force_login(cast.alice)
    html = client.get("/").content.decode()
    assert re.search(r'<span class="value">\d+,\d</span>', html)  # 12,5: a decimal comma for the reader
    svg = re.search(r"<svg class=\"sparkline\".*?</svg>", html, flags=re.S).group(0)
    assert 'width="96.0"' in svg  # SVG coordinates keep their decimal point
    assert re.fullmatch(r"(\d+(\.\d+)?,\d+(\.\d+)?\s?)+", re.search(r'points="([^"]+)"', svg).group(1).strip())
    assert not re.search(r'(cx|cy|y1|y2|width|height)="\d+,\d', svg)
