"""Patient reminders: at the scheduled local time (controlled clock), Web Push encrypted per RFC 8291 by the
library and decrypted here with the subscription's private key at a real HTTP server standing in for the push
service; an e-mail through a real SMTP server once the push service says the subscription is gone (410)."""

import base64
import json
import os
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client

NEW_YORK = ZoneInfo("America/New_York")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def vapid(settings):
    key = ec.generate_private_key(ec.SECP256R1())
    settings.CADENCE_VAPID_PRIVATE_KEY = b64(key.private_numbers().private_value.to_bytes(32, "big"))
    settings.CADENCE_VAPID_SUBJECT = "mailto:ops@example.org"
    return key


@pytest.fixture
def phone():
    """A browser's push keys: the ECDH key pair (private half stays on the phone) and the auth secret."""
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {"private": private, "p256dh": b64(public), "auth_bytes": (auth := os.urandom(16)), "auth": b64(auth)}


def test_it_pushes_a_reminder_at_the_local_time_and_mails_when_the_subscription_is_gone(
        cast, api, vapid, phone, http_sink, smtp_server, settings, django_capture_on_commit_callbacks):
    from outreach import reminders
    from outreach.models import Delivery, PushSubscription

    settings.CADENCE_BASE_URL = "https://cadence.example.org"
    http_sink.status = 201  # what push services answer (RFC 8030)
    cast.patient_a.timezone = "America/New_York"
    cast.patient_a.save()
    put = api(cast.alice_token).put(f"/api/v1/patients/{cast.patient_a.pk}/reminder-schedule/", {
        "weekdays": [1, 3, 5], "time_of_day": "18:00", "expiry_hours": 4, "email": "p@example.org"}, format="json")
    assert put.status_code == 200, put.json()
    assert put.json()["time_zone"] == "America/New_York"
    from outreach.transport import vapid_public_key

    key = vapid_public_key()  # what the recorder page subscribes with
    assert len(base64.urlsafe_b64decode(key + "==")) == 65 and key in Client().get("/r/").content.decode()
    endpoint = f"{http_sink.url}/push/device-1"
    sub = api(cast.key_a).post("/api/v1/push/subscription/", {
        "endpoint": endpoint, "keys": {"p256dh": phone["p256dh"], "auth": phone["auth"]}}, format="json")
    assert sub.status_code == 201

    monday = datetime(2026, 12, 7, 17, 59, tzinfo=NEW_YORK)
    assert reminders.reminders_send(now=monday) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders.reminders_send(now=monday + timedelta(minutes=1)) == 1
    request = http_sink.requests[-1]
    assert request["path"] == "/push/device-1" and request["headers"]["content-encoding"] == "aes128gcm"
    assert request["headers"]["authorization"].startswith("vapid t=")
    plain = http_ece.decrypt(request["body"], private_key=phone["private"], auth_secret=phone["auth_bytes"],
                             version="aes128gcm")
    message = json.loads(plain)
    assert "voice check-in" in message["body"] and message["url"] == "/r/"
    assert "N-001" not in plain.decode() and "PHQ" not in plain.decode()
    delivery = Delivery.objects.get(public_id=message["delivery"])
    assert delivery.state == "sent" and delivery.channel == "push" and delivery.slot == "2026-12-07"
    assert api().post(f"/api/v1/push/opened/{message['delivery']}/").status_code == 204
    delivery.refresh_from_db()
    assert delivery.opened_at is not None

    http_sink.status = 410  # the browser dropped the subscription
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders.reminders_send(now=datetime(2026, 12, 9, 18, 0, 30, tzinfo=NEW_YORK)) == 1
    assert PushSubscription.objects.get(endpoint=endpoint).revoked_at is not None
    gone = Delivery.objects.get(channel="push", slot="2026-12-09")
    assert gone.state == "failed" and "gone (HTTP 410)" in gone.reason
    mail = smtp_server.to("p@example.org")
    assert len(mail) == 1 and "https://cadence.example.org/r/" in mail[0].get_payload()
    assert "N-001" not in mail[0].get_payload()
    log = api(cast.alice_token).get(f"/api/v1/patients/{cast.patient_a.pk}/deliveries/").json()["results"]
    assert sorted((d["channel"], d["state"]) for d in log) == [("email", "sent"), ("push", "failed"), ("push", "sent")]
    assert api(cast.charlie_token).get(f"/api/v1/patients/{cast.patient_a.pk}/deliveries/").status_code == 404


def test_it_skips_a_reminder_when_the_patient_recorded_that_day_and_counts_adherence(cast, api, settings):
    from clinic.models import Recording
    from outreach import reminders
    from outreach.models import Delivery, ReminderSchedule

    cast.patient_a.timezone = "America/New_York"
    cast.patient_a.enrolled_on = datetime(2026, 11, 1).date()
    cast.patient_a.save()
    reminders.reminder_schedule_set(patient=cast.patient_a, weekdays=[1, 3, 5], time_of_day=datetime(2000, 1, 1, 18).time(),
                                   expiry_hours=4, now=datetime(2026, 11, 29, 12, tzinfo=NEW_YORK))
    ReminderSchedule.objects.filter(patient=cast.patient_a).update(starts_on=datetime(2026, 11, 29).date())
    for day, hour in ((30, 9), (2, 21)):  # Monday morning; Wednesday 21:00 (within 18:00 + 4 h)
        month = 11 if day == 30 else 12
        Recording.objects.create(patient=cast.patient_a, sha256=f"{day}", size_bytes=1, container="wav",
                                 recorded_at=datetime(2026, month, day, hour, tzinfo=NEW_YORK), status="done")
    assert reminders.reminders_send(now=datetime(2026, 11, 30, 18, 1, tzinfo=NEW_YORK)) == 0  # already recorded
    assert not Delivery.objects.exists()
    now = datetime(2026, 12, 7, 21, tzinfo=NEW_YORK)  # Mon 30, Wed 2, Fri 4 closed; Mon 7 open until 22:00
    body = api(cast.alice_token).get(f"/api/v1/patients/{cast.patient_a.pk}/adherence/").json()
    assert set(body) == {"last_14_days", "last_56_days"}
    from outreach.selectors import adherence

    figures = adherence(patient=cast.patient_a, now=now)["last_14_days"]
    assert (figures["expected"], figures["received"], figures["missed_days"]) == (3, 2, ["2026-12-04"])


def test_it_sends_one_re_engagement_message_after_days_of_silence(cast, settings, smtp_server,
                                                                 django_capture_on_commit_callbacks):
    from outreach import reminders
    from outreach.models import Delivery

    settings.CADENCE_REENGAGE_AFTER_DAYS = 7
    start = datetime(2026, 11, 1, 12, tzinfo=NEW_YORK)
    reminders.reminder_schedule_set(patient=cast.patient_a, weekdays=[1], time_of_day=datetime(2000, 1, 1, 9).time(),
                                   expiry_hours=4, email="p@example.org", now=start)
    assert reminders.reengagement_send(now=start + timedelta(days=6)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders.reengagement_send(now=start + timedelta(days=8)) == 1
    assert reminders.reengagement_send(now=start + timedelta(days=9)) == 0  # once per silence
    message = smtp_server.to("p@example.org")[0].get_payload()
    assert "have not heard from you" in message and "N-001" not in message
    assert Delivery.objects.get().purpose == "reengagement"


def test_it_reminds_a_patient_in_their_own_language(cast, settings, smtp_server,
                                                   django_capture_on_commit_callbacks):
    from outreach import reminders

    settings.CADENCE_REENGAGE_AFTER_DAYS = 7
    cast.patient_a.language = "es-MX"
    cast.patient_a.save(update_fields=["language"])
    start = datetime(2026, 11, 1, 12, tzinfo=NEW_YORK)
    reminders.reminder_schedule_set(patient=cast.patient_a, weekdays=[1], time_of_day=datetime(2000, 1, 1, 9).time(),
                                   expiry_hours=4, email="p@example.org", now=start)
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders.reengagement_send(now=start + timedelta(days=8)) == 1
    message = smtp_server.to("p@example.org")[0]
    assert message["Subject"] == "Su control de voz"
    assert "Hace tiempo que no sabemos de usted" in message.get_payload(decode=True).decode()
