"""PHQ-9 capture: scoring in one place, validation, self-report vs on-behalf, item 9, FHIR and CSV."""

import csv
import io

import pytest

from clinic.phq9 import phq9_total, severity_band
from screening.models import Alert


@pytest.mark.parametrize("total,band", [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"),
                                        (14, "moderate"), (15, "moderately severe"), (19, "moderately severe"),
                                        (20, "severe"), (27, "severe")])
def test_it_maps_totals_to_bands(total, band):
    assert severity_band(total) == band


@pytest.mark.parametrize("items", [[0] * 8, [0] * 10, [4] + [0] * 8, [-1] + [0] * 8])
def test_it_refuses_malformed_item_lists(items):
    with pytest.raises(ValueError):
        phq9_total(items)


def _answer(api, token, items, patient=None, **extra):
    body = {"items": items, "answered_at": "2026-11-20T10:00:00Z", **extra}
    url = "/api/v1/phq9/" + (f"?patient={patient}" if patient else "")
    return api(token).post(url, body, format="json")


def test_it_records_a_self_report(cast, api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _answer(api, cast.key_a, [1, 2, 1, 0, 0, 1, 2, 0, 0], difficulty=1)
    assert response.status_code == 201
    body = response.json()
    assert (body["total"], body["severity"], body["source"], body["entered_by"]) == (7, "mild", "self_report", None)
    assert not Alert.objects.exists()


def test_it_records_an_answer_entered_on_behalf(cast, api):
    response = _answer(api, cast.bob_token, [2] * 9, patient=cast.patient_a.pk)
    assert response.status_code == 201
    assert (response.json()["source"], response.json()["entered_by"]) == ("clinician", "bob")
    assert _answer(api, cast.charlie_token, [2] * 9, patient=cast.patient_a.pk).status_code == 404


@pytest.mark.parametrize("items", [[0] * 8, [0] * 8 + [4], [0] * 8 + [-1], ["a"] * 9])
def test_it_validates_each_item(cast, api, items):
    response = _answer(api, cast.key_a, items)
    assert response.status_code == 400
    assert "items" in response.json()["fields"]


def test_it_raises_the_item9_alert_at_once(cast, api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _answer(api, cast.key_a, [0, 0, 0, 0, 0, 0, 0, 0, 1])
    alert = Alert.objects.get(patient=cast.patient_a)
    assert (alert.kind, alert.priority, alert.state) == ("self_harm", 1, "open")
    assert "item 9" in alert.message


def test_it_exports_fhir_r4(cast, api):
    _answer(api, cast.key_a, [1, 1, 1, 1, 1, 1, 1, 1, 0], difficulty=2)
    bundle = api(cast.alice_token).get(f"/api/v1/patients/{cast.patient_a.pk}/phq9/export/").json()
    qr, obs = (e["resource"] for e in bundle["entry"])
    assert qr["resourceType"] == "QuestionnaireResponse" and qr["status"] == "completed"
    assert [i["linkId"] for i in qr["item"]][:9][0] == "44250-9" and len(qr["item"]) == 10
    assert obs["code"]["coding"][0]["code"] == "44261-6"
    assert obs["category"][0]["coding"][0]["code"] == "survey"
    assert obs["valueQuantity"]["value"] == 8
    assert obs["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{qr['id']}"}]


def test_it_exports_csv(cast, api):
    _answer(api, cast.key_a, [3] * 9)
    response = api(cast.alice_token).get(f"/api/v1/patients/{cast.patient_a.pk}/phq9/export/?as=csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][0] == "patient" and rows[1][0] == "N-001"
    assert rows[1][-3:] == ["27", "severe", "self_report"]
    assert api(cast.charlie_token).get(f"/api/v1/patients/{cast.patient_a.pk}/phq9/export/").status_code == 404
