"""Single sign-on against a real OpenID Connect provider started on localhost (django-oauth-toolkit in its own
process, tests/support/oidc_provider): authorisation code with PKCE, signed id token, nonce, groups and amr.

Cadence is driven through the test client; the person's browser at the provider is a requests session, which hands
the provider's redirect back to Cadence. Cadence itself fetches discovery, keys and tokens from the provider.
"""

import json
import subprocess
import sys
from types import SimpleNamespace
from urllib.parse import urljoin

import pyotp
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client

from clinic.models import ApiToken, AuditEvent, Membership
from tests.integration.processes import ROOT, free_port, stop, wait_until_listening

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

CALLBACK = "http://testserver/accounts/oidc/sso/login/callback/"
USERS = {
    "dana": {"password": "dana-at-the-provider", "groups": ["north-clinicians", "mfa-done"]},
    "lena": {"password": "lena-at-the-provider", "groups": ["north-leads", "mfa-done"]},
    "gil": {"password": "gil-at-the-provider", "groups": ["north-clinicians"]},
    "hal": {"password": "hal-at-the-provider", "groups": []},
    "erin": {"password": "erin-at-the-provider", "groups": ["finance"]},
}


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("oidc-provider")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    config = {"client_id": "cadence-test", "client_secret": "a-client-secret-for-tests", "redirect_uri": CALLBACK,
              "users": USERS}
    (tmp / "config.json").write_text(json.dumps(config))
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "OIDC_PROVIDER_DB": str(tmp / "provider.sqlite3"),
           "OIDC_PROVIDER_KEY": str(tmp / "key.pem"), "DJANGO_SETTINGS_MODULE": "tests.support.oidc_provider.settings"}
    with open(tmp / "provider.log", "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "tests.support.oidc_provider.serve", str(port),
                                    str(tmp / "config.json")], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_listening(port, process, timeout_s=90)
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}", config=config, log=tmp / "provider.log", key=key)
    finally:
        stop(process)


@pytest.fixture(autouse=True)
def sso(settings, provider):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CADENCE_REQUIRE_MFA = True
    settings.CADENCE_OIDC_ISSUER = provider.url + "/o"
    settings.CADENCE_OIDC_CLIENT_ID = provider.config["client_id"]
    settings.CADENCE_OIDC_GROUP_TEAMS = "north-clinicians=North;north-leads=North:lead"
    settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": {
        **settings.SOCIALACCOUNT_PROVIDERS["openid_connect"],
        "APPS": [{"provider_id": "sso", "name": "the test provider", "client_id": provider.config["client_id"],
                  "secret": provider.config["client_secret"],
                  "settings": {"server_url": settings.CADENCE_OIDC_ISSUER, "oauth_pkce_enabled": True,
                               "fetch_userinfo": False, "scope": ["openid", "profile", "email"]}}]}}


def set_groups(provider, username: str, groups: list[str]) -> None:
    requests.post(f"{provider.url}/test/groups/{username}/", data=json.dumps(groups), timeout=10).raise_for_status()


def sign_in(client: Client, provider, username: str):
    """The whole dance: Cadence -> provider (sign in there) -> Cadence's callback; Cadence's last response."""
    start = client.post("/accounts/oidc/sso/login/")
    assert start.status_code == 302 and start["Location"].startswith(provider.url + "/o/authorize/")
    assert "code_challenge=" in start["Location"] and "nonce=" in start["Location"]
    browser, url = requests.Session(), start["Location"]
    for _ in range(10):
        response = browser.get(url, allow_redirects=False, timeout=10)
        if response.status_code == 200 and "Provider sign-in" in response.text:
            response = browser.post(response.url, allow_redirects=False, timeout=10, data={
                "username": username, "password": USERS[username]["password"],
                "csrfmiddlewaretoken": browser.cookies["csrftoken"]})
        assert response.status_code == 302, response.text[:500]
        url = urljoin(response.url, response.headers["Location"])
        if url.startswith("http://testserver/"):
            return client.get(url.removeprefix("http://testserver"))
    raise AssertionError("the provider never sent the browser back to Cadence")


def test_a_clinician_signs_into_the_team_their_groups_name(cast, provider):
    client = Client()
    landed = sign_in(client, provider, "dana")
    assert landed.status_code == 302 and landed["Location"] == "/", landed.content[:400]
    triage = client.get("/").content.decode()
    assert "N-001" in triage and "S-001" not in triage  # the provider said MFA (amr): not asked again
    [membership] = Membership.objects.filter(user__username="dana")
    assert membership.care_team == cast.north and membership.role == Membership.Role.CLINICIAN
    assert not membership.user.has_usable_password()
    lead = Client()
    assert sign_in(lead, provider, "lena")["Location"] == "/"
    assert Membership.objects.get(user__username="lena").role == Membership.Role.LEAD
    assert AuditEvent.objects.filter(actor__username="dana", action="login", resource="session").exists()


def test_an_unknown_user_is_refused_in_words(cast, provider):
    refused = sign_in(Client(), provider, "erin")
    assert refused.status_code == 403
    assert "not one that may use Cadence" in refused.content.decode()
    from django.contrib.auth.models import User

    assert not User.objects.filter(username="erin").exists()
    assert AuditEvent.objects.filter(action="denied", resource="sso", object_id="unknown account").exists()


def test_removal_from_the_group_or_deactivation_ends_access_at_the_next_sign_in(cast, provider):
    first = Client()
    assert sign_in(first, provider, "dana")["Location"] == "/"
    made = first.post("/account/tokens/")
    assert made.status_code == 201
    token = made.context["new_token"]
    assert ApiToken.objects.get(key_hash=ApiToken.hash_key(token)).second_factor  # the provider's MFA counts
    assert Client().get("/api/v1/patients/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200

    set_groups(provider, "dana", ["mfa-done"])
    try:
        refused = sign_in(Client(), provider, "dana")
    finally:
        set_groups(provider, "dana", USERS["dana"]["groups"])
    assert refused.status_code == 403 and "no longer in a group" in refused.content.decode()
    assert first.get("/")["Location"].startswith("/login/")  # the earlier session is over ...
    assert Client().get("/api/v1/patients/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401  # ... and the token

    from clinic.accounts import clinician_deactivate

    assert sign_in(Client(), provider, "dana")["Location"] == "/"  # back in the group: back in
    clinician_deactivate("dana")
    deactivated = sign_in(Client(), provider, "dana")
    assert deactivated.status_code == 403 and "deactivated" in deactivated.content.decode()


def test_without_mfa_at_the_provider_cadence_asks_for_its_own(cast, provider):
    from allauth.mfa.totp.internal.auth import TOTP

    from clinic.accounts import clinician_add

    gil = Client()
    assert sign_in(gil, provider, "gil")["Location"] == "/"
    assert gil.get("/")["Location"] == "/account/"  # no second factor anywhere: enrol first

    hal = clinician_add(username="hal", team_name="South").user  # made by an operator beforehand
    secret = pyotp.random_base32()
    TOTP.activate(hal, secret)
    client = Client()
    asked = sign_in(client, provider, "hal")
    assert asked["Location"] == "/accounts/2fa/authenticate/"
    assert client.post("/accounts/2fa/authenticate/", {"code": pyotp.TOTP(secret).now()})["Location"] == "/"
    triage = client.get("/").content.decode()
    assert "S-001" in triage and "N-001" not in triage


def test_a_code_from_another_browsers_sign_in_is_refused(cast, provider):
    victim, attacker = Client(), Client()
    victim_start = victim.post("/accounts/oidc/sso/login/")
    state = victim_start["Location"].split("state=")[1].split("&")[0]
    browser, url = requests.Session(), attacker.post("/accounts/oidc/sso/login/")["Location"]
    for _ in range(10):  # the attacker signs in at the provider as themselves, and keeps their code
        response = browser.get(url, allow_redirects=False, timeout=10)
        if response.status_code == 200:
            response = browser.post(response.url, allow_redirects=False, timeout=10, data={
                "username": "gil", "password": USERS["gil"]["password"],
                "csrfmiddlewaretoken": browser.cookies["csrftoken"]})
        url = urljoin(response.url, response.headers["Location"])
        if url.startswith("http://testserver/"):
            break
    code = url.split("code=")[1].split("&")[0]
    injected = victim.get(f"/accounts/oidc/sso/login/callback/?code={code}&state={state}")
    assert injected.status_code == 401 and "did not work" in injected.content.decode()
    assert "_auth_user_id" not in victim.session


def _id_token(provider, key, **override) -> str:
    import time

    import jwt

    from web.identity.oidc.provider import nonce_for

    kid = requests.get(provider.url + "/o/.well-known/jwks.json", timeout=10).json()["keys"][0]["kid"]
    now = int(time.time())
    claims = {"iss": provider.url + "/o", "aud": provider.config["client_id"], "sub": "42", "iat": now,
              "exp": now + 300, "nonce": nonce_for("state-1")} | override
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def test_the_id_tokens_signature_audience_and_nonce_are_checked(cast, provider, rf):
    from allauth.socialaccount.providers.oauth2.client import OAuth2Error

    from web.identity.oidc.provider import CadenceOIDCAdapter

    request = rf.get("/accounts/oidc/sso/login/callback/?state=state-1")
    adapter = CadenceOIDCAdapter(request, "sso")
    app = adapter.get_provider().app
    assert adapter._decode_id_token(app, _id_token(provider, provider.key))["sub"] == "42"
    forged = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for bad in (_id_token(provider, forged), _id_token(provider, provider.key, nonce="another-sign-in"),
                _id_token(provider, provider.key, aud="another-client"),
                _id_token(provider, provider.key, iss="http://evil.example/o")):
        with pytest.raises(OAuth2Error):
            adapter._decode_id_token(app, bad)
