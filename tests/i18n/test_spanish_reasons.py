"""What the analysis and the API say in English, said again in the reader's language (issue 27): why a feature
was left out, operator alerts, the API's error sentences, and the states the dashboard shows. An English reader
keeps the English text word for word."""

import itertools
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone, translation

from tests.dashboard.factories import history
from tests.i18n.test_spanish_dashboard import ENGLISH_BROWSER, _spanish, alicia, operadora  # noqa: F401
from voice_features import codec_trust, registry

pytestmark = pytest.mark.django_db


def _english(client_user, path: str, *present: str) -> str:
    client = Client()
    client.force_login(client_user)
    html = client.get(path, **ENGLISH_BROWSER).content.decode()
    assert all(text in html for text in present), [text for text in present if text not in html]
    return html


# 1. Why a feature was left out -------------------------------------------------------------------------------

def _every_withheld_reason() -> set[str]:
    reasons = set()
    codecs = ["amr_nb", "amr_wb", "aac", "mp3", "opus", "vorbis", "pcm_s16le", "pcm_mulaw", "pcm_alaw", "flac", "speex"]
    for codec, rate, sr in itertools.product(codecs, [None, 4000, 4750, 12200, 16000, 24000, 64000, 128000],
                                             [None, 8000, 16000, 48000]):
        reasons |= set(registry.withheld_features(registry.FEATURE_NAMES, codec=codec, bit_rate=rate,
                                                  sample_rate=sr).values())
    reasons |= set(registry.withheld_features(registry.FEATURE_NAMES, task="sustained_vowel").values())
    return reasons


def test_every_withheld_reason_is_a_template_with_a_spanish_version():
    from web.dashboard.views import WITHHELD_MEASURES, _withheld_reason

    assert {what for _, _, what in codec_trust.TOLERANCES.values()} == set(WITHHELD_MEASURES)
    reasons = _every_withheld_reason()
    templates = set()
    for reason in reasons:
        fields = registry.withheld_reason_fields(reason)
        assert fields is not None and fields[0] % fields[1] == reason, reason
        templates.add(fields[0])
        with translation.override("en"):
            assert _withheld_reason(reason) == reason
        with translation.override("es"):
            spanish = _withheld_reason(reason)
            assert spanish != reason and "withheld" not in spanish and " moved " not in spanish, spanish
    assert templates == set(registry.WITHHELD_TEMPLATES)  # every template is reachable, and tested here
    assert registry.withheld_reason_fields("A sentence of some older version.") is None


def test_why_a_feature_was_left_out_is_said_in_spanish(cast, alicia):  # noqa: F811
    history(cast.patient_a, n=4)  # its latest recording: jitter, shimmer and HNR withheld for AMR-NB 12.2 kbit/s
    spanish = ("En nuestras mediciones de códecs, AMR-NB 12.2 kbit/s alteró el jitter hasta en 8,6 %, más que los "
               "5 % que una línea base personal puede distinguir de un cambio real.")
    _spanish(alicia, f"/patients/{cast.patient_a.pk}/", spanish, "3 características omitidas: por qué",
             absent=("in our codec measurements",))
    _english(cast.bob, f"/patients/{cast.patient_a.pk}/",
             "AMR-NB 12.2 kbit/s moved jitter by up to 8.6 % in our codec measurements, more than the 5 % a "
             "personal baseline can tell from a real change.")


# 2. Operator alerts ------------------------------------------------------------------------------------------

def _every_finding() -> dict:
    from screening.monitoring.service import _findings

    return _findings({
        "feature_psi": {"speech_rate_syl_s": 0.41, "f0_range_st": 0.3}, "device_mix": {"psi": 0.52},
        "rejection": {"n": 40, "rate": 0.45}, "scores": {"psi": 0.33}, "calibration": {"n_pairs": 12, "mae": 6.25},
        "emotion": {"recall": {"sad": {"n": 12, "recall": 0.25}}, "psi": 0.6, "reference_mix": {}, "current_mix": {}}})


def test_every_operator_alert_message_is_its_template_filled_and_has_a_spanish_version():
    from screening.models import localized_message

    findings = _every_finding()
    assert len(findings) == 6
    for message, _details in findings.values():
        msgid, params = message["message_i18n"]["msgid"], message["message_i18n"]["params"]
        assert msgid % params == message["message"]
        with translation.override("es"):
            spanish = localized_message(message["message"], message["message_i18n"])
        # Every value appears, a decimal one with the decimal comma ("PSI 0,33", "6,2 puntos").
        assert spanish != message["message"] and all(value.replace(".", ",") in spanish for value in params.values()), \
            spanish
    assert findings["rejection_rate"][0]["message"] == "45% of the last 40 recordings were rejected by the quality gate."
    score_drift = findings["score_drift"][0]
    assert score_drift["message"] == "The predicted PHQ-9 distribution shifted (PSI 0.33)."  # stored: English, point
    with translation.override("es"):
        assert "(PSI 0,33)" in localized_message(score_drift["message"], score_drift["message_i18n"])
    with translation.override("en"):
        assert localized_message(score_drift["message"], score_drift["message_i18n"]) == score_drift["message"]


def test_operator_alerts_are_in_spanish_on_the_monitoring_page(cast, operadora, django_user_model):  # noqa: F811
    from screening.models import OperatorAlert

    message, details = _every_finding()["rejection_rate"]
    OperatorAlert.objects.create(care_team=cast.north, kind="rejection_rate", episode_key="2026-W49", details=details,
                                 **message)
    OperatorAlert.objects.create(care_team=cast.north, kind="score_drift", episode_key="2026-W48",
                                 message="An operator alert stored before its template was kept.")
    _spanish(operadora, "/monitoring/", "El control de calidad rechazó el 45 % de las últimas 40 grabaciones.",
             "An operator alert stored before its template was kept.", absent=("were rejected by the quality gate",))
    english = django_user_model.objects.create_user("ops-en", password="ops-password-1", is_staff=True)
    _english(english, "/monitoring/", "45% of the last 40 recordings were rejected by the quality gate.")


# 3. The API's error sentences --------------------------------------------------------------------------------

SPANISH = {"HTTP_ACCEPT_LANGUAGE": "es-MX,es;q=0.9"}


def _both(call, code: str, spanish: str, english: str) -> None:
    """The same refusal for a Spanish and an English caller: same status and code, the sentence in each language."""
    es, en = call(SPANISH), call(ENGLISH_BROWSER)
    assert es.status_code == en.status_code >= 400
    assert es.json()["error"] == en.json()["error"] == code
    assert set(es.json()) == set(en.json())  # the JSON shape does not depend on the language
    assert spanish in es.json()["detail"], es.json()
    assert english in en.json()["detail"], en.json()


def test_the_api_refuses_an_upload_in_the_callers_language(cast, api):
    from django.core.files.uploadedfile import SimpleUploadedFile

    phone = api(cast.key_a)
    _both(lambda lang: phone.post("/api/v1/recordings/", {"task": "free_speech"}, format="multipart", **lang),
          "missing_audio", "Envíe la grabación en el campo multipart 'audio'.",
          "Send the recording as the multipart field 'audio'.")
    _both(lambda lang: phone.post("/api/v1/recordings/", {"audio": SimpleUploadedFile("take.wav", b"RIFF" + b"\x00" * 4000),
                                                          "task": "free_speech"}, format="multipart", **lang),
          "not_audio", "El archivo no es de audio.", "(WAV, FLAC, OGG/Opus")
    future = (timezone.now() + timedelta(hours=3)).isoformat()
    _both(lambda lang: phone.post("/api/v1/recordings/", {"audio": SimpleUploadedFile("take.wav", b"x" * 2000),
                                                          "task": "free_speech", "recorded_at": future},
                                  format="multipart", **lang),
          "recorded_in_future", "está en el futuro; la hora del servidor es", "is in the future; the server's time is")


def test_the_api_refuses_a_phq9_and_a_link_in_the_callers_language(cast, api):
    answered = (timezone.now() + timedelta(hours=2)).isoformat()
    _both(lambda lang: api(cast.key_a).post("/api/v1/phq9/", {"items": [1] * 9, "answered_at": answered},
                                            format="json", **lang),
          "answered_in_future", "Un PHQ-9 no puede responderse en el futuro", "A PHQ-9 cannot be answered in the future")
    _both(lambda lang: api().post("/api/v1/enrolment-links/redeem/", {"link": "x" * 43}, format="json", **lang),
          "link_unknown", "Este enlace no es válido.", "This link is not valid.")
    _both(lambda lang: api(cast.key_a).get("/api/v1/recordings/?colour=blue", **lang),
          "invalid", "colour: Parámetro de consulta desconocido.", "colour: Unknown query parameter.")
    _both(lambda lang: api(cast.key_a).get("/api/v1/no-such-thing/", **lang),
          "not_found", "No hay nada en esta dirección", "Nothing is at this address")


# 4. States shown as codes ------------------------------------------------------------------------------------

def test_every_state_the_dashboard_shows_has_a_spanish_label():
    from clinic.models import AuditEvent, Recording
    from outreach.models import Delivery
    from screening.baselines.segments import FIRST_RECORDINGS, NEW_PHONE
    from screening.models import Alert
    from web.dashboard.views import STATE_LABELS

    expected = {"recording status": set(Recording.Status.values), "alert state": set(Alert.State.values),
                "delivery state": set(Delivery.State.values), "delivery channel": set(Delivery.Channel.values),
                "audit action": set(AuditEvent.Action.values),
                "delivery purpose": set(Delivery.Purpose.labels), "baseline pending": {NEW_PHONE, FIRST_RECORDINGS},
                "validation report trigger": {"manual", "weekly", "api", "dashboard"}}  # screening/tasks.py
    assert {context: set(labels) for context, labels in STATE_LABELS.items()} == expected
    catalogue = translation.trans_real.translation("es")._catalog  # a loanword ("webhook") may read the same
    untranslated = [(c, code) for c, codes in expected.items() for code in codes
                    if not catalogue.get(f"{c}\x04{code}")]
    assert untranslated == []
    with translation.override("es"):
        assert translation.pgettext("delivery channel", "push") == "notificación push"


def test_states_are_shown_in_spanish_on_the_processing_patient_and_audit_pages(cast, alicia, operadora):  # noqa: F811
    history(cast.patient_a, n=4, rejected=1)
    _spanish(alicia, "/processing/", '<span class="status status-done">procesada</span>',
             '<span class="status status-rejected">rechazada</span>', absent=('status-done">done<',))
    _spanish(alicia, f"/patients/{cast.patient_a.pk}/", '<span class="status status-done">procesada</span>',
             absent=('status-done">done<',))
    _english(cast.bob, "/processing/", '<span class="status status-done">done</span>',
             '<span class="status status-rejected">rejected</span>')
    _spanish(operadora, "/audit/", "<td>lectura</td>", absent=("<td>read</td>",))
    english = cast.bob
    english.is_staff = True
    english.save()
    _english(english, "/audit/", "<td>read</td>")
