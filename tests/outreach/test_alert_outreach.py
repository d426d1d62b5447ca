"""Alert outreach without a worker: who is told, quiet hours, opt-outs, failures kept and shown."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.test import Client

from tests.integration.processes import free_port

UTC = UTC


@pytest.fixture
def team(cast):
    from clinic.models import Membership

    cast.alice.email, cast.bob.email = "alice@example.org", "bob@example.org"
    cast.alice.save(), cast.bob.save()
    Membership.objects.filter(user=cast.alice).update(role=Membership.Role.LEAD)
    return cast


def _alert(patient, kind, at: datetime):
    from screening.models import Alert

    alert = Alert.objects.create(patient=patient, kind=kind, priority=1, message="m", episode_key=f"{kind}-{at}")
    Alert.objects.filter(pk=alert.pk).update(created_at=at)
    alert.refresh_from_db()
    return alert


def test_it_holds_routine_alerts_in_quiet_hours_but_never_self_harm(team):
    from outreach import services
    from outreach.models import Delivery

    services.team_channel_set(care_team=team.north, quiet_start=time(22), quiet_end=time(7), time_zone="Europe/Berlin")
    night = datetime(2026, 12, 5, 1, 30, tzinfo=UTC)  # 02:30 in Berlin
    routine = _alert(team.patient_a, "phq9_rise", night)
    urgent = _alert(team.patient_a, "self_harm", night)
    assert services.alerts_notify(now=night) == 2
    held = Delivery.objects.filter(alerts=routine)
    assert held.count() == 2 and all(d.due_at == datetime(2026, 12, 5, 6, 0, tzinfo=UTC) for d in held)
    assert all(d.due_at == night for d in Delivery.objects.filter(alerts=urgent))
    assert services.alerts_notify(now=night) == 0  # told once


def test_it_refuses_to_let_the_last_clinician_mute_self_harm_but_allows_routine_kinds(team):
    from clinic.models import Membership
    from outreach import services
    from outreach.selectors import alert_email_recipients

    alice, bob = (Membership.objects.get(user=u) for u in (team.alice, team.bob))
    services.opt_out_set(membership=alice, kind="self_harm", muted=True)
    with pytest.raises(services.OutreachError, match="At least one clinician"):
        services.opt_out_set(membership=bob, kind="self_harm", muted=True)
    services.opt_out_set(membership=bob, kind="overdue", muted=True)
    assert [m.user.username for m in alert_email_recipients(care_team_id=team.north.pk, kind="self_harm")] == ["bob"]
    assert [m.user.username for m in alert_email_recipients(care_team_id=team.north.pk, kind="overdue")] == ["alice"]
    web = Client()
    web.force_login(team.bob)
    response = web.post("/notifications/", {"membership": bob.pk, "kinds": ["phq9_rise"]}, follow=True)
    assert "At least one clinician" in response.content.decode()


def test_it_keeps_a_failing_message_with_its_reason_and_shows_it(team, settings):
    from django.contrib.auth.models import User

    from outreach import services
    from outreach.models import Delivery

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", free_port(), False
    settings.CADENCE_OUTREACH_MAX_ATTEMPTS = 2
    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    alert = _alert(team.patient_a, "self_harm", now)
    services.alerts_notify(now=now)
    delivery = Delivery.objects.filter(alerts=alert, recipient="alice@example.org").get()
    first = services.delivery_send(delivery_id=delivery.pk, now=now)
    assert first.state == "retrying" and first.retry_in_s == settings.CADENCE_OUTREACH_BACKOFF_S
    assert services.delivery_send(delivery_id=delivery.pk, now=now + timedelta(minutes=1)).state == "failed"
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and "refused the connection" in delivery.reason and "Errno" not in delivery.reason

    admin = User.objects.create_user("root", password="x", is_staff=True)
    web = Client()
    web.force_login(admin)
    page = web.get("/monitoring/").content.decode()
    assert "refused the connection" in page and "N-001" not in page
    metrics = web.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    assert 'cadence_outreach_deliveries{channel="email",state="failed"} 1.0' in metrics
    web.post(f"/monitoring/deliveries/{delivery.pk}/retry/")
    delivery.refresh_from_db()
    assert delivery.state == "pending" and delivery.attempts == 0


def test_it_refuses_team_settings_to_a_clinician_who_is_not_lead(team):
    web = Client()
    web.force_login(team.bob)
    assert web.get(f"/teams/{team.north.pk}/notifications/").status_code == 403
    web.force_login(team.alice)
    response = web.post(f"/teams/{team.north.pk}/notifications/", {"webhook_url": "https://pager.example.org/hook",
                                                                    "time_zone": "Mars/Base"})
    assert response.status_code == 400 and "is not a time zone name" in response.content.decode()
    response = web.post(f"/teams/{team.north.pk}/notifications/", {"webhook_url": "https://pager.example.org/hook",
                                                                    "time_zone": "Europe/Berlin"})
    assert response.status_code == 200 and 'id="webhook-secret"' in response.content.decode()


def test_it_tells_the_team_about_alerts_the_nightly_screening_opens_in_bulk(team, django_capture_on_commit_callbacks):
    from outreach.models import AlertNotice, Delivery
    from screening.alerts.services import alerts_open_or_update
    from screening.models import Alert

    candidate = Alert(patient=team.patient_a, kind="overdue", priority=3, message="m", episode_key="overdue-1")
    with django_capture_on_commit_callbacks(execute=True):
        alerts_open_or_update([candidate])
    alert = Alert.objects.get(patient=team.patient_a, kind="overdue")
    assert AlertNotice.objects.filter(alert=alert, urgent=False, next_escalation_at=None).exists()
    assert sorted(Delivery.objects.filter(alerts=alert).values_list("recipient", flat=True)) == [
        "alice@example.org", "bob@example.org"]


def test_it_sends_what_quiet_hours_held_once_they_end(team):
    from outreach import services
    from outreach.models import Delivery

    services.team_channel_set(care_team=team.north, quiet_start=time(22), quiet_end=time(7), time_zone="UTC")
    night = datetime(2026, 12, 5, 23, tzinfo=UTC)
    _alert(team.patient_a, "risk_threshold", night)
    services.alerts_notify(now=night)
    assert services.deliveries_requeue(now=night + timedelta(hours=1)) == 0
    assert services.deliveries_requeue(now=datetime(2026, 12, 6, 7, 0, 30, tzinfo=UTC)) == 2  # sent (locmem)
    assert set(Delivery.objects.values_list("state", flat=True)) == {"sent"}


def test_it_writes_each_clinicians_alert_e_mail_in_their_own_language(team):
    from clinic.accounts import staff_language_set
    from outreach import services
    from outreach.models import Delivery

    staff_language_set(user=team.alice, language="es")
    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    _alert(team.patient_a, "self_harm", now)
    services.alerts_notify(now=now)
    alice = Delivery.objects.get(recipient="alice@example.org")
    bob = Delivery.objects.get(recipient="bob@example.org")
    assert alice.subject == "Alerta urgente para su equipo de atención"
    assert "Una alerta urgente espera a su equipo de atención North" in alice.body
    assert "inicie sesión en Cadence" in alice.body
    assert bob.subject == "Urgent alert for your care team" and "An urgent alert is waiting" in bob.body


def test_it_queues_due_messages_through_the_send_task_it_names(team, monkeypatch, django_capture_on_commit_callbacks):
    """outreach.messages queues ``delivery_send`` by its registered name (no import cycle): the name is the task's."""
    from celery import current_app

    from outreach import services, tasks
    from outreach.messages import DELIVERY_SEND_TASK
    from outreach.models import Delivery

    assert current_app.tasks[DELIVERY_SEND_TASK].name == tasks.delivery_send.name == DELIVERY_SEND_TASK
    queued = []
    monkeypatch.setattr(tasks.delivery_send, "delay", queued.append)
    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    _alert(team.patient_a, "self_harm", now)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.alerts_notify(now=now) == 1
    sent = Delivery.objects.all()
    assert sorted(queued) == sorted(d.pk for d in sent) and queued and all(d.queued_at for d in sent)
