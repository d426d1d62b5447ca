"""Dashboard through the test client: permissions, audit, PHQ-9 entry, alerts, query bounds."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.models import AuditEvent, CareTeam, Patient, Phq9Response
from screening.models import Alert
from tests.dashboard import factories


@pytest.fixture
def alice(cast) -> Client:
    client = Client()
    client.force_login(cast.alice)
    return client


@pytest.fixture
def charlie(cast) -> Client:
    client = Client()
    client.force_login(cast.charlie)
    return client


def _patient_url(patient) -> str:
    return reverse("dashboard:patient", args=[patient.pk])


PAGES = ["/", "/alerts/", "/processing/", "/reports/validation/", "/audit/", "/patients/{pa}/"]


@pytest.mark.parametrize("url", PAGES)
def test_it_redirects_anonymous_users_to_login(cast, client, url):
    response = client.get(url.format(pa=cast.patient_a.pk))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("url", ["/patients/{pa}/phq9/", "/alerts/{al}/acknowledge/", "/alerts/{al}/resolve/",
                                 "/reports/validation/generate/"])
def test_it_refuses_anonymous_posts(cast, client, url):
    al = factories.alert(cast.patient_a)
    response = client.post(url.format(pa=cast.patient_a.pk, al=al.pk), {"note": "x"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert Alert.objects.get(pk=al.pk).state == "open"


def test_it_logs_in_with_the_form_and_lands_on_triage(cast):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/")
    assert page.status_code == 200 and b'<label for="id_username">' in page.content
    token = page.cookies["csrftoken"].value
    response = client.post("/login/", {"username": "alice", "password": "alice-password-1",
                                       "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_it_rejects_a_login_without_csrf_token(cast):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "alice", "password": "alice-password-1"})
    assert response.status_code == 403


def test_it_logs_out_on_post(alice):
    assert alice.post("/logout/").status_code == 302
    assert alice.get("/").status_code == 302


def test_it_shows_only_the_care_team_patients_on_triage(cast, alice, charlie):
    body = alice.get("/").content.decode()
    assert "N-001" in body and "S-001" not in body
    body = charlie.get("/").content.decode()
    assert "S-001" in body and "N-001" not in body


@pytest.mark.parametrize("who,expected", [("alice", 200), ("bob", 200), ("charlie", 404)])
def test_it_scopes_the_patient_page_to_the_care_team(cast, who, expected):
    client = Client()
    client.force_login(getattr(cast, who))
    assert client.get(_patient_url(cast.patient_a)).status_code == expected


def test_it_hides_other_teams_patients_from_posts(cast, charlie):
    response = charlie.post(reverse("dashboard:patient-phq9", args=[cast.patient_a.pk]),
                            {**{f"item{n}": 1 for n in range(1, 10)}, "answered_at": "2026-01-05T10:00"})
    assert response.status_code == 404
    al = factories.alert(cast.patient_a)
    assert charlie.post(reverse("dashboard:alert-acknowledge", args=[al.pk])).status_code == 404
    assert charlie.post(reverse("dashboard:alert-resolve", args=[al.pk])).status_code == 404
    assert Phq9Response.objects.count() == 0 and Alert.objects.get(pk=al.pk).state == "open"


def test_it_audits_the_triage_list_per_patient_shown(cast, alice):
    alice.get("/?q=N-0")
    events = AuditEvent.objects.filter(actor=cast.alice, resource="triage")
    assert [e.patient_code for e in events] == ["N-001"]
    assert events[0].path == "/?q=N-0"


def test_it_audits_the_patient_page(cast, alice):
    alice.get(_patient_url(cast.patient_a))
    event = AuditEvent.objects.get(actor=cast.alice, resource="patient_dashboard")
    assert event.patient_code == "N-001" and event.action == "read"


def test_it_audits_processing_and_alert_pages(cast, alice):
    factories.history(cast.patient_a, n=2, seed=1)
    factories.alert(cast.patient_a)
    alice.get("/processing/")
    alice.get("/alerts/")
    assert set(AuditEvent.objects.filter(action="read").values_list("resource", "patient_code")) == {("processing", "N-001"),
                                                                               ("alerts", "N-001")}


def test_it_says_so_when_there_is_no_data_yet(cast, alice):
    body = alice.get("/").content.decode()
    assert "No scores yet" in body and "Never" in body
    body = alice.get(_patient_url(cast.patient_a)).content.decode()
    assert "No risk scores or PHQ-9 answers yet." in body
    assert "No recordings yet." in body and "No PHQ-9 answers yet." in body
    assert "No personal baseline yet" in body


def test_it_shows_the_triage_row_facts(cast, alice):
    factories.history(cast.patient_a, n=9, seed=2, start_level=8, slope_per_week=1.5, rejected=1, failed=1)
    factories.alert(cast.patient_a, kind="risk_threshold", priority=2)
    body = alice.get("/").content.decode()
    assert '<svg class="sparkline"' in body and "<polyline points=" in body
    assert "1 rejected" in body and "1 failed" in body
    assert "Risk above threshold" in body
    assert "today" in body and "0 days ago" not in body


def test_it_orders_triage_by_self_harm_then_risk_then_overdue_not_by_alert_count(cast, alice):
    team = cast.north
    low, high, stale, alerted, harm = (Patient.objects.create(code=c, care_team=team, enrolled_on="2026-01-01")
                                       for c in ("T-LOW", "T-HIGH", "T-STALE", "T-ALERT", "T-HARM"))
    factories.history(low, n=4, seed=3, start_level=6, slope_per_week=0)
    factories.history(high, n=4, seed=4, start_level=20, slope_per_week=0)
    factories.history(stale, n=4, seed=5, scores=False, now=timezone.now() - timedelta(days=30))
    factories.history(alerted, n=4, seed=6, start_level=1, slope_per_week=0)
    factories.alert(alerted, kind="phq9_rise", priority=2)
    factories.alert(alerted, kind="speaker_mismatch", priority=2)
    factories.history(harm, n=4, seed=7, start_level=1, slope_per_week=0)
    factories.alert(harm, kind="self_harm", priority=1)
    body = alice.get("/?q=T-").content.decode()
    order = sorted(("T-LOW", "T-HIGH", "T-STALE", "T-ALERT", "T-HARM"), key=body.index)
    assert order == ["T-HARM", "T-HIGH", "T-LOW", "T-ALERT", "T-STALE"]


def test_it_filters_triage(cast, alice):
    other = Patient.objects.create(code="N-002", care_team=cast.north, enrolled_on="2026-01-01")
    factories.history(other, n=3, seed=8)
    factories.alert(cast.patient_a)
    body = alice.get("/?show=alerts").content.decode()
    assert "N-001" in body and "N-002" not in body
    body = alice.get("/?show=overdue").content.decode()
    assert "N-001" in body and "N-002" not in body  # N-001 has never recorded
    body = alice.get("/?q=002").content.decode()
    assert "N-002" in body and ">N-001<" not in body


def _team_of(n: int, team: CareTeam, *, prefix: str, recordings: int = 6) -> None:
    for k in range(n):
        patient = Patient.objects.create(code=f"{prefix}-{k:03d}", care_team=team, enrolled_on="2026-01-01")
        factories.history(patient, n=recordings, seed=100 + k, rejected=k % 2)
        factories.alert(patient, kind="self_harm" if k % 5 == 0 else "risk_threshold", priority=1 + k % 3)


def test_it_runs_a_bounded_number_of_queries_on_triage(cast, alice, django_assert_max_num_queries,
                                                        django_assert_num_queries):
    _team_of(3, cast.north, prefix="Q")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert alice.get("/").status_code == 200
    _team_of(30, CareTeam.objects.create(name="Q2"), prefix="R", recordings=6)
    CareTeam.objects.get(name="Q2").members.add(cast.alice)
    with django_assert_num_queries(len(few.captured_queries)):
        body = alice.get("/").content.decode()
    assert body.count('<svg class="sparkline"') == 33
    with django_assert_max_num_queries(12):
        alice.get("/?show=alerts&q=Q")


def test_it_runs_a_bounded_number_of_queries_on_the_patient_page(cast, alice, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    factories.history(cast.patient_a, n=3, seed=9)
    with CaptureQueriesContext(connection) as few:
        assert alice.get(_patient_url(cast.patient_a)).status_code == 200
    factories.history(cast.patient_a, n=40, seed=10, now=timezone.now() - timedelta(days=200))
    with django_assert_num_queries(len(few.captured_queries)):
        body = alice.get(_patient_url(cast.patient_a)).content.decode()
    assert body.count("<audio ") == 43
    assert len(few.captured_queries) <= 18  # 3 of them: reminder schedule, delivery log, push subscriptions


def test_it_shows_drivers_flags_and_plot_data_on_the_patient_page(cast, alice):
    factories.history(cast.patient_a, n=8, seed=11, calibrated=False, mismatch_index=5)
    body = alice.get(_patient_url(cast.patient_a)).content.decode()
    assert 'id="uncalibrated-notice"' in body and "not calibrated" in body
    assert 'id="speaker-mismatch-notice"' in body and "different speaker?" in body
    assert "speech slower than usual (z = 1.8)" in body
    assert '<script id="plot-data" type="application/json">' in body
    assert 'data-feature="speech_rate_syl_s"' in body and 'data-feature="intensity_mean_db"' in body


def test_it_hides_the_uncalibrated_notice_for_calibrated_scores(cast, alice):
    factories.history(cast.patient_a, n=4, seed=12, calibrated=True)
    body = alice.get(_patient_url(cast.patient_a)).content.decode()
    assert 'id="uncalibrated-notice"' not in body and 'id="speaker-mismatch-notice"' not in body


def test_it_streams_audio_to_the_team_over_session_auth_and_audits_it(cast, alice, charlie):
    from clinic.storage import audio_store
    from tests.conftest import tone_wav

    recording = factories.history(cast.patient_a, n=1, seed=13).recordings[0]
    recording.file.name = audio_store(prefix="recordings", chunks=[tone_wav(seconds=1.0)])
    recording.save()
    body = alice.get(_patient_url(cast.patient_a)).content.decode()
    url = f"/api/v1/recordings/{recording.pk}/audio/"
    assert f'src="{url}"' in body
    response = alice.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content)[:4] == b"RIFF"
    assert AuditEvent.objects.filter(resource="recording_audio", patient_code="N-001").exists()
    assert charlie.get(url).status_code == 404


PHQ9 = {**{f"item{n}": 2 for n in range(1, 9)}, "item9": 0, "difficulty": "1", "answered_at": "2026-01-05T10:30"}


def test_it_records_a_phq9_entered_by_the_clinician(cast, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(reverse("dashboard:patient-phq9", args=[cast.patient_a.pk]), PHQ9)
    assert response.status_code == 302
    saved = Phq9Response.objects.get(patient=cast.patient_a)
    assert (saved.total, saved.difficulty, saved.source, saved.entered_by) == (16, 1, "clinician", cast.alice)
    assert saved.answered_at.isoformat().startswith("2026-01-05T10:30")
    assert not Alert.objects.exists()
    assert AuditEvent.objects.filter(action="create", resource="phq9", object_id=str(saved.pk)).exists()
    page = alice.get(response["Location"]).content.decode()
    assert "PHQ-9 recorded: total 16 (moderately severe)." in page


def test_it_raises_the_self_harm_alert_from_item9(cast, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(reverse("dashboard:patient-phq9", args=[cast.patient_a.pk]), {**PHQ9, "item9": "1"})
    alert = Alert.objects.get(patient=cast.patient_a)
    assert (alert.kind, alert.priority, alert.state) == ("self_harm", 1, "open")
    assert "self-harm alert has been raised" in alice.get(response["Location"]).content.decode()


@pytest.mark.parametrize("change,error", [({"item3": "4"}, "Select a valid choice"),
                                          ({"item3": ""}, "This field is required"),
                                          ({"answered_at": "2999-01-01T00:00"}, "cannot be answered in the future")])
def test_it_rejects_an_invalid_phq9(cast, alice, change, error):
    response = alice.post(reverse("dashboard:patient-phq9", args=[cast.patient_a.pk]), {**PHQ9, **change})
    assert response.status_code == 400 and error in response.content.decode()
    assert not Phq9Response.objects.exists()


def test_it_acknowledges_then_resolves_an_alert_with_notes(cast, alice):
    al = factories.alert(cast.patient_a)
    response = alice.post(reverse("dashboard:alert-acknowledge", args=[al.pk]), {"note": "Called, no answer."})
    assert response.status_code == 302
    al.refresh_from_db()
    assert (al.state, al.acknowledged_by, al.resolved_by) == ("acknowledged", cast.alice, None)
    assert al.acknowledged_at is not None and "alice (acknowledged): Called, no answer." in al.note
    alice.post(reverse("dashboard:alert-resolve", args=[al.pk]), {"note": "Seen in clinic."})
    al.refresh_from_db()
    assert (al.state, al.resolved_by) == ("resolved", cast.alice) and al.resolved_at is not None
    assert "Called, no answer." in al.note and "alice (resolved): Seen in clinic." in al.note
    assert AuditEvent.objects.filter(resource="alert", action="update", object_id=str(al.pk)).count() == 2


def test_it_refuses_to_acknowledge_twice(cast, alice):
    al = factories.alert(cast.patient_a, state="acknowledged")
    response = alice.post(reverse("dashboard:alert-acknowledge", args=[al.pk]), follow=True)
    assert "This alert is no longer open." in response.content.decode()


def test_it_resolving_an_open_alert_also_acknowledges_it(cast, alice):
    al = factories.alert(cast.patient_a)
    alice.post(reverse("dashboard:alert-resolve", args=[al.pk]))
    al.refresh_from_db()
    assert al.state == "resolved" and al.acknowledged_by == cast.alice and al.note == ""


def test_it_puts_self_harm_alerts_on_top_of_the_inbox(cast, alice):
    factories.alert(cast.patient_a, kind="self_harm", priority=1, key="a", message="SELF-HARM-ACK",
                    state="acknowledged")
    factories.alert(cast.patient_a, kind="risk_threshold", priority=1, key="b", message="RISK-HIGH")
    factories.alert(cast.patient_a, kind="overdue", priority=3, key="c", message="OVERDUE-LOW")
    factories.alert(cast.patient_a, kind="self_harm", priority=1, key="d", message="SELF-HARM-OPEN")
    factories.alert(cast.patient_a, kind="phq9_rise", priority=2, key="e", message="RESOLVED-ONE", state="resolved")
    factories.alert(cast.patient_b, kind="self_harm", priority=1, key="f", message="OTHER-TEAM")
    body = alice.get("/alerts/").content.decode()
    shown = sorted(["SELF-HARM-ACK", "RISK-HIGH", "OVERDUE-LOW", "SELF-HARM-OPEN"], key=body.index)
    assert shown == ["SELF-HARM-OPEN", "SELF-HARM-ACK", "RISK-HIGH", "OVERDUE-LOW"]
    assert "RESOLVED-ONE" not in body and "OTHER-TEAM" not in body
    assert "RESOLVED-ONE" in alice.get("/alerts/?state=resolved").content.decode()


def test_it_shows_the_audit_log_to_admins_only(cast, alice):
    alice.get(_patient_url(cast.patient_a))
    assert alice.get("/audit/").status_code == 403
    admin = User.objects.create_user("admin", password="admin-password-1", is_staff=True)
    client = Client()
    client.force_login(admin)
    body = client.get("/audit/?patient=n-001").content.decode()
    assert "patient_dashboard" in body and "alice" in body
    assert "1 event." in body
    assert "0 events." in client.get("/audit/?patient=S-001").content.decode()


def test_it_paginates_the_audit_log(cast):
    AuditEvent.objects.bulk_create([AuditEvent(actor=cast.alice, action="read", resource="x", patient_code="N-001")
                                    for _ in range(120)])
    admin = User.objects.create_user("admin", password="admin-password-1", is_staff=True)
    client = Client()
    client.force_login(admin)
    body = client.get("/audit/?patient=N-001&page=3").content.decode()
    assert "Page 3 of 3" in body and body.count("<tr><td>") == 20


def test_it_shows_processing_status_of_the_team_uploads(cast, alice):
    factories.history(cast.patient_a, n=5, seed=14, rejected=1, failed=1)
    factories.history(cast.patient_b, n=4, seed=15, failed=2)
    response = alice.get("/processing/")
    counts = response.context["counts"]
    assert (counts["done"], counts["rejected"], counts["failed"], counts["received"]) == (3, 1, 1, 0)
    body = response.content.decode()
    assert "ValueError: decoder crashed" in body and "at least 5 s are needed" in body and "S-001" not in body


def test_it_says_plainly_that_emotion_analysis_is_off(client, django_user_model):
    from clinic.models import CareTeam
    from clinic.services import patient_create

    user = django_user_model.objects.create_user("emo", password="emo-password-123")
    team = CareTeam.objects.create(name="Emo team")
    team.members.add(user)
    patient, _ = patient_create(care_team=team, code="EMO-1")
    client.force_login(user)
    page = client.get(f"/patients/{patient.pk}/").content.decode()
    assert 'id="emotion-stage-notice"' in page and "Emotion analysis is off" in page


def test_it_lets_the_care_team_label_a_recordings_emotion_when_a_model_is_active(cast, alice, charlie, settings,
                                                                                tmp_path):
    from clinic.models import EmotionLabel
    from clinic.processing.models import FeatureSet
    from tests.support.emotion import VERSION, active_registry

    history = factories.history(cast.patient_a, n=3, seed=21, scores=False)
    first, latest = history.recordings[0], history.recordings[-1]
    FeatureSet.objects.filter(recording=latest).update(
        emotion={"mean_posterior": {"anger": 0.1, "happiness": 0.1, "neutral": 0.2, "sadness": 0.6}})
    url = reverse("dashboard:patient-emotion-label", args=[cast.patient_a.pk, latest.pk])
    assert 'id="emotion-labels"' not in alice.get(_patient_url(cast.patient_a)).content.decode()  # stage off
    assert alice.post(url, {"label": "sadness"}).status_code == 302 and not EmotionLabel.objects.exists()

    settings.EMOTION_MODEL_REGISTRY = active_registry(tmp_path / "emotion")
    page = alice.get(_patient_url(cast.patient_a)).content.decode()
    assert 'id="emotion-labels"' in page and VERSION in page and page.count('name="label"') == 3
    assert "<td>sadness</td>" in page  # the model's top class for the latest recording

    response = alice.post(url, {"label": "neutral"}, follow=True)
    assert response.redirect_chain[-1][0].endswith("#emotion-labels")
    assert "Emotion label saved: neutral" in response.content.decode()
    assert '<option value="neutral" selected>' in response.content.decode()
    alice.post(url, {"label": "sadness"})
    label = EmotionLabel.objects.get()
    assert (label.recording_id, label.label, label.labelled_by) == (latest.pk, "sadness", cast.alice)
    assert list(AuditEvent.objects.filter(resource="emotion_label").order_by("pk").values_list("action", "patient_code")) == [
        ("create", "N-001"), ("update", "N-001")]

    refused = alice.post(url, {"label": "joy"}, follow=True).content.decode()
    assert "is not a class of the active emotion model" in refused and EmotionLabel.objects.get().label == "sadness"
    other_url = reverse("dashboard:patient-emotion-label", args=[cast.patient_a.pk, first.pk])
    assert charlie.post(other_url, {"label": "anger"}).status_code == 404  # another care team
    wrong_patient = reverse("dashboard:patient-emotion-label", args=[cast.patient_b.pk, first.pk])
    assert charlie.post(wrong_patient, {"label": "anger"}).status_code == 404  # not this patient's recording
    assert EmotionLabel.objects.count() == 1


def test_it_does_not_plot_the_features_of_rejected_recordings():
    from web.dashboard.views import _plot_data

    row = {"features": {"speech_rate_syl_s": 4.0}, "status": "done", "recorded_at": "2026-01-02T10:00:00+00:00"}
    rejected = row | {"features": {"speech_rate_syl_s": 1.0}, "status": "rejected",
                      "recorded_at": "2026-01-03T10:00:00+00:00"}
    data = _plot_data({"baselines": [], "recordings": [row, rejected], "scores": [], "phq9": []})
    assert data["features"]["speech_rate_syl_s"]["points"] == [{"t": row["recorded_at"], "v": 4.0}]
    assert data["phq9_scale"] == {"max": 27, "cutoff": 10, "bands": [0, 5, 10, 15, 20]}  # for plots.js
