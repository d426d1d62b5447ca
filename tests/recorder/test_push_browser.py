"""The recorder's reminders in Chromium: the "Add to Home Screen" hint on iOS, and the subscription flow up to
the push service (headless Chromium has none, so the page says reminders could not be turned on)."""

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from clinic.services import enrolment_link_create
from tests.recorder.test_browser import _until

pytestmark = pytest.mark.browser
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/18.1 Mobile/15E148 Safari/604.1")


@pytest.fixture
def vapid(settings):
    key = ec.generate_private_key(ec.SECP256R1())
    settings.CADENCE_VAPID_PRIVATE_KEY = base64.urlsafe_b64encode(
        key.private_numbers().private_value.to_bytes(32, "big")).rstrip(b"=").decode()


def _enrolled_page(browser, base_url: str, cast, **context):
    _, key = enrolment_link_create(patient=cast.patient_a, created_by=cast.alice)
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, **context)
    page = ctx.new_page()
    page.goto(f"{base_url}/r/enrol/#{key}")
    page.wait_for_url("**/r/")
    return ctx, page


def test_it_explains_add_to_home_screen_on_an_iphone_and_subscribes_elsewhere(phone_browser, live_server, cast,
                                                                              vapid):
    ctx, page = _enrolled_page(phone_browser, live_server.url, cast, user_agent=IPHONE)
    page.wait_for_selector("#ios-hint:not([hidden])")
    assert "Add to Home Screen" in page.locator("#ios-hint").inner_text()
    manifest = page.evaluate("fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())")
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/r/"
    ctx.close()

    ctx, page = _enrolled_page(phone_browser, live_server.url, cast)
    ctx.grant_permissions(["notifications"], origin=live_server.url)
    page.reload()
    page.wait_for_selector("#reminders:not([hidden])")
    status = page.locator("#reminders-status")
    _until(page, "document.getElementById('reminders-status').textContent.length > 0", timeout_s=15)
    assert status.inner_text() in ("Reminders are on for this phone.",
                                   "Reminders could not be turned on; your care team can still remind you by e-mail.")
    assert page.locator("#ios-hint").is_hidden()
    ctx.close()
