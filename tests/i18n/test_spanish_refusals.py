"""Refusals that were English only, said in the reader's language (issue 27): the API's push-subscription and
unknown passage/prompt refusals (a patient's app), its erasure, bulk-export, report and reminder refusals (staff),
and the errors services raise for a clinician on a dashboard page (accounts, care-team choice, alert transitions,
alert e-mail settings, emotion labels). Codes and the JSON shape stay as they are; an English reader keeps the
English sentence."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from clinic.accounts import staff_language_set
from clinic.models import BulkExport, Membership
from clinic.services import clinician_token_issue
from tests.i18n.test_spanish_dashboard import ENGLISH_BROWSER, alicia  # noqa: F401
from tests.i18n.test_spanish_reasons import _both

pytestmark = pytest.mark.django_db


# 1. What a patient's app can be told -------------------------------------------------------------------------

def test_the_push_subscription_is_refused_in_the_callers_language(cast, api):
    phone = api(cast.key_a)
    _both(lambda lang: phone.post("/api/v1/push/subscription/", {"endpoint": "not an address",
                                                                 "keys": {"p256dh": "k", "auth": "a"}},
                                  format="json", **lang),
          "invalid", "endpoint: El endpoint debe ser una dirección web (https://...).",
          "endpoint: The endpoint must be a web address (https://...).")
    _both(lambda lang: phone.post("/api/v1/push/subscription/", {"endpoint": "https://push.example.org/x",
                                                                 "keys": {"p256dh": "k"}}, format="json", **lang),
          "invalid", "keys: Las claves de la suscripción necesitan tanto 'p256dh' como 'auth'.",
          "keys: The subscription's keys need both 'p256dh' and 'auth'.")


def _upload(phone, task: str, detail: str, lang: dict):
    return phone.post("/api/v1/recordings/", {"audio": SimpleUploadedFile("take.wav", b"x" * 2000), "task": task,
                                              "task_detail": detail}, format="multipart", **lang)


def test_an_unknown_passage_or_prompt_is_refused_in_the_callers_language(cast, api):
    phone = api(cast.key_a)
    _both(lambda lang: _upload(phone, "read_passage", "no_such_passage", lang), "invalid_task",
          "Una lectura debe indicar uno de estos textos: ", "A read passage must name one of: ")
    _both(lambda lang: _upload(phone, "free_speech", "no_such_prompt", lang), "invalid_task",
          "La consigna de habla libre debe ser una de estas: day, place, week_ahead.",
          "A free-speech prompt must be one of: day, place, week_ahead.")
    _both(lambda lang: _upload(phone, "counting", "rainbow", lang), "invalid_task",
          "La tarea counting no lleva texto ni consigna.", "The task counting takes no passage or prompt.")


# 2. What staff are told by the API ---------------------------------------------------------------------------

def test_erasure_is_refused_in_the_callers_language(cast, api):
    url = f"/api/v1/patients/{cast.patient_a.pk}/erase/"
    _both(lambda lang: api(cast.alice_token).post(url, {"confirm": "N-001"}, format="json", **lang),
          "permission_denied", "Solo los responsables del equipo de atención y los administradores pueden borrar",
          "Only the care team's leads and operators can erase a patient.")
    Membership.objects.filter(user=cast.bob).update(role=Membership.Role.LEAD)
    _both(lambda lang: api(cast.bob_token).post(url, {"confirm": "wrong"}, format="json", **lang),
          "confirmation_required", "El borrado no se puede deshacer: envíe el código del paciente como 'confirm'",
          "Erasure cannot be undone: send the patient's code as 'confirm' to go ahead.")
    assert cast.patient_a.__class__.objects.filter(pk=cast.patient_a.pk).exists()  # nothing was erased


def test_a_bulk_export_is_refused_in_the_callers_language(cast, api):
    export = BulkExport.objects.create(care_team=cast.north, requested_by=cast.alice, status=BulkExport.Status.FAILED)
    _both(lambda lang: api(cast.alice_token).get(f"/api/v1/exports/{export.pk}/files/nothing.csv", **lang),
          "not_found", "Esta exportación no tiene ese archivo.", "No such file in this export.")
    es = api(cast.alice_token).get(f"/api/v1/exports/{export.pk}/", HTTP_ACCEPT_LANGUAGE="es-MX").json()
    en = api(cast.alice_token).get(f"/api/v1/exports/{export.pk}/", **ENGLISH_BROWSER).json()
    assert set(es) == set(en) and es["status"] == en["status"] == "failed"
    assert es["error"] == {"error": "export_failed", "detail": "No se pudo generar la exportación; solicite una nueva."}
    assert en["error"] == {"error": "export_failed", "detail": "The export could not be built; ask for a new one."}


def test_the_validation_report_is_refused_in_the_callers_language(cast, api, django_user_model):
    url = "/api/v1/reports/phq9-validation/"
    _both(lambda lang: api(cast.alice_token).get(url, **lang), "no_report",
          "Todavía no hay ningún informe de validación para sus equipos de atención; solicite uno con POST.",
          "No validation report yet for your care teams; ask for one with POST.")
    loner = clinician_token_issue(user=django_user_model.objects.create_user("loner", password="loner-password-1"))
    _both(lambda lang: api(loner).get(url, **lang), "no_care_team",
          "No pertenece a ningún equipo de atención, así que no hay ningún informe que usted pueda leer.",
          "You are in no care team, so there is no report for you to read.")


def test_a_missing_reminder_schedule_is_said_in_the_callers_language(cast, api):
    base = f"/api/v1/patients/{cast.patient_a.pk}"
    _both(lambda lang: api(cast.alice_token).get(f"{base}/reminder-schedule/", **lang), "not_found",
          "Este paciente todavía no tiene calendario de recordatorios; cree uno con PUT.",
          "This patient has no reminder schedule yet; PUT one.")
    _both(lambda lang: api(cast.alice_token).get(f"{base}/adherence/", **lang), "not_found",
          "Este paciente no tiene calendario de recordatorios, así que no se esperan grabaciones.",
          "This patient has no reminder schedule, so no recordings are expected.")


def test_the_care_team_choice_is_refused_in_the_callers_language(cast, api, django_user_model):
    from clinic.models import CareTeam

    cast.bob.care_teams.add(CareTeam.objects.create(name="West"))  # bob is in North and West
    _both(lambda lang: api(cast.bob_token).post("/api/v1/patients/", {"code": "N-900"}, format="json", **lang),
          "care_team_required", "Pertenece a varios equipos de atención; indique cuál con 'care_team'",
          "You are in several care teams; say which one with 'care_team'")
    _both(lambda lang: api(cast.alice_token).post("/api/v1/patients/", {"code": "N-901", "care_team": cast.south.pk},
                                                  format="json", **lang),
          "not_a_member", "Usted no es miembro de este equipo de atención.", "You are not a member of this care team.")
    root = clinician_token_issue(user=django_user_model.objects.create_superuser("root", password="root-password-1"))
    _both(lambda lang: api(root).post("/api/v1/patients/", {"code": "X-1"}, format="json", **lang),
          "no_care_team", "No pertenece a ningún equipo de atención, así que no se puede inscribir a un paciente. "
          "Un administrador puede añadirle a uno con 'python manage.py add_clinician USERNAME --team NAME'",
          "You are not in any care team, so a patient cannot be enrolled.")


# 3. What services tell a clinician on a dashboard page -------------------------------------------------------

def _english_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _page_after(client: Client, path: str, data: dict) -> str:
    response = client.post(path, data, follow=True, **ENGLISH_BROWSER)
    assert response.status_code == 200, path
    return response.content.decode()


def test_an_unknown_language_is_refused_in_the_clinicians_language(cast, alicia):  # noqa: F811
    spanish = _page_after(alicia, "/language/", {"language": "de", "next": "/"})
    assert "Cadence habla en, es; &#x27;de&#x27; no es uno de ellos." in spanish, spanish
    english = _page_after(_english_client(cast.bob), "/language/", {"language": "de", "next": "/"})
    assert "Cadence speaks en, es; &#x27;de&#x27; is not one of them." in english


def test_an_alert_already_resolved_is_refused_in_the_clinicians_language(cast, alicia):  # noqa: F811
    from screening.alerts.services import alert_resolve
    from screening.models import Alert

    alert = Alert.objects.create(patient=cast.patient_a, kind="self_harm", priority=1, message="m", episode_key="e1")
    alert_resolve(alert=alert, user=cast.bob)
    spanish = _page_after(alicia, f"/alerts/{alert.pk}/acknowledge/", {})
    assert "Esta alerta ya no está abierta." in spanish and "no longer open" not in spanish
    assert "Esta alerta ya se ha resuelto o ha cambiado." in _page_after(alicia, f"/alerts/{alert.pk}/resolve/", {})
    assert "This alert is no longer open." in _page_after(_english_client(cast.bob), f"/alerts/{alert.pk}/acknowledge/",
                                                          {})


def test_muting_the_last_urgent_recipient_is_refused_in_the_clinicians_language(cast, alicia):  # noqa: F811
    from outreach.services import opt_out_set

    cast.alice.email, cast.bob.email = "alice@example.org", "bob@example.org"
    cast.alice.save(), cast.bob.save()
    opt_out_set(membership=Membership.objects.get(user=cast.bob), kind="self_harm", muted=True)
    mine = Membership.objects.get(user=cast.alice)
    spanish = _page_after(alicia, "/notifications/", {"membership": mine.pk, "kinds": ["phq9_rise"]})
    assert "Al menos un profesional de North debe recibir las alertas urgentes" in spanish
    assert "At least one clinician" not in spanish
    staff_language_set(user=cast.alice, language="en")
    english = _page_after(_english_client(cast.alice), "/notifications/", {"membership": mine.pk,
                                                                           "kinds": ["phq9_rise"]})
    assert "At least one clinician of North must receive urgent alerts by e-mail" in english


def test_an_emotion_label_is_refused_in_the_clinicians_language(cast, alicia):  # noqa: F811
    from tests.dashboard.factories import history

    history(cast.patient_a, n=1)
    recording = cast.patient_a.recordings.first()
    path = f"/patients/{cast.patient_a.pk}/recordings/{recording.pk}/emotion-label/"
    spanish = _page_after(alicia, path, {"label": "sad"})
    assert ("No hay ningún modelo de emoción en el habla activo, así que no hay clases de emoción con las que "
            "etiquetar las grabaciones.") in spanish
    english = _page_after(_english_client(cast.bob), path, {"label": "sad"})
    assert "No speech-emotion model is active, so there are no emotion classes to label recordings with." in english


def test_a_patients_details_are_refused_in_the_callers_language(cast, api):
    """Enrolling over the API: a wrong language tag, time zone or half-recorded consent, and a care team the
    clinician is not in, are said in the caller's language (the dashboard's enrolment form shares the sentences)."""
    client = api(cast.alice_token)
    cases = [({"language": "not a tag"}, "Una etiqueta de idioma como", "A language tag such as en, es or de-AT."),
             ({"timezone": "Mars/Olympus"}, "No es un nombre de zona horaria como",
              "Not a time zone name such as Europe/Vienna"),
             ({"consent_version": "v2"}, "Registre el consentimiento con la versión del formulario",
              "Record consent with both the form's version and the date it was given.")]
    for fields, spanish, english in cases:
        _both(lambda lang, fields=fields: client.post("/api/v1/patients/", {"code": "N-009", **fields},
                                                      format="json", **lang), "invalid", spanish, english)
    _both(lambda lang: client.post("/api/v1/patients/", {"code": "N-009", "care_team": 999999}, format="json",
                                   **lang),
          "not_found", "Ningún equipo de atención tiene este id", "No care team has this id, or you are not in it.")
    assert not cast.patient_a.__class__.objects.filter(code="N-009").exists()  # nothing was enrolled
