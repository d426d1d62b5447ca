"""Second factors through the test client: what a clinician without one reaches, tokens, sessions, operators.

TOTP codes come from pyotp, an implementation independent of allauth's.
"""

import io
import time

import pyotp
import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.core.management import call_command
from django.test import Client

from clinic.models import ApiToken, AuditEvent

TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def _require_mfa(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CADENCE_REQUIRE_MFA = True
    settings.CADENCE_DEMO_USERNAME = "demo"


def _login(client: Client, username: str, password: str):
    return client.post("/login/", {"login": username, "password": password})


def _totp(user) -> pyotp.TOTP:
    secret = pyotp.random_base32()
    TOTP.activate(user, secret)
    return pyotp.TOTP(secret)


@pytest.mark.django_db
def test_it_sends_a_clinician_without_a_second_factor_to_enrol_and_shows_no_patient(cast):
    client = Client()
    assert _login(client, "alice", "alice-password-1").status_code == 302
    for path in ("/", f"/patients/{cast.patient_a.pk}/", "/alerts/", "/admin/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == "/account/", path
    api = client.get("/api/v1/patients/")
    assert api.status_code == 403 and api.json()["error"] == "second_factor_required"
    page = client.get("/account/")
    assert b"needs a second factor before it can" in page.content and b"make-token" not in page.content
    assert client.post("/account/tokens/").status_code == 302
    assert not ApiToken.objects.filter(user=cast.alice, label="made on the dashboard").exists()
    assert not AuditEvent.objects.filter(patient_code=cast.patient_a.code).exists()


@pytest.mark.django_db
def test_it_asks_for_the_code_at_sign_in_and_then_shows_patients(cast):
    code = _totp(cast.alice)
    client = Client()
    first = _login(client, "alice", "alice-password-1")
    assert first["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/").status_code == 302  # not signed in until the code
    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200 and b"Incorrect code" in wrong.content
    assert client.post("/accounts/2fa/authenticate/", {"code": code.now()}).status_code == 302
    assert client.get(f"/patients/{cast.patient_a.pk}/").status_code == 200
    actions = set(AuditEvent.objects.filter(actor=cast.alice).values_list("action", "resource"))
    assert {("login", "session"), ("denied", "mfa_code"), ("read", "patient_dashboard")} <= actions


@pytest.mark.django_db
def test_a_token_needs_the_code_when_the_account_has_a_second_factor(cast):
    code = _totp(cast.bob)
    client = Client()
    body = {"username": "bob", "password": "bob-password-1"}
    missing = client.post(TOKEN_URL, body, content_type="application/json")
    assert missing.status_code == 401 and missing.json()["error"] == "otp_required"
    wrong = client.post(TOKEN_URL, body | {"otp": "123456"}, content_type="application/json")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_otp"
    good = client.post(TOKEN_URL, body | {"otp": code.now()}, content_type="application/json")
    assert good.status_code == 200
    token = good.json()["token"]
    assert ApiToken.objects.get(key_hash=ApiToken.hash_key(token)).second_factor
    listed = Client().get("/api/v1/patients/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert listed.status_code == 200 and listed.json()["results"][0]["code"] == "N-001"


@pytest.mark.django_db
def test_no_token_without_a_second_factor_and_old_tokens_stop_working(cast):
    client = Client()
    refused = client.post(TOKEN_URL, {"username": "alice", "password": "alice-password-1"},
                          content_type="application/json")
    assert refused.status_code == 403 and refused.json()["error"] == "second_factor_required"
    old = Client().get("/api/v1/patients/", HTTP_AUTHORIZATION=f"Bearer {cast.alice_token}")
    assert old.status_code == 401 and "without a second factor" in old.json()["detail"]


@pytest.mark.django_db
def test_tokens_made_on_the_account_page_are_listed_and_revocable(cast):
    code = _totp(cast.alice)
    client = Client()
    _login(client, "alice", "alice-password-1")
    client.post("/accounts/2fa/authenticate/", {"code": code.now()})
    made = client.post("/account/tokens/")
    assert made.status_code == 201
    key = made.context["new_token"]
    token = ApiToken.objects.get(key_hash=ApiToken.hash_key(key))
    assert token.second_factor and token.label == "made on the dashboard"
    assert Client().get("/api/v1/patients/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    page = client.get("/account/")
    assert f"/account/tokens/{token.pk}/revoke/".encode() in page.content
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 302
    assert Client().get("/api/v1/patients/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401
    other = ApiToken.objects.get(key_hash=ApiToken.hash_key(cast.bob_token))
    assert client.post(f"/account/tokens/{other.pk}/revoke/").status_code == 404  # only one's own


@pytest.mark.django_db
def test_the_demo_account_works_without_a_second_factor_and_says_so(cast):
    from django.contrib.auth.models import User

    demo = User.objects.create_user("demo", password="demo-password-2026")
    cast.north.members.add(demo)
    client = Client()
    assert "Demo: the account" in client.get("/login/").content.decode()
    _login(client, "demo", "demo-password-2026")
    assert client.get(f"/patients/{cast.patient_a.pk}/").status_code == 200
    assert b"This is the demo account" in client.get("/account/").content
    token = client.post(TOKEN_URL, {"username": "demo", "password": "demo-password-2026"},
                        content_type="application/json")
    assert token.status_code == 200


@pytest.mark.django_db
def test_a_session_ends_twelve_hours_after_sign_in_however_active(cast, settings, monkeypatch):
    settings.CADENCE_REQUIRE_MFA = False
    client = Client()
    _login(client, "alice", "alice-password-1")
    assert client.get("/").status_code == 200
    later = time.time() + settings.CADENCE_SESSION_MAX_AGE_S + 1
    monkeypatch.setattr("web.identity.policy.time.time", lambda: later)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client.get("/api/v1/patients/").status_code in (401, 403)


@pytest.mark.django_db
def test_operators_see_the_second_factor_and_reset_it(cast):
    _totp(cast.bob)
    out = io.StringIO()
    call_command("add_clinician", "bob", "--team", "North", stdout=out)
    assert "Second factor: authenticator app." in out.getvalue()
    out = io.StringIO()
    call_command("add_clinician", "alice", "--team", "North", stdout=out)
    assert "Second factor: none yet" in out.getvalue()
    with pytest.raises(Exception, match="--yes"):
        call_command("reset_mfa", "bob")
    out = io.StringIO()
    call_command("reset_mfa", "bob", "--yes", stdout=out)
    assert "1 second factor" in out.getvalue() and "1 API token(s) revoked" in out.getvalue()
    from clinic.accounts import second_factors

    assert second_factors(cast.bob) == []
    assert AuditEvent.objects.filter(action="delete", resource="second_factor", object_id=str(cast.bob.pk)).exists()


@pytest.mark.django_db
def test_the_admin_lists_who_has_a_second_factor(cast):
    from django.contrib.auth.models import User

    _totp(cast.bob)
    root = User.objects.create_superuser("root", password="root-password-1")
    code = _totp(root)
    client = Client()
    _login(client, "root", "root-password-1")
    client.post("/accounts/2fa/authenticate/", {"code": code.now()})
    page = client.get("/admin/auth/user/").content.decode()
    assert "Second factor" in page and "authenticator app" in page and "none" in page
    detail = client.get(f"/admin/mfa/authenticator/{root.authenticator_set.first().pk}/change/").content.decode()
    assert root.authenticator_set.first().wrap().instance.data["secret"] not in detail


def test_checks_warn_of_a_demo_account_in_production_and_a_half_configured_provider(settings):
    from clinic.checks import staff_identity_check

    settings.DEBUG, settings.CADENCE_DEMO_USERNAME = False, "demo"
    settings.CADENCE_OIDC_ISSUER, settings.CADENCE_OIDC_CLIENT_ID = "https://idp.example.org", ""
    assert [m.id for m in staff_identity_check(None)] == ["clinic.W004", "clinic.E005"]
    settings.CADENCE_DEMO_USERNAME, settings.CADENCE_OIDC_ISSUER = "", ""
    assert staff_identity_check(None) == []


@pytest.mark.django_db
def test_every_identity_page_renders_in_the_dashboard_layout(cast):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    code = _totp(cast.alice)
    RecoveryCodes.activate(cast.alice)
    client = Client()
    _login(client, "alice", "alice-password-1")
    client.post("/accounts/2fa/authenticate/", {"code": code.now()})
    client.post("/accounts/reauthenticate/", {"password": "alice-password-1"})
    for path in ("/account/", "/accounts/2fa/webauthn/", "/accounts/2fa/webauthn/add/", "/accounts/2fa/totp/deactivate/",
                 "/accounts/2fa/recovery-codes/", "/accounts/2fa/recovery-codes/generate/", "/logout/"):
        page = client.get(path)
        assert page.status_code == 200, path
        html = page.content.decode()
        assert 'class="site-header"' in html and "<script>" not in html and " onclick=" not in html, path
    anonymous = Client()
    for path in ("/login/", "/accounts/signup/", "/accounts/inactive/", "/password-reset/"):
        page = anonymous.get(path)
        assert page.status_code == 200 and 'class="site-header"' in page.content.decode(), path
