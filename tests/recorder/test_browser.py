"""The phone recorder in headless Chromium with a fake microphone playing espeak-ng speech.

A clinician (not an administrator) adds a patient on the dashboard and creates the link; a 360x640
phone records through it, checks, sends, and the take reaches `done` through a real Celery worker
(Redis broker, PostgreSQL) ahead of a demo backlog, with every feature a WAV of the same audio gives; a take recorded offline is sent when the network
returns; an item-9 answer shows the crisis resources and raises the self-harm alert. axe-core checks
WCAG 2.1 AA on every recorder screen. Screenshots (390x844, a phone) go to CADENCE_SCREENSHOTS_DIR.
"""

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import Error as PlaywrightError

from clinic.models import EnrolmentLink, Phq9Response, Recording
from clinic.services import enrolment_link_create
from screening.models import Alert

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 640}
ANDROID_CHROME = ("Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240805.005) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/131.0.0.0 Mobile Safari/537.36")
SCREENSHOTS = Path(os.environ.get("CADENCE_SCREENSHOTS_DIR",
                                  Path(django_settings.BASE_DIR) / "artifacts" / "screenshots"))
RECORD_S = 6.0
READ_S = 22.0  # a passage needs at least its syllables / 7 s (21 s for The North Wind and the Sun)


def _phone(browser, base_url: str, *, viewport: dict = PHONE, user_agent: str | None = None):
    context = browser.new_context(viewport=viewport, device_scale_factor=2, is_mobile=True, has_touch=True,
                                  user_agent=user_agent)
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
    while not _evaluated(page, expression):
        assert time.monotonic() < deadline, f"not true within {timeout_s} s: {expression}"
        page.wait_for_timeout(50)


def _evaluated(page, expression: str):
    """The expression's value, or None while the page is navigating (the recorder reloads itself in the patient's
    language: an evaluation caught by that reload is simply tried again). A TypeError inside the page counts as "not
    yet" too: between two documents ``document.documentElement`` is briefly null, and an element the expression reads
    may not be parsed yet (CI once failed on ``Cannot read properties of null (reading 'lang')``)."""
    guarded = (f"(() => {{ try {{ return ({expression}); }} "
               "catch (e) { if (e instanceof TypeError) return null; throw e; } })()")
    try:
        return page.evaluate(guarded)
    except PlaywrightError as exc:
        if "Execution context was destroyed" in str(exc) or "navigat" in str(exc):
            return None
        raise


def _record(page, seconds: float = RECORD_S, *, shot: str | None = None) -> None:
    page.get_by_role("button", name="Start recording").click()
    _until(page, "Number(document.getElementById('level').getAttribute('aria-valuenow')) > 10", timeout_s=15)
    page.wait_for_timeout(seconds * 1000)
    if shot:
        _shot(page, shot, at="#record")
    assert page.locator("#elapsed").inner_text() != "0:00"
    page.get_by_role("button", name="Stop recording").click()
    page.wait_for_selector("#check:not([hidden])")


def _take_state(page, state: str, timeout_s: float):
    page.wait_for_selector(f"#takes li[data-state='{state}']", timeout=timeout_s * 1000)
    return page.locator(f"#takes li[data-state='{state}']")


def _demo_backlog(patient, n: int) -> list[int]:
    """Demo recordings waiting on the 'bulk' queue, as seed_demo leaves them while it seeds."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from clinic.services import recording_ingest
    from tests.conftest import tone_wav

    return [recording_ingest(patient=patient, upload=SimpleUploadedFile(f"demo-{k}.wav", tone_wav(seed=k)),
                             bulk=True).recording.pk for k in range(n)]


def _present(features: dict) -> set[str]:
    return {k for k, v in features.items() if v is not None and not (isinstance(v, float) and v != v)}


def _in_view(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= page.viewport_size["height"]


def test_a_clinician_enrols_a_patient_and_the_phones_first_take_keeps_every_feature(
        phone_browser, live_server, cast, worker, axe_script, settings, redis_url, fake_microphone_wav):
    """Day one of a pilot: a clinician who is not an administrator adds a patient, creates the link, and the
    phone's first take reaches `done` in a real worker, ahead of a demo backlog, with every feature the same
    audio gives as a WAV upload."""
    import redis

    from clinic.models import Patient
    from clinic.protocols import known_syllables
    from voice_features.pipeline import analyse_file

    settings.CADENCE_BASE_URL, settings.DEBUG = live_server.url, True  # the embedded demo, on this computer
    backlog = _demo_backlog(cast.patient_b, 5)
    assert not (cast.alice.is_staff or cast.alice.is_superuser)
    desk_context = phone_browser.new_context(viewport={"width": 1280, "height": 900})
    desk_context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    desk = desk_context.new_page()
    desk.goto(f"{live_server.url}/")
    desk.get_by_label("Username").fill("alice")
    desk.get_by_label("Password").fill("alice-password-1")
    desk.get_by_role("button", name="Log in").click()
    desk.get_by_role("link", name="Add patient").click()
    desk.get_by_label("Patient code").fill("N-500")
    desk.get_by_label("Sex").select_option("female")
    desk.get_by_label("Birth year").fill("1975")
    desk.get_by_label("Language", exact=True).fill("en-GB")
    desk.get_by_label("Time zone").fill("Europe/London")
    desk.get_by_label("Consent form version").fill("v1.0")
    desk.get_by_label("Consent given on").fill(time.strftime("%Y-%m-%d"))
    _axe(desk, axe_script)
    desk.screenshot(path=str(SCREENSHOTS / "dashboard-add-patient.png"), full_page=True)
    desk.get_by_role("button", name="Add patient").click()
    desk.wait_for_url("**/patients/*/?new=1#recorder")
    patient = Patient.objects.get(code="N-500")
    assert (patient.care_team, patient.language, patient.timezone) == (cast.north, "en-GB", "Europe/London")
    assert desk.get_by_text("No phone is linked to this patient yet.").is_visible()
    desk.get_by_role("button", name="Create enrolment link").click()
    desk.wait_for_url("**/enrolment-link/#recorder")  # the POST answers with the page that shows the QR code
    desk.wait_for_selector("#recorder svg[role='img'] path")
    assert desk.locator("#recorder svg[role='img'] path").count() >= 1
    url = desk.get_by_role("textbox", name="Enrolment link").input_value()
    assert url.startswith(f"{live_server.url}/r/enrol/#")  # CADENCE_BASE_URL, with the demo's warning shown
    assert desk.get_by_text("This link works only for a demonstration on this computer.").is_visible()
    desk.get_by_role("button", name="Copy link").click()
    desk.wait_for_selector("#enrolment-url-status:has-text('Copied')")
    assert desk.evaluate("navigator.clipboard.readText()") == url
    _axe(desk, axe_script)
    desk.locator("#recorder").screenshot(path=str(SCREENSHOTS / "recorder-00-dashboard-qr.png"))
    desk.screenshot(path=str(SCREENSHOTS / "dashboard-patient-new.png"), full_page=True)
    desk_context.close()
    # The phone's calendar is pinned to a North Wind day up to five days back; takes before enrolment are refused.
    Patient.objects.filter(pk=patient.pk).update(enrolled_on=patient.enrolled_on - timedelta(days=7))

    page = _phone(phone_browser, live_server.url, viewport=SMALL_PHONE, user_agent=ANDROID_CHROME)
    _pin_day(page, 0)  # the fake microphone reads The North Wind and the Sun
    _enrol(page, url)
    assert EnrolmentLink.objects.get().used_at is not None
    assert page.locator("#task-name").inner_text() == "Read this passage aloud"
    assert page.get_by_text("No recordings from this phone yet.").is_visible()
    assert page.evaluate("(() => { const p = document.getElementById('task-text');"
                         " return p.scrollHeight <= p.clientHeight + 1; })()")  # no box scrolling inside itself
    assert _in_view(page, "#start")  # within reach on a 360x640 screen, with the passage above it
    _axe(page, axe_script)
    _shot(page, "01-ready-360x640")

    _record(page)
    assert page.get_by_text("it looks like you stopped before the end of the passage").is_visible()
    assert page.get_by_role("button", name="Send", exact=True).is_hidden()
    _shot(page, "02-stopped-early-360x640", at="#check")
    page.get_by_role("button", name="Record again").click()
    page.get_by_role("button", name="Start recording").click()
    page.locator("#task-text").evaluate("p => p.lastChild && p.scrollIntoView({block: 'end'})")
    assert _in_view(page, "#stop")  # the patient reads the end of the passage with Stop under the thumb
    passage_end = page.locator("#task-text").bounding_box()
    assert passage_end["y"] + passage_end["height"] <= page.locator("#record-bar").bounding_box()["y"] + 1
    page.screenshot(path=str(SCREENSHOTS / "recorder-02-recording-end-of-passage-360x640.png"))
    page.wait_for_timeout(READ_S * 1000)
    page.get_by_role("button", name="Stop recording").click()
    page.wait_for_selector("#check:not([hidden])")
    assert page.get_by_text("This recording sounds good").is_visible()
    _axe(page, axe_script)
    _shot(page, "02-checked-360x640", at="#check")
    page.get_by_role("button", name="Send", exact=True).click()
    done = _take_state(page, "processed", timeout_s=150)
    assert "Received and processed" in done.inner_text()
    take = Recording.objects.get(patient=patient)
    assert take.status == "done" and take.container == "webm" and take.codec == "opus"
    assert take.channels == 1 and take.device_model == "Pixel 8"
    assert 58000 < take.bit_rate < 72000 and take.duration_s == pytest.approx(READ_S, abs=2.5)
    assert take.idempotency_key.startswith("web-")
    assert (take.task, take.task_detail) == ("read_passage", "north_wind")
    take_features = take.feature_sets.get()
    assert take_features.quality["withheld_features"] == {}
    _axe(page, axe_script)
    _shot(page, "03-processed-360x640", at="#takes-section")
    # Patients' uploads went ahead of the demo: its recordings still wait on their own queue.
    assert set(Recording.objects.filter(pk__in=backlog).values_list("status", flat=True)) == {"received"}
    assert redis.Redis.from_url(redis_url).llen("bulk") == len(backlog)

    # The same audio as a WAV upload, through the worker's own analysis (clinic.processing.services._extract)
    wav = analyse_file(str(fake_microphone_wav), known_syllables=known_syllables(task="read_passage",
                       detail="north_wind"), task="read_passage", with_embedding=False)
    assert wav["quality"]["source"]["codec"] == "pcm_s16le" and wav["quality"]["withheld_features"] == {}
    assert _present(take_features.features) == _present(wav["features"])  # every feature a WAV gives

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


def test_it_shows_crisis_resources_on_item_9_and_raises_the_alert_and_explains_an_insecure_context(
        phone_browser, live_server, cast, axe_script):
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
    page.set_viewport_size(SMALL_PHONE)  # a question that wraps to two lines stays inside its box
    legend, box = page.locator("#phq9-item6 legend").bounding_box(), page.locator("#phq9-item6").bounding_box()
    assert legend["height"] > 40 and legend["y"] > box["y"] + 1  # wrapped, and below the box's top border
    _shot(page, "07-phq9-360x640", at="#phq9-item6")
    page.set_viewport_size(PHONE)
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

    # Over plain HTTP (not localhost) a phone's browser withholds the microphone: the page says why and what to do.
    insecure = _phone(phone_browser, live_server.url)
    insecure.add_init_script("Object.defineProperty(window, 'isSecureContext', {value: false})")
    insecure.goto(f"{live_server.url}/r/")
    notice = insecure.locator("#insecure")  # at the top of the page
    notice.wait_for()
    assert "unprotected connection" in notice.inner_text() and "https://" in notice.inner_text()
    assert "This browser cannot record audio" not in insecure.locator("body").inner_text()
    _shot(insecure, "09-insecure-context")
