"""The API at its edges: pagination, query validation, JSON errors everywhere, the embedding on request."""

import pytest
from django.utils import timezone

from clinic.models import Recording
from clinic.processing.models import FeatureSet


def _recordings(patient, n: int, *, start: int = 0) -> list[Recording]:
    now = timezone.now()
    return [Recording.objects.create(patient=patient, file=f"recordings/{i}.wav", sha256=f"{i:064d}", size_bytes=10,
                                     container="wav", recorded_at=now - timezone.timedelta(hours=i))
            for i in range(start, start + n)]


def _pages(client, url: str) -> list[dict]:
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        pages.append(response.json())
        url = pages[-1]["next"]
    return pages


def test_it_pages_through_every_recording_newest_first_without_cutting(cast, api):
    made = _recordings(cast.patient_a, 7)
    pages = _pages(api(cast.alice_token), "/api/v1/recordings/?page_size=3")
    assert [len(p["results"]) for p in pages] == [3, 3, 1]
    assert {p["page_size"] for p in pages} == {3}
    assert pages[0]["previous"] is None and pages[1]["previous"] is not None
    ids = [row["id"] for p in pages for row in p["results"]]
    assert ids == [r.pk for r in made]  # made newest first


def test_it_uses_the_default_page_size_and_says_so(cast, api, settings):
    _recordings(cast.patient_a, 2)
    body = api(cast.key_a).get("/api/v1/recordings/").json()
    assert set(body) == {"results", "next", "previous", "page_size"}
    assert body["page_size"] == settings.CADENCE_API_PAGE_SIZE and body["next"] is None


BAD_QUERIES = ["patient=abc", "patient=", "patient=1.5", "patient=%00", "page_size=0", "page_size=100000",
               "page_size=x", "limit=10", "include=everything"]


@pytest.mark.parametrize("url", ["/api/v1/recordings/", "/api/v1/phq9/", "/api/v1/patients/"])
def test_it_refuses_bad_query_parameters_with_a_json_400(cast, api, url):
    client = api(cast.alice_token)
    for query in BAD_QUERIES:  # the patient list takes no filter: ?patient= is an unknown parameter there
        response = client.get(f"{url}?{query}")
        assert response.status_code == 400, (query, response.content)
        body = response.json()
        assert body["error"] == "invalid" and body["detail"] and body["fields"], query


@pytest.mark.parametrize("url", ["/api/v1/recordings/", "/api/v1/phq9/"])
def test_it_answers_404_for_another_teams_patient_filter(cast, api, url):
    assert api(cast.charlie_token).get(f"{url}?patient={cast.patient_a.pk}").status_code == 404
    assert api(cast.key_b).get(f"{url}?patient={cast.patient_a.pk}").status_code == 404
    assert api(cast.alice_token).get(f"{url}?patient={cast.patient_a.pk}").status_code == 200
    assert api(cast.alice_token).get(f"{url}?patient=2147483647").status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/patients/abc/", "/api/v1/recordings/1.5/", "/api/v1/nothing-here/",
                                  "/api/v1/patients/99999999999999999999/"])
def test_it_answers_json_404_for_paths_that_match_nothing(cast, api, path):
    response = api(cast.alice_token).get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"] == "not_found"


def test_it_answers_html_404_outside_the_api(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and not response["Content-Type"].startswith("application/json")


def test_it_refuses_a_bad_cursor_with_json(cast, api):
    response = api(cast.alice_token).get("/api/v1/recordings/?cursor=not-a-cursor")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_it_returns_the_embedding_only_when_asked(cast, api):
    recording = _recordings(cast.patient_a, 1)[0]
    FeatureSet.objects.create(recording=recording, version="v1", features={"f0_mean_hz": 120.0},
                              quality={"accepted": True},
                              embedding={"model": "resemblyzer-ge2e", "dim": 256, "vector": [0.1] * 255 + [0.25]})
    client = api(cast.alice_token)
    plain = client.get(f"/api/v1/recordings/{recording.pk}/").json()["feature_sets"][0]
    full = client.get(f"/api/v1/recordings/{recording.pk}/?include=embedding").json()["feature_sets"][0]
    listed = client.get("/api/v1/recordings/?include=embedding").json()["results"][0]["feature_sets"][0]
    assert "embedding" not in plain and full["embedding"] == listed["embedding"] == [0.1] * 255 + [0.25]


def test_it_checks_the_patient_a_clinician_enters_a_phq9_for(cast, api):
    body = {"items": [1] * 9, "answered_at": "2026-11-01T10:00:00Z"}
    assert api(cast.alice_token).post("/api/v1/phq9/?patient=abc", body, format="json").status_code == 400
    assert api(cast.alice_token).post("/api/v1/phq9/", body | {"patient": "abc"}, format="json").status_code == 400
    assert api(cast.charlie_token).post(f"/api/v1/phq9/?patient={cast.patient_a.pk}", body,
                                        format="json").status_code == 404
    assert api(cast.alice_token).post("/api/v1/phq9/", body | {"patient": cast.patient_a.pk},
                                      format="json").status_code == 201


def test_it_refuses_a_phq9_answered_in_the_future_saying_why(cast, api):
    answered = (timezone.now() + timezone.timedelta(hours=2)).isoformat()
    response = api(cast.key_a).post("/api/v1/phq9/", {"items": [1] * 9, "answered_at": answered}, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "answered_in_future"
    assert response.json()["detail"].startswith("A PHQ-9 cannot be answered in the future")
    assert not cast.patient_a.phq9_responses.exists()


def test_it_serves_a_schema_with_typed_bodies_and_declared_errors(client):
    schema = client.get("/api/schema/?format=json").json()
    upload = schema["components"]["schemas"]["RecordingUploadRequest"]["properties"]["audio"]
    assert upload == {"type": "string", "format": "binary", "description": upload["description"]}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for code in ("400", "401", "404"):
                assert code in operation["responses"], (method, path, code)
            for code, response in operation["responses"].items():
                if code.startswith("2") and code != "204":  # every 2xx body is typed, not a free-form object
                    assert response.get("content"), (method, path, code)
                    for media, body in response["content"].items():
                        typed = body["schema"]
                        assert typed.get("type") != "object" or "properties" in typed, (method, path, code, media)
                for media, body in response.get("content", {}).items():
                    assert body.get("schema"), (method, path, code, media)
                    assert body["schema"] != {"type": "object"}, (method, path, code, media)
    listed = schema["paths"]["/api/v1/recordings/"]["get"]["responses"]["200"]["content"]["application/json"]
    assert listed["schema"]["$ref"].endswith("PaginatedRecordingList")


def test_django_error_handlers_answer_json_under_the_api_only(rf):
    from web.api import errors

    for handler, code in ((errors.server_error, 500), (errors.bad_request, 400), (errors.permission_denied, 403)):
        api_response = handler(rf.get("/api/v1/anything/"), *([] if code == 500 else [Exception()]))
        assert api_response.status_code == code and api_response["Content-Type"] == "application/json"
        page = handler(rf.get("/dashboard-page/"), *([] if code == 500 else [Exception()]))
        assert page.status_code == code and not page["Content-Type"].startswith("application/json")


def test_it_reads_json_bodies_and_checks_time_zones(cast, api):
    client = api(cast.alice_token)
    form = client.post("/api/v1/patients/", {"code": "N-002", "timezone": ""}, format="multipart")
    assert form.status_code == 415 and form.json()["error"] == "unsupported_media_type"
    bad = client.post("/api/v1/patients/", {"code": "N-002", "timezone": "Mars/Olympus"}, format="json")
    assert bad.status_code == 400 and "timezone" in bad.json()["fields"]
    assert client.post("/api/v1/patients/", {"code": "N-002", "timezone": "Europe/Vienna"},
                       format="json").status_code == 201
