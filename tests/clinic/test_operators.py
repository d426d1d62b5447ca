"""Operators without a shell: care teams, clinicians, roles, deactivation, set-password links, enrolment."""

import io
import re

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from clinic.models import ApiToken, AuditEvent, CareTeam, Membership, Patient, Recording
from tests.conftest import tone_wav

STRONG = "violet-harbour-47"


@pytest.fixture(autouse=True)
def _fast_hasher_and_no_worker(settings, monkeypatch):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    monkeypatch.setattr("clinic.processing.tasks.process_recording.delay", lambda recording_id: None)


def run(*args, stdin: str | None = None) -> str:
    out = io.StringIO()
    kwargs = {"stdout": out}
    if stdin is not None:
        kwargs["stdin"] = io.StringIO(stdin)
    call_command(*args, **kwargs)
    return out.getvalue()


@pytest.mark.django_db
def test_a_fresh_clinic_sets_itself_up_with_commands_only():
    """Team, clinician with --password-stdin, dashboard and API login, a patient enrolled, an upload: no shell."""
    assert "created" in run("create_care_team", "North clinic")
    assert "already exists" in run("create_care_team", "North clinic")  # deploy scripts run it twice
    out = run("add_clinician", "dana", "--team", "North clinic", "--email", "dana@example.org",
              stdin=STRONG + "\n")
    assert "created" in out and "clinician in 'North clinic'" in out
    assert "updated" in run("add_clinician", "dana", "--team", "North clinic", "--password-stdin",
                            stdin=STRONG + "\n")

    browser = Client(enforce_csrf_checks=True)
    csrf = browser.get("/login/").cookies["csrftoken"].value
    login = browser.post("/login/", {"username": "dana", "password": STRONG, "csrfmiddlewaretoken": csrf})
    assert login.status_code == 302 and login["Location"] == "/"
    assert browser.get("/").status_code == 200

    api = Client()
    token = api.post("/api/v1/auth/token/", {"username": "dana", "password": STRONG},
                     content_type="application/json").json()["token"]
    created = api.post("/api/v1/patients/", {"code": "NC-001", "sex": "female"}, content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {token}")
    assert created.status_code == 201, created.content
    patient = Patient.objects.get(code="NC-001")
    assert patient.care_team.name == "North clinic"
    upload = api.post("/api/v1/recordings/", {"audio": io.BytesIO(tone_wav())},
                      HTTP_AUTHORIZATION=f"Bearer {created.json()['upload_token']}")
    assert upload.status_code == 202, upload.content
    stored = Recording.objects.get(pk=upload.json()["id"]).file.name
    assert "NC-001" not in stored and re.fullmatch(r"recordings/[0-9a-f]{32}\.enc", stored)
    assert browser.get(f"/patients/{patient.pk}/").status_code == 200


# add_clinician


@pytest.mark.django_db
def test_the_password_from_stdin_must_pass_the_validators():
    run("create_care_team", "North")
    with pytest.raises(CommandError, match="The password was refused: .*too short"):
        run("add_clinician", "erin", "--team", "North", "--password-stdin", stdin="abc\n")
    with pytest.raises(CommandError, match="too common"):
        run("add_clinician", "erin", "--team", "North", "--password-stdin", stdin="password123\n")
    with pytest.raises(CommandError, match="standard input held no password"):
        run("add_clinician", "erin", "--team", "North", "--password-stdin", stdin="")
    assert not User.objects.filter(username="erin").exists()


@pytest.mark.django_db
def test_an_unknown_team_is_a_sentence_and_a_non_zero_exit():
    with pytest.raises(CommandError, match="There is no care team called 'Nowhere'; create it first"):
        run("add_clinician", "erin", "--team", "Nowhere")
    assert not User.objects.filter(username="erin").exists()


@pytest.mark.django_db
def test_the_role_is_what_the_last_run_said_and_memberships_are_per_team():
    run("create_care_team", "North")
    run("create_care_team", "South")
    run("add_clinician", "erin", "--team", "North", "--lead")
    run("add_clinician", "erin", "--team", "North", "--lead")
    run("add_clinician", "erin", "--team", "South")
    roles = dict(Membership.objects.filter(user__username="erin").values_list("care_team__name", "role"))
    assert roles == {"North": "lead", "South": "clinician"}
    run("add_clinician", "erin", "--team", "North")
    assert Membership.objects.get(user__username="erin", care_team__name="North").role == "clinician"


@pytest.mark.django_db
def test_without_a_password_a_one_time_link_sets_it(settings):
    run("create_care_team", "North")
    out = run("add_clinician", "erin", "--team", "North", "--email", "erin@example.org")
    link = re.search(r"http://\S+/password/set/\S+/", out).group(0)
    assert "valid 72 h" in out and settings.PASSWORD_RESET_TIMEOUT == 72 * 3600
    assert not User.objects.get(username="erin").has_usable_password()
    path = link.split("127.0.0.1:8000", 1)[1]

    client = Client()
    form = client.get(path, follow=True)
    assert form.status_code == 200 and b"Choose a password" in form.content and b"new_password1" in form.content
    weak = client.post(form.redirect_chain[-1][0], {"new_password1": "abc", "new_password2": "abc"})
    assert weak.status_code == 200 and b"too short" in weak.content
    done = client.post(form.redirect_chain[-1][0], {"new_password1": STRONG, "new_password2": STRONG})
    assert done.status_code == 302
    assert User.objects.get(username="erin").check_password(STRONG)
    again = Client().get(path, follow=True)
    assert b"already been used or has expired" in again.content
    assert "keep their current password" in run("add_clinician", "erin", "--team", "North")


@pytest.mark.django_db
def test_password_reset_mails_a_link(mailoutbox, cast):
    cast.alice.email = "alice@example.org"
    cast.alice.save()
    response = Client().post("/password-reset/", {"email": "alice@example.org"})
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
    assert len(mailoutbox) == 1 and "/password/set/" in mailoutbox[0].body
    assert Client().get("/password-reset/").status_code == 200


# deactivate_clinician


@pytest.mark.django_db
def test_deactivation_revokes_tokens_and_sessions_and_keeps_the_audit_trail(cast, api):
    assert api(cast.bob_token).get(f"/api/v1/patients/{cast.patient_a.pk}/").status_code == 200
    browser = Client()
    browser.force_login(cast.bob)
    assert browser.get("/").status_code == 200
    events = AuditEvent.objects.filter(actor=cast.bob).count()
    assert events > 0

    out = run("deactivate_clinician", "bob")
    assert "1 API token(s) revoked, 1 session(s) ended" in out
    assert api(cast.bob_token).get(f"/api/v1/patients/{cast.patient_a.pk}/").status_code == 401
    assert browser.get("/").status_code == 302
    assert not ApiToken.objects.filter(user=cast.bob, revoked_at__isnull=True).exists()
    assert AuditEvent.objects.filter(actor=cast.bob).count() == events
    login = Client().post("/api/v1/auth/token/", {"username": "bob", "password": "bob-password-1"},
                          content_type="application/json")
    assert login.status_code == 401
    assert "0 API token(s) revoked" in run("deactivate_clinician", "bob")  # idempotent
    with pytest.raises(CommandError, match="There is no user called 'nobody'"):
        run("deactivate_clinician", "nobody")
    assert "reactivated" in run("add_clinician", "bob", "--team", "North")


# enrolling a patient


@pytest.mark.django_db
def test_the_care_team_is_implied_for_one_team_and_listed_for_several(cast, api):
    assert api(cast.alice_token).post("/api/v1/patients/", {"code": "N-002"}, format="json").status_code == 201
    west = CareTeam.objects.create(name="West")
    west.members.add(cast.alice)
    several = api(cast.alice_token).post("/api/v1/patients/", {"code": "N-003"}, format="json")
    assert several.status_code == 400 and several.json()["error"] == "care_team_required"
    assert {c["name"] for c in several.json()["choices"]} == {"North", "West"}
    chosen = api(cast.alice_token).post("/api/v1/patients/", {"code": "N-003", "care_team": west.pk}, format="json")
    assert chosen.status_code == 201 and Patient.objects.get(code="N-003").care_team == west
    foreign = api(cast.alice_token).post("/api/v1/patients/", {"code": "N-004", "care_team": cast.south.pk},
                                         format="json")
    assert foreign.status_code == 400 and foreign.json()["error"] == "not_a_member"


@pytest.mark.django_db
def test_staff_in_no_team_are_told_how_to_join_one(cast, api):
    from clinic.services import clinician_token_issue

    root = User.objects.create_superuser("root", password="root-password-1")
    response = api(clinician_token_issue(user=root)).post("/api/v1/patients/", {"code": "X-1"}, format="json")
    body = response.json()
    assert response.status_code == 400 and body["error"] == "no_care_team"
    assert "add_clinician USERNAME --team NAME" in body["detail"] and "create_care_team" in body["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["../../evil", "a/b", "N 001", "", "x" * 65, "N-001\x00", "é1"])
def test_patient_codes_are_letters_digits_dash_underscore(cast, api, code):
    before = Patient.objects.count()
    response = api(cast.alice_token).post("/api/v1/patients/", {"code": code}, format="json")
    assert response.status_code == 400 and response.json()["error"] == "invalid"
    assert "code" in response.json()["fields"] and Patient.objects.count() == before
