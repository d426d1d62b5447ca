"""The dashboard's validation-report page: the latest report of the clinician's scope, its sections, queueing a new one."""

import pytest
from django.test import Client

from screening.models import ValidationReport


@pytest.fixture
def alice(cast) -> Client:
    client = Client()
    client.force_login(cast.alice)
    return client


def test_it_shows_the_latest_validation_report_in_a_sandboxed_frame(cast, alice):
    north = [cast.north.pk]
    ValidationReport.objects.create(payload={}, html="<html><body><h1>Old</h1></body></html>", care_team_ids=north)
    ValidationReport.objects.create(payload={}, html='<html><body><h1 class="x">Within-person r = 0.31</h1></body></html>',
                                    care_team_ids=north)
    ValidationReport.objects.create(payload={}, html="<p>Every team</p>")  # cross-team: not for alice
    newest = ValidationReport.objects.get(html__contains="Within-person")
    body = alice.get("/reports/validation/").content.decode()
    assert f'sandbox src="/reports/validation/{newest.pk}/page/"' in body
    assert "Old" not in body and "Every team" not in body
    page = alice.get(f"/reports/validation/{newest.pk}/page/")
    assert page.content.decode() == '<html><body><h1 class="x">Within-person r = 0.31</h1></body></html>'


def test_the_report_page_has_its_own_policy_and_only_its_scope_may_read_it(cast, alice):
    from clinic.models import AuditEvent

    north = ValidationReport.objects.create(payload={}, html="<html><style>h1{color:red}</style><h1>North</h1></html>",
                                            care_team_ids=[cast.north.pk])
    older = ValidationReport.objects.create(payload={}, html="<p>an older report of the team</p>",
                                            care_team_ids=[cast.north.pk])
    every = ValidationReport.objects.create(payload={}, html="<p>Every team</p>")
    page = alice.get(f"/reports/validation/{north.pk}/page/")
    assert page.status_code == 200 and page["Content-Type"] == "text/html; charset=utf-8"
    # Framed by the validation page only; its inline <style> (and the plots' SVG styles) may apply, nothing runs.
    policy = page["Content-Security-Policy"]
    assert "style-src 'unsafe-inline'" in policy and "default-src 'none'" in policy and "script-src" not in policy
    assert "frame-ancestors 'self'" in policy and "sandbox" in policy
    assert page["X-Frame-Options"] == "SAMEORIGIN"
    assert alice.get("/reports/validation/")["X-Frame-Options"] == "DENY"  # the dashboard itself is never framed
    assert alice.get(f"/reports/validation/{older.pk}/page/").status_code == 200  # an older report of her scope
    assert alice.get(f"/reports/validation/{every.pk}/page/").status_code == 404  # the cross-team report
    assert alice.get("/reports/validation/999999/page/").status_code == 404
    assert list(AuditEvent.objects.filter(actor=cast.alice, resource="validation_report").order_by("pk")
                .values_list("action", "object_id")) == [
        ("read", str(north.pk)), ("read", str(older.pk)),  # the page of one report; the validation page (newest)
        ("read", str(older.pk)), ("denied", str(every.pk)), ("denied", "999999")]
    anonymous = Client().get(f"/reports/validation/{north.pk}/page/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


def test_it_says_when_there_is_no_validation_report(cast, alice):
    assert "No validation report yet." in alice.get("/reports/validation/").content.decode()


def test_it_queues_a_validation_report_for_the_clinicians_team(cast, alice, monkeypatch):
    from screening import tasks

    calls = []

    def fake_build(*, trigger: str, care_team_ids):
        calls.append((trigger, care_team_ids))
        return ValidationReport.objects.create(payload={}, html="<p>fresh</p>", trigger=trigger,
                                               care_team_ids=care_team_ids)

    monkeypatch.setattr(tasks, "validation_report_build", fake_build)
    response = alice.post("/reports/validation/generate/", follow=True)
    assert calls == [("dashboard", [cast.north.pk])]  # through the Celery task (eager in tests)
    assert "A new validation report has been queued" in response.content.decode()
    fresh = ValidationReport.objects.get(html="<p>fresh</p>")  # the request only queued; the worker built it
    assert f'src="/reports/validation/{fresh.pk}/page/"' in response.content.decode()


def test_it_refuses_report_generation_to_a_user_in_no_team(cast, client, django_user_model):
    from clinic.models import AuditEvent

    loner = django_user_model.objects.create_user("loner", password="loner-password-1")
    client.force_login(loner)
    response = client.post("/reports/validation/generate/", follow=True)
    assert "You are in no care team" in response.content.decode()
    assert not ValidationReport.objects.exists()
    assert AuditEvent.objects.filter(actor=loner, action="denied", resource="validation_report").exists()


def test_it_says_when_the_report_cannot_be_queued(cast, alice, monkeypatch):
    from kombu.exceptions import OperationalError

    from web.dashboard import views

    def broker_down(*, care_team_ids, trigger):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(views, "validation_report_request", broker_down)
    page = alice.post("/reports/validation/generate/", follow=True).content.decode()
    assert "the task queue is unavailable" in page and "6379" not in page


def test_it_lists_the_reports_sections_with_their_status(cast, alice):
    payload = {"parameters": {"cutoff": 10, "mid": 5},
               "between_person": {"status": "insufficient data", "message": "insufficient data: 3 patients"},
               "screening_accuracy": {"status": "ok", "auc": 0.7}, "subgroups": {"sex": []}}
    ValidationReport.objects.create(payload=payload, html="<p>report</p>", care_team_ids=[cast.north.pk])
    body = alice.get("/reports/validation/").content.decode()
    assert "Between patients: patient means <span class=\"muted\">(insufficient data: 3 patients)</span>" in body
    assert "Screening accuracy at PHQ-9 \u2265 10</li>" in body and "Breakdown by sex" in body
    assert "Linear mixed model" not in body  # not in this (older) report
