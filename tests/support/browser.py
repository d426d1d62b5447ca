"""Headless Chromium for the browser tests (Debian's /usr/bin/chromium, or CADENCE_CHROMIUM), driven by Playwright."""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from tests.conftest import require_service

CHROMIUM = os.environ.get("CADENCE_CHROMIUM", "/usr/bin/chromium")


@contextmanager
def chromium(*extra_args: str) -> Iterator:
    """A launched headless Chromium (with ``extra_args``); fails, or skips outside CI, where there is none."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        require_service("playwright", False, str(exc))
    require_service("Chromium", bool(shutil.which(CHROMIUM)), f"{CHROMIUM} not found (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls made by the
    # test itself between browser steps are still plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", *extra_args])
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
