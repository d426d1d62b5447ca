"""Roles (lead vs clinician vs administrator) and the admin site: what each may do, and that it is audited."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from clinic.models import AuditEvent, Membership, Recording
from screening.models import Alert


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def roles(cast):
    """Alice leads North, Bob is a clinician in North, Charlie a clinician in South, root an administrator."""
    Membership.objects.filter(user=cast.alice, care_team=cast.north).update(role=Membership.Role.LEAD)
    root = User.objects.create_superuser("root", password="root-password-1")
    for user in (cast.alice, cast.bob, cast.charlie, root):  # one event about each team's patient
        for patient in (cast.patient_a, cast.patient_b):
            AuditEvent.objects.create(actor=user, action="read", resource="patient", patient_code=patient.code)
    cast.root = root
    return cast


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# who may read the audit log, and which part of it
AUDIT_MATRIX = {"root": (200, {"N-001", "S-001"}), "alice": (200, {"N-001"}), "bob": (403, None),
                "charlie": (403, None)}


@pytest.mark.django_db
@pytest.mark.parametrize("who,expected", AUDIT_MATRIX.items())
def test_the_audit_log_is_for_administrators_and_team_leads(roles, who, expected):
    status, codes = expected
    browser = _browser(getattr(roles, who))
    response = browser.get("/audit/")
    assert response.status_code == status
    nav = browser.get("/").content.decode()
    assert ('href="/audit/"' in nav) == (status == 200)
    if status == 200:
        shown = {e.patient_code for e in response.context["page"].object_list if e.patient_code}
        assert shown == codes


@pytest.mark.django_db
@pytest.mark.parametrize("who,north,south", [("alice", 200, 404), ("bob", 200, 404), ("charlie", 404, 200)])
def test_leads_and_clinicians_reach_the_same_patients(roles, api, who, north, south):
    client = api(getattr(roles, f"{who}_token"))
    assert client.get(f"/api/v1/patients/{roles.patient_a.pk}/").status_code == north
    assert client.get(f"/api/v1/patients/{roles.patient_b.pk}/").status_code == south


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["alice", "bob", "charlie"])
def test_clinicians_and_leads_have_no_admin_site(roles, who):
    response = _browser(getattr(roles, who)).get("/admin/clinic/patient/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


# the admin site


@pytest.mark.django_db
def test_the_admin_lists_patients_with_search_and_filters_and_audits_each_one_shown(roles):
    admin = _browser(roles.root)
    before = AuditEvent.objects.filter(actor=roles.root, resource="admin:patient").count()
    response = admin.get("/admin/clinic/patient/?q=N-00&active__exact=1")
    assert response.status_code == 200
    assert [p.code for p in response.context["cl"].result_list] == ["N-001"]
    events = AuditEvent.objects.filter(actor=roles.root, resource="admin:patient")
    assert events.count() == before + 1 and events.first().patient_code == "N-001"
    admin.get(f"/admin/clinic/patient/{roles.patient_b.pk}/change/")
    assert AuditEvent.objects.filter(actor=roles.root, resource="admin:patient", patient_code="S-001",
                                     object_id=str(roles.patient_b.pk)).exists()


@pytest.mark.django_db
def test_the_admin_enrols_a_patient_with_an_upload_token_and_audits_it(roles):
    admin = _browser(roles.root)
    response = admin.post("/admin/clinic/patient/add/", {
        "code": "N-777", "care_team": roles.north.pk, "enrolled_on": "2026-11-01", "sex": "unknown",
        "language": "en", "timezone": "UTC", "active": "on"}, follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert any("Create enrolment link" in m and "N-777 is enrolled" in m for m in shown)
    assert any("not the phone recorder" in m and "API upload token for N-777" in m for m in shown)
    assert AuditEvent.objects.filter(actor=roles.root, action="create", patient_code="N-777").exists()
    refused = admin.post("/admin/clinic/patient/add/", {
        "code": "../x", "care_team": roles.north.pk, "enrolled_on": "2026-11-01", "sex": "unknown",
        "language": "en", "timezone": "UTC"})
    assert refused.status_code == 200 and b"may contain only letters" in refused.content


@pytest.mark.django_db
def test_memberships_are_managed_in_the_admin_with_roles_and_audited(roles):
    admin = _browser(roles.root)
    response = admin.post("/admin/clinic/membership/add/", {
        "user": roles.charlie.pk, "care_team": roles.north.pk, "role": "lead"})
    assert response.status_code == 302
    assert Membership.objects.get(user=roles.charlie, care_team=roles.north).role == "lead"
    assert AuditEvent.objects.filter(actor=roles.root, action="create", resource="admin:membership").exists()
    listing = admin.get("/admin/clinic/membership/?role__exact=lead")
    assert {m.user.username for m in listing.context["cl"].result_list} == {"alice", "charlie"}


@pytest.mark.django_db
def test_recordings_alerts_and_audit_events_are_read_only_in_the_admin(roles):
    recording = Recording.objects.create(patient=roles.patient_a, file="recordings/x.wav", sha256="0" * 64,
                                         size_bytes=10, container="wav", recorded_at=timezone.now())
    alert = Alert.objects.create(patient=roles.patient_a, kind="overdue", priority=3, message="m", episode_key="e")
    admin = _browser(roles.root)
    for url in (f"/admin/clinic/recording/{recording.pk}/change/", f"/admin/screening/alert/{alert.pk}/change/"):
        page = admin.get(url)
        assert page.status_code == 200 and b'name="_save"' not in page.content
    assert AuditEvent.objects.filter(actor=roles.root, resource="admin:recording", patient_code="N-001").exists()
    assert AuditEvent.objects.filter(actor=roles.root, resource="admin:alert", patient_code="N-001").exists()
    assert admin.get("/admin/clinic/recording/add/").status_code == 403
    assert admin.post(f"/admin/screening/alert/{alert.pk}/delete/", {"post": "yes"}).status_code == 403
    event = AuditEvent.objects.first()
    assert admin.post(f"/admin/clinic/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin.get("/admin/clinic/auditevent/?action__exact=read&q=N-001").status_code == 200
    assert admin.get("/admin/screening/alert/?state__exact=open&q=N-001").status_code == 200
