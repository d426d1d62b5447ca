"""The validation report through the API: scoped to the caller's care teams, requested by POST, built by Celery."""

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from clinic.models import AuditEvent, Phq9Response
from clinic.services import clinician_token_issue
from screening.models import ValidationReport

URL = "/api/v1/reports/phq9-validation/"


def _phq9(patient, n: int) -> None:
    for i in range(n):
        Phq9Response(patient=patient, answered_at=timezone.now() - timezone.timedelta(days=7 * i),
                     source="self_report", **{f"item{k}": 1 for k in range(1, 10)}).save()


@pytest.fixture
def researcher(cast, django_user_model):
    user = django_user_model.objects.create_user("rita", password="rita-password-1")
    user.user_permissions.add(Permission.objects.get(codename="view_cross_team_report"))
    return clinician_token_issue(user=user)


def test_a_clinician_requests_and_reads_the_report_of_their_own_team(cast, api):
    _phq9(cast.patient_a, 2)
    _phq9(cast.patient_b, 3)
    alice = api(cast.alice_token)
    assert alice.get(URL).status_code == 404
    queued = alice.post(URL)
    assert queued.status_code == 202
    assert queued.json() == {"status": "queued", "scope": "care_teams", "care_teams": [cast.north.pk]}
    body = alice.get(URL).json()
    assert body["scope"] == "care_teams" and body["care_teams"] == [cast.north.pk] and body["teams"] == []
    assert body["report"]["summary"]["n_phq9"] == 2  # South's three are not in North's report
    assert api(cast.charlie_token).get(URL).status_code == 404  # South has no report yet
    assert AuditEvent.objects.filter(actor=cast.alice, resource="validation_report", action="read").count() == 2


def test_reading_never_builds_a_report(cast, api):
    assert api(cast.alice_token).get(URL + "?refresh=1").status_code == 400
    assert not ValidationReport.objects.exists()


def test_the_research_role_reads_every_team_with_a_breakdown(cast, api, researcher):
    _phq9(cast.patient_a, 2)
    _phq9(cast.patient_b, 3)
    assert api(researcher).post(URL).json()["scope"] == "all"
    body = api(researcher).get(URL).json()
    assert body["report"]["summary"]["n_phq9"] == 5
    assert {(t["name"], t["summary"]["n_phq9"]) for t in body["teams"]} == {("North", 2), ("South", 3)}
    assert api(cast.alice_token).get(URL).status_code == 404  # the cross-team report is not North's


def test_it_refuses_and_audits_callers_without_a_scope(cast, api, django_user_model):
    loner = django_user_model.objects.create_user("loner", password="loner-password-1")
    token = clinician_token_issue(user=loner)
    for method in ("get", "post"):
        response = getattr(api(token), method)(URL)
        assert response.status_code == 403 and response.json()["error"] == "no_care_team"
        assert getattr(api(cast.key_a), method)(URL).status_code == 403
        assert getattr(api(), method)(URL).status_code == 401
    assert AuditEvent.objects.filter(actor=loner, action="denied", resource="validation_report").count() == 2
    assert not ValidationReport.objects.exists()
