"""Save & test, Check all and forms that keep the pasted token, driven in Debian's Chromium.

A sysadmin adds a connection, trips a validation error (the token stays in its input, and no
response ever carries it), then saves and tests in one click and lands on the live run; checks
a filtered list as one batch and watches the progress bar fill in as a worker (here: the test)
finishes the runs; a rotation with a past date keeps the token for the second try. Saves the
README's screenshots of these pages.
"""

import contextlib
import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from connections import secrets
from connections.models import CheckBatch, ChecklistRun, Connection
from tests.browser_support import DESKTOP, SCREENSHOTS, png_size, screenshot, sign_in

pytestmark = pytest.mark.browser

GOOD_TOKEN = "good-token"  # valid on every simulated site but revoked-token
IN_HALF_A_YEAR = timezone.localdate() + dt.timedelta(days=180)


def expect_screenshot(page, name: str) -> None:
    assert png_size(screenshot(page, name)) == (DESKTOP["width"], DESKTOP["height"])


def record_bodies(page) -> list[str]:
    """Every HTML/text response the page receives (full loads and htmx swaps)."""
    bodies = []

    def keep(response):
        if "text" in (response.headers.get("content-type") or ""):
            with contextlib.suppress(Exception):  # a redirect has no body to read
                bodies.append(response.text())

    page.on("response", keep)
    return bodies


def test_a_validation_error_keeps_the_token_and_save_and_test_opens_the_live_run(
        page, sysadmin, simulator):
    bodies = record_bodies(page)
    sign_in(page, "sam", "pw-sam")
    page.get_by_role("button", name="Add connection").click()
    page.get_by_label("Connection Label").fill("Zapier")
    page.get_by_label("Base URL").fill(simulator.site_url("healthy"))
    page.get_by_label("API Token").fill(GOOD_TOKEN)
    page.get_by_label("Token Name").fill("Zapier")
    page.get_by_label("Expiration Date").fill(IN_HALF_A_YEAR.isoformat())
    page.get_by_label("Token User").fill("integration")
    page.get_by_label("Notify").fill("not-an-address")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator("#id_notify_errors")).to_contain_text("is not an e-mail address")
    expect(page.get_by_label("API Token")).to_have_value(GOOD_TOKEN)  # still there, not re-typed
    expect(page.get_by_label("Connection Label")).to_have_value("Zapier")
    page.locator("#id_notify_errors").scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)  # the whole form: the kept token and the error
    page.screenshot(path=str(SCREENSHOTS / "add-validation-keeps-token.png"), full_page=True)
    assert not Connection.objects.exists()

    page.get_by_label("Notify").fill("ops@example.com")
    page.get_by_role("button", name="Save & test").click()
    expect(page.get_by_role("heading", name="Setup checklist")).to_be_visible()
    expect(page.locator("#run-steps [data-overall]")).to_have_attribute("data-overall", "pass")
    expect(page.get_by_text("Connection “Zapier” saved.")).to_be_visible()
    expect_screenshot(page, "save-and-test")

    connection = Connection.objects.get()
    assert connection.reveal_token() == GOOD_TOKEN and connection.recipients == ["ops@example.com"]
    assert ChecklistRun.objects.get().started_by == sysadmin
    assert bodies and not [b for b in bodies if GOOD_TOKEN in b]  # never rendered back


def test_save_and_test_on_edit(page, sysadmin, make_connection, simulator):
    zapier = make_connection("Zapier", token=GOOD_TOKEN, base_url=simulator.site_url("healthy"),
                             token_user="integration", expires_on=IN_HALF_A_YEAR)
    sign_in(page, "sam", "pw-sam")
    page.goto(zapier.get_absolute_url())
    page.get_by_role("button", name="Edit").click()
    page.get_by_label("Token Name").fill("Zapier")
    page.get_by_role("button", name="Save & test").click()
    expect(page.locator("#run-steps [data-overall]")).to_have_attribute("data-overall", "pass")
    expect(page.locator("#step-label_matches_token_name")).to_contain_text("pass")


def test_check_all_on_a_filtered_list_fills_a_progress_bar(page, sysadmin, make_connection, simulator,
                                                          queue_without_worker):
    for site in ("healthy", "group-admin", "revoked-token"):
        make_connection(site, token=GOOD_TOKEN, base_url=simulator.site_url(site),
                        token_user="integration", expires_on=timezone.localdate() + dt.timedelta(days=10))
    make_connection("Later", token=GOOD_TOKEN, base_url=simulator.site_url("healthy"),
                    expires_on=IN_HALF_A_YEAR)
    sign_in(page, "sam", "pw-sam")
    page.goto("/?expiring=30")
    page.get_by_role("button", name="Check these 3").click()

    progress = page.locator("#batch-progress")
    expect(progress).to_have_attribute("data-done", "0")
    expect(page.locator("#batch-count")).to_have_text("0 / 3")
    batch = CheckBatch.objects.get()
    runs = list(batch.runs.select_related("connection").order_by("connection__label"))
    assert [r.connection.label for r in runs] == ["group-admin", "healthy", "revoked-token"]

    runs[2].execute()  # what a worker does: the failing one first
    expect(page.locator("#batch-count")).to_have_text("1 / 3")
    expect(page.locator("#batch-failed")).to_have_text("1 failed so far")
    expect(page.locator("#batch-failures")).to_contain_text("revoked-token")
    assert page.locator("progress").get_attribute("value") == "1"
    expect_screenshot(page, "check-all-progress")

    for run in runs[:2]:
        run.execute()
    expect(page.locator("#batch-finished")).to_be_visible()
    expect(page.locator("#batch-count")).to_have_text("3 / 3")
    expect(progress).not_to_have_attribute("hx-trigger", "every 1s")  # polling stopped
    batch.refresh_from_db()
    assert (batch.done, batch.failed) == (3, 1) and batch.finished_at


def test_a_rotation_refused_for_its_date_keeps_the_token_for_the_second_try(
        page, sysadmin, make_connection, simulator):
    new_token = "browser-kept-token-2468"
    simulator.add_token("healthy", new_token, user_iid=17)
    zapier = make_connection("Zapier", token=GOOD_TOKEN, base_url=simulator.site_url("healthy"),
                             token_user="integration", expires_on=IN_HALF_A_YEAR)
    bodies = record_bodies(page)
    sign_in(page, "sam", "pw-sam")
    page.goto(zapier.get_absolute_url())
    page.get_by_role("button", name="Rotate token").click()
    page.get_by_label("New API Token").fill(new_token)
    page.get_by_label("Token Name").fill("Zapier")
    page.get_by_label("Expiration Date").fill("2001-01-01")
    page.get_by_role("button", name="Check and rotate").click()
    expect(page.locator("#id_expires_on_errors")).to_contain_text("That date has passed")
    expect(page.get_by_label("New API Token")).to_have_value(new_token)

    page.get_by_label("Expiration Date").fill(IN_HALF_A_YEAR.isoformat())
    page.get_by_role("button", name="Check and rotate").click()
    old, new = secrets.fingerprint(GOOD_TOKEN), secrets.fingerprint(new_token)
    expect(page.get_by_text(f"Token rotated: {old} → {new}.")).to_be_visible()
    assert not [b for b in bodies if new_token in b]
