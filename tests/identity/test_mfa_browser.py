"""Second factors in headless Chromium: enrolment when required, an authenticator app (codes from pyotp) with its
recovery codes, and a security key through Chromium's virtual authenticator (DevTools protocol, WebAuthn domain).

Every page visited runs no inline script: each <script> has a src or is a JSON data block.
"""


import pyotp
import pytest

from tests.support.browser import chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



@pytest.fixture(autouse=True)
def _settings(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CADENCE_REQUIRE_MFA = True
    settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True  # http://localhost in the test


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def _page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
    return context, page


def _no_inline_script(page) -> None:
    inline = page.evaluate("""() => [...document.scripts]
        .filter(s => !s.src && s.type !== 'application/json').map(s => s.outerHTML.slice(0, 80))""")
    handlers = page.evaluate("""() => [...document.querySelectorAll('*')]
        .flatMap(e => [...e.attributes].filter(a => a.name.startsWith('on')).map(a => e.tagName + ' ' + a.name))""")
    assert inline == [] and handlers == [], (page.url, inline, handlers)


def _sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(base + "/login/")
    _no_inline_script(page)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login/" not in url)  # the POST's answer, not the login page it came from


def _confirm_password(page, password: str) -> None:
    """allauth asks for the password again before a second factor is added, even just after sign-in."""
    assert "/accounts/reauthenticate/" in page.url
    _no_inline_script(page)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(lambda url: "/reauthenticate/" not in url)


def _sign_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(lambda url: "/login/" in url)


def test_it_enrols_an_authenticator_app_and_signs_in_with_a_recovery_code(browser, live_server, cast):
    base = live_server.url
    context, page = _page(browser)
    _sign_in(page, base, "bob", "bob-password-1")
    assert page.url == base + "/account/" and page.locator("#enrol-needed").is_visible()
    _no_inline_script(page)
    page.goto(f"{base}/patients/{cast.patient_a.pk}/")
    assert page.url == base + "/account/"  # no patient data before a second factor

    page.locator("#add-totp").click()
    page.wait_for_url(lambda url: "/reauthenticate/" in url)
    _confirm_password(page, "bob-password-1")
    _no_inline_script(page)
    assert page.locator("figure.totp-qr svg").count() == 1
    secret = page.locator("#authenticator_secret").input_value()
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    page.wait_for_selector("#recovery_codes")
    _no_inline_script(page)
    codes = page.locator("#recovery_codes").input_value().split()
    assert len(codes) == 10

    page.goto(base + "/")
    assert page.url == base + "/" and "N-001" in page.content()  # the triage list: patient data now
    _sign_out(page)

    _sign_in(page, base, "bob", "bob-password-1")
    assert page.url.endswith("/accounts/2fa/authenticate/")
    _no_inline_script(page)
    page.get_by_label("Code", exact=True).fill(codes[0])
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(base + "/")
    assert page.url == base + "/" and "N-001" in page.content()
    assert page.errors == []
    context.close()


def test_it_enrols_a_security_key_and_signs_in_with_it(browser, live_server, cast):
    base = live_server.url
    context, page = _page(browser)
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "usb", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})

    _sign_in(page, base, "alice", "alice-password-1")
    assert page.url == base + "/account/"
    page.locator("#add-key").click()
    page.wait_for_url(lambda url: "/reauthenticate/" in url)
    _confirm_password(page, "alice-password-1")
    _no_inline_script(page)
    page.get_by_label("Name").fill("Virtual key")
    page.get_by_role("button", name="Add the key").click()
    page.wait_for_load_state()
    page.wait_for_url(lambda url: "/webauthn/add/" not in url)
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator["authenticatorId"]})
    assert len(credentials["credentials"]) == 1
    page.goto(base + "/")
    assert page.url == base + "/" and "N-001" in page.content()
    _sign_out(page)

    _sign_in(page, base, "alice", "alice-password-1")
    assert page.url.endswith("/accounts/2fa/authenticate/")
    page.get_by_role("button", name="Use a security key or passkey").click()
    page.wait_for_url(base + "/")
    assert "N-001" in page.content()
    assert page.errors == []
    context.close()
