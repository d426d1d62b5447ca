"""The dashboard in headless Chromium (Playwright): log in, triage, plots, alerts, PHQ-9, outsider 404.

Screenshots go to artifacts/screenshots/. Needs Debian's /usr/bin/chromium and the playwright
package; without them the tests skip, except when CI=true, where they fail.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from clinic.models import Phq9Response
from screening.models import Alert
from tests.dashboard import factories
from tests.support.browser import chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(django_settings.BASE_DIR) / "artifacts" / "screenshots"
TABLET = {"width": 820, "height": 1180}
DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture(scope="module")
def browser():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as launched:
        yield launched


def _page(browser, viewport=DESKTOP):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
    return page


def _login(page, base_url: str, username: str, password: str, *, next_path: str = "/"):
    page.goto(base_url + next_path)
    assert "/login/" in page.url
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login/" not in url)  # signed in: the POST's answer has left the login page


def _shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def populated(cast):
    factories.history(cast.patient_a, n=14, seed=21, start_level=6, slope_per_week=1.6, mismatch_index=11,
                      rejected=1)
    factories.alert(cast.patient_a, kind="phq9_rise", priority=2, key="rise",
                    message="Predicted PHQ-9 rose by 5.2 points over 14 days (from 7.1 to 12.3).")
    from clinic.models import Patient

    for k, (level, slope) in enumerate([(3, 0.0), (12, 0.5), (8, -1.0)]):
        other = Patient.objects.create(code=f"N-{k + 2:03d}", care_team=cast.north, enrolled_on="2026-01-01")
        factories.history(other, n=8, seed=30 + k, start_level=level, slope_per_week=slope,
                          calibrated=k != 1)
    return cast


def test_it_walks_through_the_dashboard(browser, live_server, populated):
    cast, base = populated, live_server.url
    page = _page(browser)
    _login(page, base, "alice", "alice-password-1")

    rows = page.locator("table.triage tbody tr")
    assert rows.count() == 4 and rows.first.locator("th").inner_text() == "N-001"
    assert page.locator("svg.sparkline polyline").count() == 4
    _shot(page, "01-triage")

    page.get_by_role("link", name="N-001").click()
    page.wait_for_selector("html[data-plots-ready='true']")
    risk = page.locator("#plot-risk svg")
    assert risk.locator("path.series-risk").count() == 1 and risk.locator("path.band").count() == 1
    assert risk.locator("circle.dot-prob").count() == 13
    assert risk.locator("circle.dot-risk").count() == 13 and risk.locator("path.phq9-point").count() == 4
    for feature in ("speech_rate_syl_s", "speech_rate_cv", "f0_range_st", "pause_rate_per_min"):
        plot = page.locator(f"figure[data-feature='{feature}'] svg")
        assert plot.locator("rect.baseline-band").count() == 1
        assert plot.locator("circle").count() == 13 and plot.locator("path.series-feature").count() == 1
    assert page.locator("#speaker-mismatch-notice").is_visible()
    assert page.get_by_text("speech slower than usual (z = 1.8)").is_visible()
    _shot(page, "02-patient")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click()
    page.get_by_label("Note (optional)").fill("Phoned the patient; appointment on Friday.")
    page.get_by_role("button", name="Acknowledge").click()
    page.get_by_text("Alert for N-001 acknowledged.").wait_for()  # waits for the answer to the POST, not the old page
    assert page.get_by_text("Alert for N-001 acknowledged.").is_visible()
    alert = Alert.objects.get(patient=cast.patient_a)
    assert alert.state == "acknowledged" and alert.acknowledged_by == cast.alice
    _shot(page, "03-alerts-acknowledged")

    page.goto(f"{base}/patients/{cast.patient_a.pk}/")
    page.get_by_text("Enter a PHQ-9 for N-001").click()
    for n in range(1, 10):
        page.locator(f"input[name='item{n}'][value='{2 if n < 9 else 0}']").check()
    page.get_by_label("How difficult").select_option("2")
    answered = (timezone.now() - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Answered at (UTC)").fill(answered)
    page.get_by_role("button", name="Save PHQ-9").click()
    page.get_by_text("PHQ-9 recorded: total 16 (moderately severe).").wait_for()  # the page that answers the POST
    page.wait_for_selector("html[data-plots-ready='true']")
    assert page.get_by_text("PHQ-9 recorded: total 16 (moderately severe).").is_visible()
    assert page.locator("table.phq9-history td.total", has_text="16").count() == 1
    assert Phq9Response.objects.get(patient=cast.patient_a, total=16).entered_by == cast.alice
    page.locator("#phq9").scroll_into_view_if_needed()
    _shot(page, "04-phq9-entered")
    assert page.errors == []


def test_it_fits_a_tablet_and_shows_flags(browser, live_server, cast):
    factories.history(cast.patient_a, n=10, seed=40, start_level=11, slope_per_week=0.8, calibrated=False)
    factories.alert(cast.patient_a, kind="self_harm", priority=1, key="harm",
                    message="PHQ-9 item 9 (thoughts of self-harm) answered 1 of 3. Contact the patient today.")
    from clinic.models import Patient

    busy = Patient.objects.create(code="N-BUSY-0042", care_team=cast.north, enrolled_on="2026-01-01")
    factories.history(busy, n=9, seed=41, start_level=9, rejected=2, failed=1, now=timezone.now() - timedelta(days=12))
    factories.alert(busy, kind="overdue", priority=3, key="od")
    factories.alert(busy, kind="risk_threshold", priority=2, key="rt")
    page = _page(browser, TABLET)
    _login(page, live_server.url, "bob", "bob-password-1", next_path=f"/patients/{cast.patient_a.pk}/")
    page.wait_for_selector("html[data-plots-ready='true']")
    assert page.locator("#uncalibrated-notice").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= TABLET["width"], f"page scrolls sideways on a tablet ({width} px)"
    _shot(page, "05-patient-tablet-uncalibrated")
    page.goto(live_server.url + "/")
    overflow = page.evaluate("(() => { const w = document.querySelector('.table-wrap'); "
                             "return w.scrollWidth - w.clientWidth; })()")
    _shot(page, "06-triage-tablet")
    assert overflow <= 0, f"the triage table scrolls sideways on a tablet by {overflow} px"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    assert page.errors == []


def test_it_answers_404_to_an_outsider_clinician(browser, live_server, cast):
    page = _page(browser)
    _login(page, live_server.url, "charlie", "charlie-password-1")
    assert page.locator("table.triage tbody tr").count() == 1
    response = page.goto(f"{live_server.url}/patients/{cast.patient_a.pk}/")
    assert response.status == 404
    assert "N-001" not in page.content()
    _shot(page, "07-outsider-404")


def test_it_shows_an_empty_dashboard_plainly(browser, live_server, cast):
    page = _page(browser)
    _login(page, live_server.url, "alice", "alice-password-1", next_path=f"/patients/{cast.patient_a.pk}/")
    assert page.get_by_text("No risk scores or PHQ-9 answers yet.").is_visible()
    assert page.locator("figure[data-feature='f0_range_st'] text.no-data").text_content() == "No measurements yet"
    _shot(page, "08-patient-empty")
    assert page.errors == []


def test_it_serves_the_admin_and_the_api_docs_under_the_content_security_policy(browser, live_server, cast):
    """The strict CSP (no inline script or style) leaves Django's admin and Swagger UI working."""
    from django.contrib.auth.models import User

    User.objects.create_superuser("root", password="root-password-1")
    base, page = live_server.url, _page(browser)
    violations = []
    page.on("console", lambda msg: "Content Security Policy" in msg.text and violations.append(msg.text))
    missing = []
    page.on("response", lambda r: r.status == 404 and missing.append(r.url))
    page.goto(f"{base}/admin/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill("root-password-1")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login/" not in url)  # signed in: the POST's answer has left the login page
    page.goto(f"{base}/admin/clinic/patient/{cast.patient_a.pk}/change/")
    assert page.locator("div.field-code .readonly").inner_text() == "N-001"
    assert page.locator("form#patient_form input[name='birth_year']").count() == 1
    page.goto(f"{base}/admin/clinic/patient/?q=N-001")
    assert page.locator("#result_list tbody tr").count() == 1
    shifted = "shifted" in (page.locator("#main").get_attribute("class") or "")
    page.locator("#toggle-nav-sidebar").click()  # the admin's own script (nav_sidebar.js) folds the sidebar
    assert ("shifted" in (page.locator("#main").get_attribute("class") or "")) != shifted
    _shot(page, "05-admin-under-csp")

    page.goto(f"{base}/api/docs/")
    page.locator(".opblock-tag").first.wait_for()  # Swagger UI started and read the schema
    assert page.locator(".opblock").count() > 20
    _shot(page, "06-api-docs-under-csp")
    # The admin's pages name no icon, so Chromium asks for /favicon.ico (not a page request, so not in
    # ``missing``, but logged as a 404): the only thing allowed to be missing.
    assert violations == [] and [m for m in missing if not m.endswith("/favicon.ico")] == []
    assert [e for e in page.errors if "404 (Not Found)" not in e] == []


def test_the_validation_report_is_framed_with_its_own_styles_and_plots(browser, live_server, cast):
    """The report page keeps its inline <style> and the plots' SVG styles, which the dashboard's own policy forbids:
    it is framed from its own URL with its own policy, so nothing is blocked (a blocked style is a console error)."""
    from screening.models import ValidationReport
    from screening.reports.html import render
    from tests.support.validation_reports import simulated_report

    report = simulated_report()
    summary = {"n_phq9": 110, "n_pairs": 101, "n_patients": 30}
    stored = ValidationReport.objects.create(payload={}, html=render(report, "html"), care_team_ids=[cast.north.pk],
                                             team_summaries=[{"care_team": cast.north.pk, "name": "North community team",
                                                              "summary": summary}])
    page = _page(browser)
    _login(page, live_server.url, "alice", "alice-password-1", next_path="/reports/validation/")
    frame = page.frame_locator("iframe.report-frame")
    frame.locator("svg").nth(2).wait_for()  # the report's plots: its page may still be parsing after the heading
    assert frame.locator("svg").count() >= 3
    # Styled as the report says: its tables have borders, its readings a coloured bar.
    assert frame.locator("table td").first.evaluate("e => getComputedStyle(e).borderTopWidth") == "1px"
    assert frame.locator(".interpretation").first.evaluate("e => getComputedStyle(e).borderLeftWidth") == "4px"
    assert page.locator("iframe.report-frame").get_attribute("src") == f"/reports/validation/{stored.pk}/page/"
    _shot(page, "09-validation-report")
    assert page.errors == []
    phone = _page(browser, viewport={"width": 360, "height": 640})
    _login(phone, live_server.url, "alice", "alice-password-1", next_path="/reports/validation/")
    phone.frame_locator("iframe.report-frame").locator("h1").wait_for()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360  # the team table scrolls in its own frame
    _shot(phone, "09-validation-report-360x640")
    assert phone.errors == []
