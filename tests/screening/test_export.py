"""Bulk export of a care team: FHIR R4 NDJSON valid by fhir.resources, CSV tables, scoping, audit, encryption."""

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from fhir.resources.R4B import get_fhir_model_class

from clinic.models import AuditEvent, BulkExport
from screening.export import FEATURES_HEADER, SCORES_HEADER, feature_unit
from tests.dashboard import factories
from voice_features.registry import FEATURES, UCUM_UNITS


@pytest.fixture
def exported(cast, api, django_capture_on_commit_callbacks):
    factories.history(cast.patient_a, n=6, seed=1)
    factories.history(cast.patient_b, n=3, seed=2)
    fs = cast.patient_a.recordings.first().feature_sets.first()
    fs.features["pause_mean_s"] = None  # undefined values are exported as absent, never as 0
    fs.features["f0_range_st"] = None
    fs.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = api(cast.alice_token).post(f"/api/v1/care-teams/{cast.north.pk}/exports/")
    assert response.status_code == 202
    return response.json()


def _download(api, token, url) -> bytes:
    response = api(token).get(url)
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def test_it_builds_a_bulk_data_manifest_with_progress_done(exported, cast, api):
    status = api(cast.alice_token).get(exported["status_url"]).json()
    assert status["status"] == "done" and status["progress"] == 1.0 and status["requiresAccessToken"] is True
    counts = {o["url"].rsplit("/", 1)[1]: o["count"] for o in status["output"]}
    assert counts == {"Patient.ndjson": 1, "QuestionnaireResponse.ndjson": 2, "Observation.ndjson": 2 + 6 + 6,
                      "features.csv": 6, "scores.csv": 6}


def test_every_fhir_resource_validates_and_only_the_team_is_in_it(exported, cast, api):
    status = api(cast.alice_token).get(exported["status_url"]).json()
    seen: dict[str, list[dict]] = {}
    for output in status["output"]:
        if not output["url"].endswith(".ndjson"):
            continue
        for line in _download(api, cast.bob_token, output["url"]).decode().splitlines():
            resource = json.loads(line)
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
            seen.setdefault(output["type"], []).append(resource)
    assert seen["Patient"] == [{"resourceType": "Patient", "id": f"patient-{cast.patient_a.pk}",
                                "identifier": [{"system": "urn:cadence:patient-code", "value": "N-001"}]}]
    codes = {o["code"]["coding"][0]["code"] for o in seen["Observation"]}
    assert codes == {"44261-6", "voice-features", "predicted-phq9"}
    assert {r["questionnaire"] for r in seen["QuestionnaireResponse"]} == {"http://loinc.org/44249-1"}
    subjects = {r["subject"]["identifier"]["value"] for rs in seen.values() for r in rs if "subject" in r}
    assert subjects == {"N-001"}
    voice = next(o for o in seen["Observation"] if o["code"]["coding"][0]["code"] == "voice-features"
                 and any("dataAbsentReason" in c for c in o["component"]))
    absent = {c["code"]["coding"][0]["code"] for c in voice["component"] if "dataAbsentReason" in c}
    assert absent == {"pause_mean_s", "f0_range_st"}
    rate = next(c for c in voice["component"] if c["code"]["coding"][0]["code"] == "speech_rate_syl_s")
    assert rate["valueQuantity"]["unit"] == "{syllable}/s"


def test_it_writes_csv_tables_of_features_and_scores(exported, cast, api):
    status = api(cast.alice_token).get(exported["status_url"]).json()
    urls = {o["url"].rsplit("/", 1)[1]: o["url"] for o in status["output"]}
    features = list(csv.reader(io.StringIO(_download(api, cast.alice_token, urls["features.csv"]).decode())))
    scores = list(csv.reader(io.StringIO(_download(api, cast.alice_token, urls["scores.csv"]).decode())))
    assert features[0] == FEATURES_HEADER and scores[0] == SCORES_HEADER
    assert len(features) == 7 and len(scores) == 7 and {row[0] for row in features[1:]} == {"N-001"}
    assert float(features[1][FEATURES_HEADER.index("speech_rate_syl_s")]) > 0


def test_it_keeps_exports_encrypted_team_only_and_audited(exported, cast, api):
    export = BulkExport.objects.get()
    for entry in export.files.values():
        assert b"N-001" not in Path(default_storage.path(entry["name"])).read_bytes()
    url = f"/api/v1/exports/{export.pk}/files/Patient.ndjson"
    assert api(cast.charlie_token).get(f"/api/v1/exports/{export.pk}/").status_code == 404
    assert api(cast.charlie_token).get(url).status_code == 404
    assert api(cast.charlie_token).post(f"/api/v1/care-teams/{cast.north.pk}/exports/").status_code == 404
    assert api(cast.key_a).get(url).status_code == 403
    assert api(cast.alice_token).get(f"/api/v1/exports/{export.pk}/files/other.csv").status_code == 404
    _download(api, cast.bob_token, url)
    assert AuditEvent.objects.filter(action="export", resource="bulk_export", actor=cast.alice).exists()
    assert AuditEvent.objects.filter(action="export", resource="bulk_export", actor=cast.bob,
                                     patient_code="N-001").exists()


@pytest.mark.parametrize("name,unit", [("speech_rate_syl_s", "{syllable}/s"), ("pause_rate_per_min", "{pause}/min"),
                                       ("f0_median_hz", "Hz"), ("f0_range_st", "{semitone}"), ("hnr_db", "dB"),
                                       ("pause_mean_s", "s"), ("pause_count", "{pause}"), ("jitter_local", "1"),
                                       ("mfcc1_mean", "dB")])
def test_it_gives_each_feature_the_ucum_code_of_its_registry_unit(name, unit):
    assert feature_unit(name) == unit


def test_every_feature_unit_has_a_ucum_code():
    assert {feature.unit for feature in FEATURES} <= set(UCUM_UNITS)


def test_an_export_built_while_a_patient_is_erased_leaves_no_files(cast, monkeypatch):
    from clinic.lifecycle import patient_erase
    from screening import export as export_module

    factories.history(cast.patient_a, n=2, seed=3)
    export = BulkExport.objects.create(care_team=cast.north, requested_by=cast.alice)
    real_store = export_module.audio_store
    calls = []

    def store_then_erase(**kwargs):
        name = real_store(**kwargs)
        calls.append(name)
        if len(calls) == 2:
            patient_erase(patient=cast.patient_a, via="test")
        return name

    monkeypatch.setattr(export_module, "audio_store", store_then_erase)
    assert export_module.bulk_export_build(export_id=export.pk).status == "failed"
    assert len(calls) == 5 and not any(default_storage.exists(name) for name in calls)
