"""Helpers for the browser tests: launching Debian's Chromium, signing in, screenshots.

Chromium is always the system one (``/usr/bin/chromium``): never a browser Playwright downloads.
Screenshots go to ``test-artifacts/screenshots/`` (git-ignored) for the README.
"""

import contextlib
import os
import struct
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"


@contextlib.contextmanager
def chromium() -> Iterator:
    """A headless Debian Chromium driven by Playwright's sync API, closed afterwards.

    Playwright's sync API keeps an asyncio loop running in this thread, so Django's ORM would
    refuse to run here ("cannot call this from an async context"); the tests are synchronous,
    so allow it while the browser is open, and only then.
    """
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def sign_in(page, username: str, password: str) -> None:
    """Open the site signed out, land on the sign-in page and sign in with the form."""
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def screenshot(page, name: str) -> Path:
    """Save the top of the page (one viewport) as test-artifacts/screenshots/NAME.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.evaluate("window.scrollTo(0, 0)")  # after a redirect to an #anchor, too
    page.screenshot(path=str(path))
    return path


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) read from a PNG file's IHDR chunk."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])
