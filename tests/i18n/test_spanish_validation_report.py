"""The validation report's page in Spanish (docs/translation.md, "The validation report").

The report's sentences are :class:`screening.validation.text.Text`: English strings (the JSON, the API and the English
page are unchanged) that remember their template and values, so the page is rendered once per language when the report
is built (``ValidationReport.html_i18n``) and the dashboard shows the reader's. A sentence added to the report without
its Spanish translation fails :func:`test_every_sentence_of_the_report_has_its_spanish_translation`.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pandas as pd
import pytest
from django.test import Client
from django.utils import translation

from clinic.accounts import staff_language_set
from screening.numbers import json_ready
from screening.reports import html as report_html
from screening.reports.html import render
from screening.risk_model.services import PRIOR_SOURCE
from screening.validation import build_report
from screening.validation.sections import SCORE_NAMES
from screening.validation.subgroups import IN_SAMPLE_LABEL, OUT_OF_FOLD_LABEL
from screening.validation.text import Text, gettext_noop, ngettext
from screening.validation.tripod import TRIPOD_AI_ITEMS
from tests.screening.test_validation_simulation import simulate_cohort
from tests.support.validation_reports import simulated_report

#: Phrases of the English page that must not be left in the Spanish one (each is checked to be in the English page).
ENGLISH = (
    "Generated ", "Predictions: ", "pairs used (PHQ-9 with voice)", "pairing rule", "Between patients (one mean",
    "Within the same patient over time", "For the same patient, one unit more", "the chance that a pair",
    "lower is better", "Predicted minus questionnaire", "patient bootstrap", "Sensitivity", "Specificity",
    "lower limit of agreement", "Agreement on worse", "worsened", " recordings)", "all but ", "female",
    "An alert counts as confirmed", "per patient-month", "patient-months", "risk threshold", "Source of data",
    "items covered", ">item<", "Codec, device and task rows", "leave out", "Early estimates compare",
    "common slope", "perfect calibration", "act on everyone", "mean predicted probability", "95 % CI",
    "out-of-fold", "insufficient data", "Reliability (n per bin)", "Summary", " to ",
)
#: Spanish the page must say: section titles, readings, table headers, a TRIPOD+AI item, plot labels.
SPANISH = (
    "Informe de validación del PHQ-9", "Entre pacientes: medias por paciente", "Exactitud del cribado con PHQ-9 ≥ 10",
    "Dentro de un mismo paciente a lo largo del tiempo, una puntuación de voz más alta se asoció a un PHQ-9 más alto",
    "IC del 95 %", "Sensibilidad", "Especificidad", "límite inferior de concordancia", "beneficio neto",
    "por paciente-mes", "datos insuficientes", "Fuente de los datos y fechas del estudio",
    "Predicciones: fuera de la partición (validación cruzada por paciente)", "correlación de medidas repetidas",
    "error absoluto medio", "confirmadas (VPP)", "calibración perfecta", "todos menos North", "mujer",
    "Una alerta cuenta como confirmada cuando el siguiente PHQ-9",
)


@pytest.fixture(scope="module")
def report():
    return simulated_report()


@pytest.fixture(scope="module")
def small():
    """Too little data: every section says why."""
    sim = simulate_cohort(n_patients=3, seed=2)
    return build_report(phq9=sim["phq9"], scores=sim["scores"], patients=sim["patients"], n_bootstrap=20,
                        generated_at=pd.Timestamp("2026-01-01 12:00", tz="UTC").to_pydatetime())


def _page(report, language: str) -> str:
    with translation.override(language):
        return render(report, "html")


class _Visible(HTMLParser):
    """The text a reader sees: no style sheet, no SVG metadata."""

    def __init__(self):
        super().__init__()
        self.hidden, self.text = 0, []

    def handle_starttag(self, tag, attrs):
        self.hidden += tag in ("style", "metadata")

    def handle_endtag(self, tag):
        self.hidden -= tag in ("style", "metadata")

    def handle_data(self, data):
        if not self.hidden and data.strip():
            self.text.append(data.strip())


def _visible(page: str) -> list[str]:
    parser = _Visible()
    parser.feed(page)
    return parser.text


def _texts(value):
    """Every Text in the content, and every Text among their values."""
    if isinstance(value, Text):
        yield value
        for param in value.params.values():
            yield from _texts(param)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(key)
            yield from _texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)


def _plain(value):
    """The content with every Text an ordinary str: what the JSON was before the sentences remembered templates."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return str(value) if isinstance(value, str) else value


# ------------------------------------------------------------------------------------------------- the page
def test_the_page_is_in_spanish_with_decimal_commas(report):
    english, spanish = _page(report, "en"), _page(report, "es")
    assert '<html lang="en">' in english and '<html lang="es">' in spanish
    assert [phrase for phrase in ENGLISH if phrase not in english] == []  # the list is of the English page's phrases
    assert [phrase for phrase in ENGLISH if phrase in spanish] == []
    assert [phrase for phrase in SPANISH if phrase not in spanish] == []
    # the plots' words and the TRIPOD+AI items
    assert "puntuación de voz media del paciente" in spanish and "1 − especificidad" in spanish
    assert "<td>sí</td>" in spanish and "<td>resumen, parámetros</td>" in spanish
    shown = _visible(spanish)
    # no decimal point anywhere, plots included; the model's version is a name, not a figure, and stays as it is
    assert "prior-2026.1 (a priori, sin calibrar)" in shown
    assert "<td>prior-2026.1 (prior, uncalibrated)</td>" in english
    assert re.search(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC<", english)  # to the minute, not ISO microseconds
    assert re.search(r"Generado el \d{4}-\d\d-\d\d \d\d:\d\d UTC<", spanish)
    assert [text for text in shown if re.search(r"\d\.\d", text.replace("prior-2026.1", ""))] == []
    assert sum(bool(re.search(r"\d,\d", text)) for text in shown) > 100
    assert "r = 0,60" in spanish or re.search(r"r = -?\d,\d\d", spanish)
    assert "0,0–0,1" in spanish or "0,1–0,2" in spanish  # the reliability bins


def test_too_little_data_says_why_in_spanish(small):
    spanish = _page(small, "es")
    assert "datos insuficientes: 3 pacientes con pares (se necesitan al menos 4)" in spanish
    assert "datos insuficientes: no se han proporcionado datos de alertas" in spanish
    assert "datos insuficientes: no hay equipo asistencial por paciente" in spanish
    assert "insufficient data" not in spanish and "needed" not in spanish


def test_every_sentence_of_the_report_has_its_spanish_translation(report, small):
    catalogue = translation.trans_real.translation("es")._catalog
    texts = {*_texts(report.content), *_texts(small.content), *SCORE_NAMES.values(), IN_SAMPLE_LABEL,
             OUT_OF_FOLD_LABEL, PRIOR_SOURCE, *report_html.REASONS.values(),
             *(text for item in TRIPOD_AI_ITEMS for text in item if isinstance(text, Text))}
    assert len(texts) > 60
    missing = sorted({text.msgid for text in texts  # a counting sentence is stored by (singular, form)
                      if not catalogue.get(text.msgid if text.plural is None else (text.msgid, 0))})
    assert missing == []
    # the data's codes the page names (groups, facets, alert kinds, report parts, ...), each with its context
    labels = {"validation report group": report_html.GROUP_LABELS, "validation report facet": report_html.FACET_LABELS,
              "validation report alert kind": report_html.ALERT_KIND_LABELS,
              "validation report part": report_html.PART_LABELS}
    untranslated = [(context, code) for context, table in labels.items() for code in table
                    if not catalogue.get(f"{context}\x04{code}")]
    assert untranslated == []


def test_a_count_agrees_with_its_noun_in_english_and_in_spanish():
    """"1 patient", "3 patients"; "1 paciente", "3 pacientes": each language picks its own form for the count."""
    def said(count: int) -> Text:
        return ngettext("%(n)s patient with pairs (at least %(least)s needed)",
                        "%(n)s patients with pairs (at least %(least)s needed)", count, n=count, least=4)

    assert (said(1), said(3), said(0)) == ("1 patient with pairs (at least 4 needed)",
                                           "3 patients with pairs (at least 4 needed)",
                                           "0 patients with pairs (at least 4 needed)")
    with translation.override("es"):
        assert report_html.translated(said(1)) == "1 paciente con pares (se necesitan al menos 4)"
        assert report_html.translated(said(3)) == "3 pacientes con pares (se necesitan al menos 4)"
    with translation.override("en"):
        assert report_html.translated(said(1)) == "1 patient with pairs (at least 4 needed)"
    from screening.validation.alert_stats import _interpret as alert_reading

    one_alert = alert_reading({"status": "ok", "n_alerts": 1, "patient_months": 27.8, "per_patient_month": 0.036,
                               "ci95": [0.006, 0.2]}, {"status": "insufficient data"})
    assert one_alert.startswith("1 alert over 28 patient-months: 0.04 per patient per month")
    with translation.override("es"):
        assert report_html.translated(one_alert).startswith("1 alerta en 28 pacientes-mes: 0,04 por paciente y mes")
    one_take = {"group": "opus 24 kbit/s", "n_recordings": 1}  # a recording-conditions row of the subgroup table
    with translation.override("en"):
        assert report_html._group_label(one_take, "codec") == "opus 24 kbit/s (1 recording)"
        assert report_html._group_label({**one_take, "n_recordings": 2}, "codec") == "opus 24 kbit/s (2 recordings)"
    with translation.override("es"):
        assert report_html._group_label(one_take, "codec") == "opus 24 kbit/s (1 grabación)"
    single = simulate_cohort(n_patients=1, seed=2)
    report = build_report(phq9=single["phq9"], scores=single["scores"], patients=single["patients"], n_bootstrap=20,
                          generated_at=pd.Timestamp("2026-01-01 12:00", tz="UTC").to_pydatetime())
    english, spanish = _page(report, "en"), _page(report, "es")
    assert "1 patient with pairs (at least" in english and "1 patients" not in english
    assert "1 paciente con pares (se necesitan al menos" in spanish and "1 pacientes" not in spanish


def test_a_spanish_translation_keeps_the_values_of_the_english_sentence():
    text = gettext_noop("AUC %(auc)s (95 %% CI %(low)s to %(high)s): the chance that a pair with PHQ-9 ≥ cut-off gets "
                        "a higher probability than one below it; 0.5 is chance, published speech-only systems reach "
                        "about 0.76–0.82.", auc="0.81", low="0.70", high="0.90")
    assert text.startswith("AUC 0.81 (95 % CI 0.70 to 0.90): the chance")
    with translation.override("es"):
        assert report_html.translated(text).startswith("AUC 0,81 (IC del 95 % 0,70 a 0,90): la probabilidad")
    with translation.override("en"):
        assert report_html.translated(text) == str(text)


# ---------------------------------------------------------------------------------------- English unchanged
def test_the_json_and_the_english_page_are_what_they_were(report):
    assert render(report, "json") == json.dumps(json_ready(_plain(report.content)), indent=2, allow_nan=False)
    for text in _texts(report.content):
        template = text.msgid if text.plural is None or text.count == 1 else text.plural
        assert str(text) == (template % {name: "; ".join(value) if isinstance(value, list) else value
                                         for name, value in text.params.items()} if text.params else template)
    english = _page(report, "en")
    assert "Between patients (one mean per patient)" in english and "95 % CI" in english
    assert "IC del 95" not in english and "datos insuficientes" not in english and "0,6" not in english
    with translation.override("en"):
        assert report_html.translated(report.content["within_person"]["interpretation"]) \
            == report.content["within_person"]["interpretation"]


# ----------------------------------------------------------------------------- built once per language, shown
@pytest.mark.django_db
def test_the_worker_builds_the_page_in_every_language(cast):
    from django.utils import timezone

    from clinic.models import Phq9Response
    from screening.reports.services import validation_report_build

    Phq9Response(patient=cast.patient_a, answered_at=timezone.now(), source="self_report",
                 **{f"item{n}": 1 for n in range(1, 10)}).save()
    with translation.override("es"):  # whatever language the worker runs in, ``html`` is the English page
        stored = validation_report_build(trigger="test", n_bootstrap=20, care_team_ids=[cast.north.pk])
    assert set(stored.html_i18n) == {"es"}
    assert '<html lang="en">' in stored.html and "insufficient data" in stored.html
    assert '<html lang="es">' in stored.html_i18n["es"] and "datos insuficientes" in stored.html_i18n["es"]
    assert "insufficient data" not in stored.html_i18n["es"]
    assert stored.payload["between_person"]["message"].startswith("insufficient data")  # the JSON stays English


@pytest.mark.django_db
def test_the_dashboard_shows_the_readers_language_and_older_reports_in_english(cast):
    from screening.models import ValidationReport

    north = [cast.north.pk]
    staff_language_set(user=cast.alice, language="es")
    alicia = Client()
    alicia.force_login(cast.alice)
    bob = Client()
    bob.force_login(cast.bob)
    report = ValidationReport.objects.create(payload={}, html="<p>English page, r = 0.31</p>",
                                             html_i18n={"es": "<p>Página en español, r = 0,31</p>"},
                                             care_team_ids=north)
    framed = f'src="/reports/validation/{report.pk}/page/"'  # the validation page frames the report's page
    assert framed in alicia.get("/reports/validation/").content.decode()
    page = f"/reports/validation/{report.pk}/page/"
    spanish = alicia.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert spanish == "<p>Página en español, r = 0,31</p>"
    english = bob.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert english == "<p>English page, r = 0.31</p>"
    # a report built before the pages were kept per language: English for everyone
    older = ValidationReport.objects.create(payload={}, html="<p>Older English page</p>", care_team_ids=north)
    for client in (alicia, bob):
        assert client.get(f"/reports/validation/{older.pk}/page/").content.decode() == "<p>Older English page</p>"
