"""End to end: an item-9 answer entered through the API reaches the care team by e-mail and webhook through a
real Celery worker, a real SMTP server and a real HTTP server; left unacknowledged it escalates to the lead
(controlled clock); acknowledging stops the escalation."""

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.integration.processes import start_worker, stop, wait_for, worker_env
from tests.outreach.conftest import verify_signature

pytestmark = pytest.mark.integration
BASE = "https://cadence.example.org"


def _wait(condition, timeout_s: float = 60.0):
    return wait_for(condition, "the condition", timeout_s, interval_s=0.2)


def test_it_finds_the_care_team_escalates_and_stops_when_acknowledged(
        cast, api, postgres, live_broker, redis_url, settings, tmp_path, smtp_server, http_sink):
    from clinic.models import AuditEvent, Membership
    from outreach import services
    from outreach.models import AlertNotice, Delivery
    from screening.models import Alert

    settings.CADENCE_BASE_URL = BASE
    settings.CADENCE_ONCALL_EMAIL = "oncall@example.org"
    cast.alice.email, cast.bob.email = "alice@example.org", "bob@example.org"
    cast.alice.save(), cast.bob.save()
    Membership.objects.filter(user=cast.alice).update(role=Membership.Role.LEAD)
    _channel, secret = services.team_channel_set(care_team=cast.north, webhook_url=http_sink.url + "/page")
    env = worker_env(redis_url, settings) | {
        "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp_server.port), "EMAIL_USE_TLS": "false",
        "CADENCE_BASE_URL": BASE, "CADENCE_ONCALL_EMAIL": "oncall@example.org"}
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        _wait(lambda: "ready." in (tmp_path / "worker.log").read_text())  # measure from a running worker
        answered = timezone.now().isoformat()
        started = time.monotonic()
        response = api(cast.bob_token).post("/api/v1/phq9/", {"patient": cast.patient_a.pk, "items": [1] * 8 + [2],
                                                              "answered_at": answered}, format="json")
        assert response.status_code == 201
        alert = Alert.objects.get(patient=cast.patient_a, kind=Alert.Kind.SELF_HARM)

        mails = _wait(lambda: len(smtp_server.messages) >= 2 and smtp_server.messages)
        print(f"item-9 answer to the team's e-mails: {time.monotonic() - started:.2f} s")
        assert {m["X-Envelope-To"] for m in mails} == {"alice@example.org", "bob@example.org"}
        for mail in mails:
            text = mail["Subject"] + mail.get_payload()
            assert f"{BASE}/alerts/{alert.pk}/" in text
            assert "N-001" not in text and str(response.json()["total"]) not in text and "item" not in text.lower()
        hook = _wait(lambda: http_sink.requests and http_sink.requests[0])
        body = verify_signature(hook, secret)
        assert body["urgency"] == "urgent" and body["link"] == f"{BASE}/alerts/{alert.pk}/" and "N-001" not in str(body)

        # Half an hour unacknowledged (controlled clock): the lead is told, and the step is audited.
        assert services.alert_escalations_run(now=alert.created_at + timedelta(minutes=31)) == 1
        escalated = _wait(lambda: [m for m in smtp_server.to("alice@example.org") if "Escalated" in m["Subject"]])
        assert f"{BASE}/alerts/{alert.pk}/" in escalated[0].get_payload() and "N-001" not in escalated[0].get_payload()
        assert not smtp_server.to("oncall@example.org")
        assert AuditEvent.objects.filter(resource="alert_escalation", object_id=str(alert.pk)).count() == 1

        web = Client()
        web.force_login(cast.bob)
        assert web.post(f"/alerts/{alert.pk}/acknowledge/", {"note": "called"}).status_code == 302
        assert services.alert_escalations_run(now=alert.created_at + timedelta(minutes=62)) == 0
        notice = AlertNotice.objects.get(alert=alert)
        assert notice.next_escalation_at is None and notice.escalation_stopped_at is not None
        page = web.get(f"/alerts/{alert.pk}/").content.decode()
        assert "escalated to the team leads" in page and "Escalation stopped" in page
        _wait(lambda: not Delivery.objects.exclude(state__in=["sent", "failed", "cancelled"]).exists(), 20)
        assert not smtp_server.to("oncall@example.org")
    finally:
        stop(worker)
        print((tmp_path / "worker.log").read_text()[-4000:])
