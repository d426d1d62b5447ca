"""What the analysis and the API say in English, said again in the reader's language (issue 27): why a feature
was left out, operator alerts, the API's error sentences, and the states the dashboard shows. An English reader
keeps the English text word for word."""

import itertools

import pytest
from django.test import Client
from django.utils import translation

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
