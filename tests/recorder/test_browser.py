"""The phone recorder in headless Chromium with a fake microphone playing espeak-ng speech.

Enrol from the dashboard's QR page, record, check, send, and watch the take reach `done` through a
real Celery worker (Redis broker, PostgreSQL); a take recorded offline is sent when the network
returns; an item-9 answer shows the crisis resources and raises the self-harm alert. axe-core checks
WCAG 2.1 AA on every recorder screen. Screenshots (390x844, a phone) go to CADENCE_SCREENSHOTS_DIR.
"""

import os
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from clinic.models import EnrolmentLink, Phq9Response, Recording
from clinic.services import enrolment_link_create
from screening.models import Alert

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(os.environ.get("CADENCE_SCREENSHOTS_DIR",
                                  Path(django_settings.BASE_DIR) / "artifacts" / "screenshots"))
RECORD_S = 6.0
READ_S = 22.0  # a passage needs at least its syllables / 7 s (21 s for The North Wind and the Sun)


def _phone(browser, base_url: str):
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    context.grant_permissions(["microphone"], origin=base_url)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
    return page


def _shot(page, name: str, *, at: str | None = None) -> None:
    """What the phone's screen shows (390x844), scrolled to ``at`` when given."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if at:
        page.locator(at).scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"recorder-{name}.png"))


def _axe(page, axe_script: Path) -> None:
    page.evaluate(axe_script.read_text())  # not a <script> tag: the page's CSP (rightly) refuses inline script
    result = page.evaluate("axe.run(document, {runOnly: {type: 'tag', values: "
                           "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})")
    problems = [f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']]}" for v in result["violations"]]
    assert problems == [], "\n".join(problems)


@pytest.fixture(autouse=True)
def _enrolled_before_the_pinned_day(cast):
    """The page's clock is pinned up to five days back, and the API refuses takes made before enrolment."""
    from datetime import date, timedelta

    type(cast.patient_a).objects.filter(pk=cast.patient_a.pk).update(enrolled_on=date.today() - timedelta(days=7))


def _pin_day(page, offset: int) -> None:
    """Tasks cycle every 3 days by the phone's date (read, talk, vowel) and passages every cycle:
    offset 0 is a North Wind day, 1 a free-speech day."""
    day = int(time.time() // 86400)
    page.clock.set_fixed_time((day - day % 6 + offset) * 86400 + 10 * 3600)


def _enrol(page, url: str) -> None:
    page.goto(url)
    page.wait_for_url("**/r/")
    page.locator("#start:enabled").wait_for()


def _until(page, expression: str, *, timeout_s: float) -> None:
    """Poll ``expression`` from the test (page.wait_for_function compiles it with eval, which the CSP refuses)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"not true within {timeout_s} s: {expression}"
        page.wait_for_timeout(50)


def _record(page, seconds: float = RECORD_S, *, shot: str | None = None) -> None:
    page.get_by_role("button", name="Start recording").click()
    _until(page, "Number(document.getElementById('level').getAttribute('aria-valuenow')) > 10", timeout_s=5)
    page.wait_for_timeout(seconds * 1000)
    if shot:
        _shot(page, shot, at="#record")
    assert page.locator("#elapsed").inner_text() != "0:00"
    page.get_by_role("button", name="Stop recording").click()
    page.wait_for_selector("#check:not([hidden])")


def _take_state(page, state: str, timeout_s: float):
    page.wait_for_selector(f"#takes li[data-state='{state}']", timeout=timeout_s * 1000)
    return page.locator(f"#takes li[data-state='{state}']")


def test_it_enrols_records_sends_and_reaches_done_in_a_real_worker(phone_browser, live_server, cast, worker,
                                                                  axe_script):
    desk = phone_browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    desk.goto(f"{live_server.url}/patients/{cast.patient_a.pk}/")
    desk.get_by_label("Username").fill("alice")
    desk.get_by_label("Password").fill("alice-password-1")
    desk.get_by_role("button", name="Log in").click()
    desk.get_by_role("button", name="Create enrolment link").click()
    assert desk.locator("#recorder svg[role='img'] path").count() >= 1
    url = desk.get_by_role("textbox", name="Enrolment link").input_value()
    desk.locator("#recorder").screenshot(path=str(SCREENSHOTS / "recorder-00-dashboard-qr.png"))
    desk.context.close()

    page = _phone(phone_browser, live_server.url)
    _pin_day(page, 0)  # the fake microphone reads The North Wind and the Sun
    _enrol(page, url)
    assert EnrolmentLink.objects.get().used_at is not None
    assert page.locator("#task-name").inner_text() == "Read this passage aloud"
    assert page.get_by_text("No recordings from this phone yet.").is_visible()
    assert page.locator("#task-name").inner_text() != ""
    _axe(page, axe_script)
    _shot(page, "01-ready")

    _record(page)
    assert page.get_by_text("it looks like you stopped before the end of the passage").is_visible()
    assert page.get_by_role("button", name="Send", exact=True).is_hidden()
    _shot(page, "02-stopped-early", at="#check")
    page.get_by_role("button", name="Record again").click()
    _record(page, READ_S, shot="02-recording")
    assert page.get_by_text("This recording sounds good").is_visible()
    _axe(page, axe_script)
    _shot(page, "02-checked", at="#check")
    page.get_by_role("button", name="Send", exact=True).click()
    done = _take_state(page, "processed", timeout_s=150)
    assert "Received and processed" in done.inner_text()
    recording = Recording.objects.get(patient=cast.patient_a)
    assert recording.status == "done" and recording.container in ("webm", "m4a", "ogg")
    assert recording.idempotency_key.startswith("web-")
    assert (recording.task, recording.task_detail) == ("read_passage", "north_wind")
    assert recording.feature_sets.get().features["speech_s"] > 2.0
    _axe(page, axe_script)
    _shot(page, "03-processed", at="#takes-section")

    used = _phone(phone_browser, live_server.url)
    used.goto(url)
    used.wait_for_selector("text=This link has already been used.")
    assert used.get_by_role("heading", name="This link cannot be used").is_visible()
    _shot(used, "04-link-used")
    assert page.errors == [] and [e for e in used.errors if "410 (Gone)" not in e] == []


def test_it_keeps_a_take_recorded_offline_and_sends_it_when_back_online(phone_browser, live_server, cast,
                                                                         axe_script):
    """Eager Celery here (the take is processed inside the upload request): this test is about the queue."""
    _, key = enrolment_link_create(patient=cast.patient_a, created_by=cast.alice)
    page = _phone(phone_browser, live_server.url)
    _pin_day(page, 1)
    _enrol(page, f"{live_server.url}/r/enrol/#{key}")
    assert page.locator("#task-name").inner_text() == "Talk freely for about a minute"
    page.evaluate("navigator.serviceWorker.ready")
    page.context.set_offline(True)
    page.reload()  # the service worker serves the page without a network
    page.wait_for_selector("text=You are offline")
    _record(page)
    page.get_by_role("button", name="Send", exact=True).click()
    queued = _take_state(page, "queued", timeout_s=10)
    assert "kept safely on this phone" in queued.inner_text()
    page.wait_for_timeout(1500)
    assert not Recording.objects.exists()
    _axe(page, axe_script)
    _shot(page, "05-offline-queued", at="#takes-section")

    page.context.set_offline(False)
    _take_state(page, "processed", timeout_s=60)
    recording = Recording.objects.get()
    assert recording.patient == cast.patient_a and recording.status == "done"
    _shot(page, "06-back-online-processed", at="#takes-section")
    assert [e for e in page.errors if "ERR_INTERNET_DISCONNECTED" not in e] == []


def test_it_shows_crisis_resources_on_item_9_and_raises_the_alert(phone_browser, live_server, cast, axe_script):
    _, key = enrolment_link_create(patient=cast.patient_a, created_by=cast.alice)
    page = _phone(phone_browser, live_server.url)
    _pin_day(page, 0)
    _enrol(page, f"{live_server.url}/r/enrol/#{key}")
    assert page.locator("#task-name").inner_text() == "Read this passage aloud"
    assert page.locator("#task-text").inner_text().startswith("The North Wind and the Sun were disputing")
    _shot(page, "00-task-read-passage")
    page.wait_for_selector("#phq9-form:not([hidden])")
    assert page.get_by_text("Your care team asks you to answer these questions today.").is_visible()
    for n in range(1, 9):
        page.locator(f"#phq9-item{n}").get_by_label("Several days").check()
    assert page.locator("#crisis").is_hidden()
    page.locator("#phq9-item9").get_by_label("Several days").check()
    crisis = page.get_by_role("alert").filter(has_text="988")
    assert crisis.is_visible() and crisis.get_by_role("link", name="988").get_attribute("href") == "tel:988"
    _axe(page, axe_script)
    _shot(page, "07-crisis", at="#crisis")

    page.get_by_role("button", name="Send answers").click()
    page.wait_for_selector("text=Your answers have been sent to your care team.")
    response = Phq9Response.objects.get(patient=cast.patient_a)
    assert response.item9 == 1 and response.total == 9 and response.source == "self_report"
    alert = Alert.objects.get(patient=cast.patient_a, kind=Alert.Kind.SELF_HARM)
    assert alert.priority == 1
    assert page.locator("#crisis").is_visible()
    _shot(page, "08-phq9-sent", at="#phq9")
    assert page.errors == []
