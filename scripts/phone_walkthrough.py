"""A pilot's first day through a real browser, against a running Cadence over HTTPS, as the README tells it.

A clinician just made by ``manage.py add_clinician`` (no password) opens the one-time link it printed,
chooses a password, signs in, is made to add a second factor (an authenticator app: the QR code's secret, a
code, recovery codes), signs in again with a code, adds a patient on the dashboard and creates the enrolment
link; a phone (Android Chrome's screen and user agent, a microphone playing recorded speech) opens the link,
records today's task, checks and sends it; the take reaches "Received and processed" on the phone, and the
clinician finds it on the patient's page and the patient in triage.

The browser trusts the deployment's certificate authority the way a phone does once its owner installs the
CA (README, "A pilot without a server"): the CA goes into a throw-away NSS database (``certutil``, Debian
``libnss3-tools``) that Chromium reads; nothing is told to ignore certificate errors. A page on plain HTTP, or
one whose certificate the CA did not sign, fails the walk-through (the recorder needs a secure context for
the microphone).

    python scripts/phone_walkthrough.py --base https://cadence.test:8125 --resolve cadence.test:127.0.0.1 \\
        --ca ca.crt --username dana --set-password-link https://cadence.test:8125/password/set/.../ \\
        --microphone speech.wav --out DIR

Used by scripts/deploy_smoke.sh; it prints one line per step with the seconds it took, and exits non-zero with
the reason on the first thing that does not work (screenshots of each screen in --out).
"""

import argparse
import base64
import hashlib
import hmac
import os
import secrets
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

CHROMIUM = os.environ.get("CADENCE_CHROMIUM", "/usr/bin/chromium")
ANDROID_CHROME = ("Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240805.005) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/131.0.0.0 Mobile Safari/537.36")
RECORD_S = 25.0  # longer than any task's minimum (a read passage needs its syllables / 7 s: 21 s)


class WalkthroughFailed(Exception):
    pass


def totp(secret: str, step: int) -> str:
    """RFC 6238 (SHA-1, 6 digits, 30 s), as an authenticator app computes it."""
    digest = hmac.new(base64.b32decode(secret), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 15
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


class Authenticator:
    """Codes as an authenticator app gives them: each from a time step not used yet (the server accepts a code
    once), never from a step's last 6 s (it could reach the server in the next step and be refused)."""

    def __init__(self, secret: str, last_step: int = -1):
        self.secret, self.last_step = secret, last_step

    def code(self) -> str:
        while True:
            now = time.time()
            step = int(now // 30)
            if step > self.last_step and now % 30 < 24:
                self.last_step = step
                return totp(self.secret, step)
            time.sleep(0.5)


def trusting_home(ca: Path) -> Path:
    """A HOME whose NSS database trusts ``ca`` for TLS servers (Chromium on Linux reads ~/.pki/nssdb)."""
    if shutil.which("certutil") is None:
        raise WalkthroughFailed("certutil is missing (Debian: apt-get install libnss3-tools)")
    home = Path(tempfile.mkdtemp(prefix="cadence-phone-"))
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{nssdb}", "--empty-password"], check=True, capture_output=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{nssdb}", "-n", "Cadence deployment CA", "-t", "C,,", "-i", str(ca)],
                   check=True, capture_output=True)
    return home


class Walk:
    def __init__(self, out: Path):
        self.out, self.started, self.last = out, time.monotonic(), time.monotonic()
        out.mkdir(parents=True, exist_ok=True)

    def step(self, text: str) -> None:
        now = time.monotonic()
        print(f"    phone walk-through +{now - self.started:5.1f}s ({now - self.last:4.1f}s): {text}", flush=True)
        self.last = now

    def shot(self, page, name: str) -> None:
        page.screenshot(path=str(self.out / f"walkthrough-{name}.png"), full_page=True)


def walk(args) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    base = args.base.rstrip("/")
    if not base.startswith("https://"):
        raise WalkthroughFailed(f"{base} is not HTTPS: a phone's browser gives the recorder no microphone there")
    host, _, address = args.resolve.partition(":")
    home = trusting_home(Path(args.ca))
    out = Walk(Path(args.out))
    password = "walk-" + secrets.token_urlsafe(12)
    launch_env = {**os.environ, "HOME": str(home)}
    code = f"W-{date.today():%m%d}-{os.getpid() % 1000:03d}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, env=launch_env, args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                f"--host-resolver-rules=MAP {host} {address}",
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={args.microphone}"])
            out.step("Chromium started, trusting only the deployment's CA")

            desk = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            try:
                desk.goto(args.set_password_link)
            except Exception as exc:  # a certificate the CA did not sign ends here (net::ERR_CERT_...)
                raise WalkthroughFailed(f"the set-password link did not open over HTTPS: {exc}") from exc
            desk.wait_for_selector("#id_new_password1")
            desk.fill("#id_new_password1", password)
            desk.fill("#id_new_password2", password)
            desk.get_by_role("button", name="Save the password").click()
            desk.wait_for_url("**/password/set/done/**")
            out.step("the new clinician chose a password through add_clinician's one-time link")

            desk.goto(f"{base}/login/")
            desk.get_by_label("Username").fill(args.username)
            desk.get_by_label("Password").fill(password)
            desk.get_by_role("button", name="Log in").click()
            desk.wait_for_load_state()
            if not desk.locator("#enrol-needed").is_visible():
                raise WalkthroughFailed(f"the first sign-in did not ask for a second factor (at {desk.url})")
            desk.locator("#add-totp").click()
            desk.wait_for_load_state()
            if "/accounts/reauthenticate/" in desk.url:  # allauth asks for the password again before adding a factor
                desk.get_by_role("textbox", name="Password").fill(password)
                desk.get_by_role("button", name="Confirm").click()
                desk.wait_for_load_state()
            authenticator = Authenticator(desk.locator("#authenticator_secret").input_value())
            out.shot(desk, "01-authenticator-qr")
            desk.get_by_label("Code from the app").fill(authenticator.code())
            desk.get_by_role("button", name="Turn on").click()
            desk.wait_for_load_state()
            if len(desk.locator("#recovery_codes").input_value().split()) != 10:
                raise WalkthroughFailed("no recovery codes after turning the authenticator app on")
            out.step("first sign-in: the authenticator app added (QR code), recovery codes shown")

            desk.get_by_role("button", name="Log out").click()
            desk.wait_for_load_state()
            desk.goto(f"{base}/login/")
            desk.get_by_label("Username").fill(args.username)
            desk.get_by_label("Password").fill(password)
            desk.get_by_role("button", name="Log in").click()
            desk.wait_for_url("**/accounts/2fa/authenticate/")
            desk.get_by_label("Code", exact=True).fill(authenticator.code())
            desk.get_by_role("button", name="Confirm").click()
            desk.wait_for_url(f"{base}/")
            if desk.get_by_role("heading", name="Triage").count() == 0:
                raise WalkthroughFailed("signed in, but the triage page is not shown")
            out.shot(desk, "02-triage")
            out.step("signed in again: password, then the app's code; triage shown")

            desk.get_by_role("link", name="Add patient").click()
            desk.get_by_label("Patient code").fill(code)
            desk.get_by_label("Sex").select_option("female")
            desk.get_by_label("Birth year").fill("1975")
            desk.get_by_label("Language", exact=True).fill("en-GB")
            desk.get_by_label("Time zone").fill("Europe/London")
            desk.get_by_label("Consent form version").fill("v1.0")
            desk.get_by_label("Consent given on").fill(f"{date.today():%Y-%m-%d}")
            desk.get_by_role("button", name="Add patient").click()
            desk.wait_for_url("**/patients/*/?new=1#recorder")
            patient_url = desk.url.split("?")[0]
            desk.get_by_role("button", name="Create enrolment link").click()
            link = desk.get_by_role("textbox", name="Enrolment link").input_value()
            if not link.startswith(f"{base}/r/enrol/#"):
                raise WalkthroughFailed(f"the enrolment link {link!r} does not point at {base}")
            out.shot(desk, "03-enrolment-link")
            out.step(f"patient {code} added on the dashboard; enrolment link (QR code) created")

            phone_context = browser.new_context(viewport={"width": 360, "height": 640}, device_scale_factor=2,
                                                is_mobile=True, has_touch=True, user_agent=ANDROID_CHROME)
            phone_context.grant_permissions(["microphone"], origin=base)
            phone = phone_context.new_page()
            errors: list[str] = []
            phone.on("pageerror", lambda exc: errors.append(str(exc)))
            phone.goto(link)
            phone.wait_for_url("**/r/")
            phone.locator("#start:enabled").wait_for()
            if not phone.evaluate("window.isSecureContext"):
                raise WalkthroughFailed("the recorder is not a secure context: no microphone on a phone")
            task = phone.locator("#task-name").inner_text()
            out.shot(phone, "04-phone-ready")
            out.step(f"phone enrolled through the link; today's task: {task!r}")

            phone.get_by_role("button", name="Start recording").click()
            phone.wait_for_timeout(RECORD_S * 1000)
            phone.get_by_role("button", name="Stop recording").click()
            phone.wait_for_selector("#check:not([hidden])")
            if phone.get_by_role("button", name="Send", exact=True).is_hidden():
                raise WalkthroughFailed(f"the on-device check refused the take: {phone.locator('#check').inner_text()}")
            phone.get_by_role("button", name="Send", exact=True).click()
            out.step(f"recorded {RECORD_S:.0f} s on the phone, checked on the device, sent")
            try:
                phone.wait_for_selector("#takes li[data-state='processed']", timeout=args.timeout * 1000)
            except PlaywrightTimeout as exc:
                states = phone.locator("#takes li").all_inner_texts()
                raise WalkthroughFailed(f"the take was not processed within {args.timeout} s: {states}") from exc
            out.shot(phone, "05-phone-processed")
            out.step("the phone shows the take received and processed by a worker")

            desk.goto(patient_url)
            if desk.locator("table.recordings .status-done").count() != 1:
                raise WalkthroughFailed("the patient's page does not list the recording as done")
            out.shot(desk, "06-patient-page")
            desk.goto(f"{base}/")
            row = desk.locator("table.triage tr").filter(has_text=code)
            if row.count() != 1 or "today" not in row.inner_text():
                raise WalkthroughFailed(f"{code} is not in triage with a recording today")
            out.shot(desk, "07-triage-with-patient")
            out.step(f"the clinician finds the recording on {code}'s page and {code} in triage")
            if errors:
                raise WalkthroughFailed(f"the recorder page raised script errors: {errors}")
            browser.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"    phone walk-through: done in {time.monotonic() - out.started:.0f} s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the deployment's HTTPS address, e.g. https://cadence.test:8125")
    parser.add_argument("--resolve", required=True, help="HOST:ADDRESS, the DNS answer the browser should use")
    parser.add_argument("--ca", required=True, help="the certificate authority the phone trusts (PEM)")
    parser.add_argument("--username", required=True, help="the clinician add_clinician created")
    parser.add_argument("--set-password-link", required=True, help="the one-time link add_clinician printed")
    parser.add_argument("--microphone", required=True, help="a WAV file the fake microphone plays")
    parser.add_argument("--out", required=True, help="a folder for the screenshots")
    parser.add_argument("--timeout", type=float, default=240, help="seconds a take may take to be processed")
    args = parser.parse_args()
    try:
        walk(args)
    except WalkthroughFailed as exc:
        print(f"    phone walk-through FAILED: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
