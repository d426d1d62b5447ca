"""The clinician dashboard in Spanish, page by page, for a clinician whose own language is Spanish (issue 27): the
patient, audit, monitoring, validation and account pages and the second-factor pages say it in Spanish, with
``<html lang="es">``, whatever the browser asks for; patient codes and feature keys stay as they are."""

import json
import re
from datetime import UTC, timedelta

import pyotp
import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client
from django.utils import timezone

from clinic.accounts import staff_language_set
from clinic.services import phq9_record
from screening.models import Alert, MonitoringSnapshot, ValidationReport
from tests.dashboard.factories import history

pytestmark = pytest.mark.django_db

ENGLISH_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def _spanish(client: Client, path: str, *present: str, absent: tuple[str, ...] = ()) -> str:
    response = client.get(path, **ENGLISH_BROWSER)
    assert response.status_code == 200, path
    html = response.content.decode()
    assert _lang(html) == "es", path
    missing = [text for text in present if text not in html]
    english = [text for text in absent if text in html]
    assert missing == [] and english == [], (path, missing, english)
    return html


@pytest.fixture
def alicia(cast) -> Client:
    """alice, whose own language is Spanish, signed in (her language is read at login)."""
    staff_language_set(user=cast.alice, language="es")
    client = Client()
    client.force_login(cast.alice)
    return client


@pytest.fixture
def operadora(django_user_model) -> Client:
    """An administrator (audit log, monitoring) whose own language is Spanish."""
    ops = django_user_model.objects.create_user("ops", password="ops-password-1", is_staff=True)
    staff_language_set(user=ops, language="es")
    client = Client()
    client.force_login(ops)
    return client


def test_the_patient_page_is_in_spanish(cast, alicia):
    history(cast.patient_a, n=6, mismatch_index=2)
    phq9_record(patient=cast.patient_a, items=[2, 2, 2, 2, 2, 2, 2, 1, 0], answered_at=timezone.now() - timedelta(hours=1))
    html = _spanish(
        alicia, f"/patients/{cast.patient_a.pk}/",
        "Paciente N-001", "Mujer, nacido/a en 1980", "Habla libre", "Riesgo a lo largo del tiempo", "Por qué la última puntuación",
        "Características de la voz frente a la línea base personal", "Velocidad del habla",
        '<h2 id="recordings-title">Grabaciones</h2>', "Hablante distinto:", "¿hablante distinto?",
        '<h2 id="phq9-title">PHQ-9</h2>', "Historial del PHQ-9", "Gravedad", "moderadamente grave",
        "Introducir un PHQ-9 de N-001", "Guardar PHQ-9", "Respondido el (UTC)",
        "0 Ningún día", "3 Casi todos los días", "Sin respuesta", "Extremadamente difícil",
        "9. Pensamientos de que estaría mejor muerto(a) o de lastimarse de alguna manera",
        "Datos y supervisión",
        absent=("Risk over time", "Why the latest score", "Voice features against the personal baseline",
                "Speech rate", "Different speaker:", "PHQ-9 history", "Save PHQ-9", "Answered at (UTC)",
                "Not at all", "Nearly every day", "Not answered", "moderately severe", "Thoughts that you would",
                "Female", "Free speech"),
    )
    assert 'data-feature="speech_rate_syl_s"' in html and 'id="speaker-mismatch-notice"' in html  # data kept
    plot = json.loads(re.search(r'<script id="plot-data" type="application/json">(.*?)</script>', html, re.S).group(1))
    assert plot["features"]["speech_rate_syl_s"]["label"] == "Velocidad del habla"
    assert plot["text"]["no_data"] == "Todavía no hay mediciones" and plot["text"]["months"][0] == "Ene"
    assert plot["phq9"][-1]["severity"] == "moderadamente grave"


def test_a_phq9_entered_in_spanish_is_confirmed_in_spanish(cast, alicia):
    answers = {f"item{n}": "1" for n in range(1, 10)} | {"answered_at": "2026-01-05T10:00"}
    response = alicia.post(f"/patients/{cast.patient_a.pk}/phq9/", answers, follow=True, **ENGLISH_BROWSER)
    html = response.content.decode()
    assert "PHQ-9 registrado: total 9 (leve)." in html
    assert "El ítem 9 se respondió por encima de 0" in html and "Contacte con el paciente hoy." in html
    assert "PHQ-9 recorded" not in html and "Item 9 was answered" not in html


def test_the_triage_filters_and_rows_are_in_spanish(cast, alicia):
    history(cast.patient_a, n=6)
    phq9_record(patient=cast.patient_a, items=[1] * 9, answered_at=timezone.now() - timedelta(hours=1))
    html = _spanish(alicia, "/", "Todos los pacientes", "Con alertas abiertas", "Más urgentes primero", "9 · leve",
                    absent=("All patients", "With open alerts", "Most urgent first", "· mild", " scores</small>"))
    assert re.search(r'<small class="change">[+-]?\d+,\d en \d+ puntuaciones</small>', html)


def test_every_alert_kind_and_priority_has_its_spanish_label():
    """Adding an alert kind (screening.alerts.kinds) without its Spanish label and badge fails here."""
    from django.utils import translation

    from screening.alerts.kinds import ALERT_KINDS, PRIORITY_LABELS

    with translation.override("es"):
        untranslated = [text for kind in ALERT_KINDS for text in (kind.label, kind.badge)
                        if translation.gettext(text) == text] + [
                        text for text in PRIORITY_LABELS if translation.gettext(text) == text]
    assert untranslated == []


def test_alert_badges_and_the_alert_inbox_are_in_spanish(cast, alicia, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the self-harm alert opens once the answer is stored
        phq9_record(patient=cast.patient_a, items=[0] * 8 + [2], answered_at=timezone.now() - timedelta(hours=1))
    _spanish(alicia, "/", 'title="PHQ-9 ítem 9 (pensamientos de autolesión)"', ">Ítem 9<",
             absent=("self-harm thoughts", ">Item 9<"))
    _spanish(alicia, "/alerts/", "Alta</span> PHQ-9 ítem 9 (pensamientos de autolesión)",
             '<span class="state state-open">abierta</span>', "Detalles, notificaciones y escalada",
             absent=("High</span>", "(self-harm thoughts)", ">open<", "Details, notifications and escalation"))
    # Nobody in the team can be reached: the failed message's purpose and stored reason in the reader's language.
    html = _spanish(alicia, f"/alerts/{Alert.objects.get(patient=cast.patient_a).pk}/", "<td>alerta</td>",
                    "No se puede localizar a nadie del equipo de atención", "<td>correo electrónico</td>",
                    absent=("<td>alert</td>", "Nobody in the care team can be reached", "<td>email</td>"))
    assert "state-failed" in html


def test_the_audit_log_is_in_spanish(cast, alicia, operadora):
    alicia.get(f"/patients/{cast.patient_a.pk}/")  # an event to list
    html = _spanish(operadora, "/audit/", "<h1>Registro de auditoría</h1>", 'aria-label="Filtrar el registro de auditoría"',
                    "Código del paciente", ">Filtrar</button>", "Cuándo", "Quién", "Acción", "Recurso",
                    absent=("Audit log", "Filter the audit log", ">Filter<", ">When<", ">Who<"))
    assert re.search(r'<p class="count">\d+ eventos?\.</p>', html)
    assert "N-001" in html and "patient_dashboard" in html  # data stays as it is
    assert "No hay eventos." in operadora.get("/audit/?patient=nobody").content.decode()


def test_the_monitoring_page_is_in_spanish(cast, operadora):
    now = timezone.now()
    MonitoringSnapshot.objects.create(care_team=cast.north, computed_at=now, window_start=now, window_end=now, payload={
        "n": {"current": 12, "reference": 40}, "feature_psi": {"speech_rate_syl_s": 0.31},
        "rejection": {"rate": 0.25, "n": 12}, "calibration": {"mae": 1.5, "n_pairs": 0}, "device_mix": {},
        "scores": {"current": {"n": 0}}})
    html = _spanish(operadora, "/monitoring/", "<h1>Supervisión de modelos</h1>", "Solo datos agregados",
                    "Calculado el", "con 12 grabaciones procesadas (referencia: 40)",
                    "Deriva de las características, de mayor a menor", "Tasa de rechazo por calidad",
                    "25 % de 12", "PSI máximo de las características: 0,31 ahora, 1 valor diario",
                    "Todavía no hay ningún PHQ-9 emparejado con predicciones.",
                    "La etapa de emoción está desactivada (no hay ningún modelo activo).",
                    absent=("Model monitoring", "Feature drift", "Quality-rejection rate", "daily value",
                            "No PHQ-9 paired", "The emotion stage is off"))
    assert "speech_rate_syl_s" in html  # feature keys are identifiers, not translated


def test_the_validation_page_is_in_spanish(cast, alicia):
    _spanish(alicia, "/reports/validation/", "Informe de validación del PHQ-9", "Generar ahora",
             "Todavía no hay ningún informe de validación.", "Use «Generar ahora» para crear uno.",
             absent=("PHQ-9 validation report", "Generate now", "No validation report yet"))
    ValidationReport.objects.create(payload={
        "parameters": {"cutoff": 10, "mid": 5}, "within_person": {"status": "ok"},
        "between_person": {"status": "insufficient data", "message": "insufficient data: 3 patients with pairs"},
        "screening_accuracy": {"status": "ok"}, "coverage": {"status": "ok"}}, html="<p>r = 0.31</p>",
        care_team_ids=[cast.north.pk], trigger="weekly")
    # The list of the report's sections: each heading in Spanish, with the report's parameters filled in.
    _spanish(alicia, "/reports/validation/", "Informe del ", " (semanal).", 'title="Informe de validación del ',
             "Este informe abarca a los pacientes de su equipo de atención.",
             "Dentro de cada paciente: correlación de medidas repetidas", "Exactitud del cribado con PHQ-9 ≥ 10",
             "Cobertura: PHQ-9 con una estimación por la voz",
             'Entre pacientes: medias por paciente <span class="muted">(datos insuficientes)</span>',
             absent=("Report of ", "This report covers", "Within patients", "Screening accuracy", "Coverage:",
                     "3 patients with pairs", "(weekly)"))


def test_the_account_and_second_factor_pages_are_in_spanish(cast, settings):
    settings.CADENCE_REQUIRE_MFA = True
    staff_language_set(user=cast.alice, language="es")
    secret = pyotp.random_base32()
    TOTP.activate(cast.alice, secret)
    RecoveryCodes.activate(cast.alice)
    client = Client()
    assert client.post("/login/", {"login": "alice", "password": "alice-password-1"}).status_code == 302
    # Not signed in yet, so the browser's language: the second-factor page speaks it.
    code_page = client.get("/accounts/2fa/authenticate/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert _lang(code_page) == "es" and "Confirme que es usted" in code_page and "Usar una llave de seguridad" in code_page
    assert "Confirm it is you" not in code_page
    assert client.post("/accounts/2fa/authenticate/", {"code": pyotp.TOTP(secret).now()}).status_code == 302

    _spanish(client, "/account/", "Su cuenta: inicio de sesión y tokens de la API", "Segundo factor",
             "Aplicación de autenticación:", "activada", "Códigos de recuperación:", "Tokens de la API",
             "Caduca", "Revocar", "Crear un token", "manage.py reset_mfa alice --yes",
             absent=("Your account:", "Second factor<", "API tokens", "Make a token", "No active tokens"))
    made = client.post("/account/tokens/", **ENGLISH_BROWSER).content.decode()
    assert "Su nuevo token (cópielo ahora; no se vuelve a mostrar):" in made
    assert "creado en el panel, tras un segundo factor" in made and "made on the dashboard" not in made
    _spanish(client, "/accounts/reauthenticate/", "Confirme su contraseña", "Los segundos factores protegen",
             absent=("Confirm your password", "Second factors guard"))
    client.post("/accounts/reauthenticate/", {"password": "alice-password-1"})
    _spanish(client, "/accounts/2fa/recovery-codes/", "<h1 id=\"codes-title\">Códigos de recuperación</h1>",
             "Descargar los códigos", "Volver a su cuenta", absent=("Unused codes", "Back to your account"))
    _spanish(client, "/accounts/2fa/recovery-codes/generate/", "Códigos de recuperación nuevos",
             absent=("New recovery codes", "Make new codes"))
    _spanish(client, "/accounts/2fa/webauthn/add/", "Añadir una llave de seguridad o clave de acceso",
             "Añadir la llave", absent=("Add the key", "Give it a name"))
    _spanish(client, "/logout/", "Cerrar sesión en Cadence", absent=("Log out of Cadence",))


def test_the_pages_before_sign_in_follow_the_browser(client):
    for path, spanish, english in (("/accounts/signup/", "Las cuentas las crea la clínica", "Accounts are made"),
                                   ("/accounts/inactive/", "Esta cuenta está inactiva", "This account is inactive"),
                                   ("/login/", "Las sesiones terminan tras un periodo de inactividad", "Sessions end")):
        html = client.get(path, HTTP_ACCEPT_LANGUAGE="es").content.decode()
        assert _lang(html) == "es" and spanish in html and english not in html, path


def test_the_lockout_page_says_why_in_spanish(cast, client):
    for n in range(10):
        client.post("/login/", {"username": "bob", "password": f"nope-{n}"}, HTTP_ACCEPT_LANGUAGE="es")
    page = client.post("/login/", {"username": "bob", "password": "nope"}, HTTP_ACCEPT_LANGUAGE="es")
    html = page.content.decode()
    assert page.status_code == 429 and _lang(html) == "es"
    assert "Demasiados inicios de sesión fallidos para esta cuenta o desde esta dirección." in html
    assert "dentro de 15 minutos o restablezca su contraseña" in html and "Too many failed logins" not in html


def _one_alert_of_each_kind():
    """Candidates of every kind from the rules themselves (screening.alerts.rules), with both overdue wordings."""
    from datetime import datetime

    from screening.alerts.rules import Phq9Point, RecordingPoint, ScorePoint, evaluate_alerts, overdue_alert

    t0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
    scores = [ScorePoint(f"r{k}", t0 + timedelta(days=k), 6 + 4 * k, 0.2 * k) for k in range(5)]
    candidates = evaluate_alerts(
        patient_id="p1", now=t0 + timedelta(days=30), scores=scores, baseline_phq9=6.0,
        phq9s=[Phq9Point("q1", t0, 14, 2)],
        recordings=[RecordingPoint(f"r{k}", t0 + timedelta(days=k), k >= 3) for k in range(5)],
        last_recording_at=t0 + timedelta(days=4), enrolled_at=t0)
    candidates += overdue_alert(patient_id="p2", last_recording_at=None, now=t0 + timedelta(days=9), enrolled_at=t0)
    return candidates


def test_every_alert_message_is_its_template_filled_and_has_a_spanish_version():
    """The stored English message is the template filled with its values, so the dashboard can say the same
    in the clinician's language; a new message without its Spanish version fails here."""
    from django.utils import translation

    from screening.alerts.kinds import ALERT_KINDS

    candidates = _one_alert_of_each_kind()
    assert {c.kind for c in candidates} == {kind.name for kind in ALERT_KINDS}
    assert len({c.message_i18n["msgid"] for c in candidates}) == len(candidates) == 6
    for candidate in candidates:
        msgid, params = candidate.message_i18n["msgid"], candidate.message_i18n["params"]
        assert candidate.message == msgid % params
        with translation.override("es"):
            spanish = translation.gettext(msgid)
        assert spanish != msgid, msgid
        assert set(re.findall(r"%\((\w+)\)s", spanish)) == set(params), msgid  # every value, no other
        assert all(value in spanish % params for value in params.values())


def test_the_alert_messages_are_in_spanish_on_the_dashboard(cast, alicia, django_capture_on_commit_callbacks):
    from screening.models import Alert

    with django_capture_on_commit_callbacks(execute=True):  # the self-harm alert opens once the answer is stored
        phq9_record(patient=cast.patient_a, items=[0] * 8 + [2], answered_at=timezone.now() - timedelta(hours=1))
    alert = Alert.objects.get(patient=cast.patient_a, kind="self_harm")
    assert alert.message.startswith("PHQ-9 item 9 (thoughts of being better off dead or of self-harm) answered 2 of 3")
    english = ("Follow the clinic", "answered 2 of 3")
    spanish = "respondido con 2 de 3"
    _spanish(alicia, "/alerts/", spanish, "Siga ahora el protocolo de seguridad de la clínica.", absent=english)
    _spanish(alicia, f"/alerts/{alert.pk}/", spanish, absent=english)
    _spanish(alicia, f"/patients/{cast.patient_a.pk}/", spanish, absent=english)

    # A clinician whose language is English reads the stored message itself.
    english_client = Client()
    english_client.force_login(cast.bob)
    assert alert.message in english_client.get("/alerts/", **ENGLISH_BROWSER).content.decode().replace("&#x27;", "'")
    # An alert stored before messages had their template, or one whose template no longer fits, shows as stored.
    for stored in ({}, {"msgid": "%(missing)s", "params": {}}):
        Alert.objects.filter(pk=alert.pk).update(message_i18n=stored)
        _spanish(alicia, "/alerts/", "answered 2 of 3")


def test_why_the_latest_score_is_said_in_spanish(cast, alicia):
    """The stored drivers are English sentences (z signed toward depression); the patient page says each in the
    reader's language, with the reader's decimal mark, and an English reader gets exactly the stored sentence."""
    from screening.models import RiskScore
    from voice_features.registry import DEPRESSION_DIRECTIONS
    from web.dashboard.views import DRIVER_SENTENCES, _driver_text

    history(cast.patient_a, n=6)
    RiskScore.objects.filter(patient=cast.patient_a).update(drivers=[
        {"feature": "speech_rate_syl_s", "z": 1.34, "contribution": 1.2, "text": "speech slower than usual (z = 1.3)"},
        {"feature": "f0_sd_st", "z": -0.75, "contribution": -0.4, "text": "intonation livelier than usual (z = 0.8)"}])
    _spanish(alicia, f"/patients/{cast.patient_a.pk}/", "habla más lenta de lo habitual (z = 1,3)",
             "entonación más viva de lo habitual (z = 0,8)", absent=("than usual",))

    # Every direction of every feature in the model has its sentence, the English one is the stored one word for
    # word (screening.risk_model.model._driver_text), and the Spanish one differs.
    from django.utils import translation

    from screening.risk_model.model import _driver_text as stored_text
    for feature, direction in DEPRESSION_DIRECTIONS.items():
        for z in (1.26, -0.81):
            assert (direction.phrase if z >= 0 else direction.opposite) in DRIVER_SENTENCES, feature
            driver = {"feature": feature, "z": z, "text": stored_text(feature, z)}
            with translation.override("en"):
                assert _driver_text(driver) == driver["text"]
            with translation.override("es"):
                assert _driver_text(driver) != driver["text"] and "usual" not in _driver_text(driver)


def test_why_a_recording_was_not_used_is_said_in_spanish(cast, alicia):
    """The processing page and the patient's recordings say a rejected recording's reason from its status_code in
    the reader's language; an English reader gets the stored sentence with its measured values."""
    from clinic.models import Recording

    history(cast.patient_a, n=3)
    sentence = "The recording is too noisy (estimated SNR 8 dB; at least 15 dB is needed)."
    Recording.objects.filter(patient=cast.patient_a).update(status="rejected", status_code="too_noisy",
                                                            status_reason=sentence)
    spanish = "La grabación tiene demasiado ruido (relación señal/ruido por debajo del mínimo)."
    _spanish(alicia, "/processing/", spanish, absent=("too noisy",))
    _spanish(alicia, f"/patients/{cast.patient_a.pk}/", spanish, absent=("too noisy",))
    english = Client()
    english.force_login(cast.bob)
    assert "estimated SNR 8 dB" in english.get("/processing/", **ENGLISH_BROWSER).content.decode()
