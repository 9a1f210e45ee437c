"""Debian's Chromium drives the real app against the Issuetrak simulator's ``healthy`` site.

A sysadmin signs in, adds a connection and watches its checklist turn green; rotation refuses a
bad token (nothing changes, the page says which step failed) and swaps in a good one (the
fingerprint changes, the history shows both); onboarding staff complete the onboarding
checklist and are refused the rotate page. The tests save screenshots of the main pages to
test-artifacts/screenshots/ for the README.
"""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from connections import secrets
from connections.models import (
    AuditEvent,
    ChecklistRun,
    Connection,
    OnboardingConfirmation,
    TokenHistory,
)
from tests.browser_support import DESKTOP, PHONE, png_size, screenshot, sign_in

pytestmark = pytest.mark.browser

GOOD_TOKEN = "good-token"  # valid on every simulated site but revoked-token; its user is integration
STEP_COUNT = 11  # the setup checklist's steps (README)
IN_HALF_A_YEAR = timezone.localdate() + dt.timedelta(days=180)  # beyond every expiry threshold




@pytest.fixture
def zapier(make_connection, simulator):
    """A connection to the healthy site whose token (good-token) passes every step."""
    return make_connection("Zapier", token=GOOD_TOKEN, base_url=simulator.site_url("healthy"),
                           token_user="integration", expires_on=IN_HALF_A_YEAR)


def fingerprint_shown(page) -> str:
    """The current token's fingerprint on a connection page."""
    return page.locator("dt#token + dd .fingerprint").inner_text().strip()


def expect_screenshot(page, name: str, size=DESKTOP) -> None:
    path = screenshot(page, name)
    assert png_size(path) == (size["width"], size["height"])


def test_a_sysadmin_adds_a_connection_and_watches_the_checklist_turn_green(page, sysadmin, simulator):
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect_screenshot(page, "login")
    sign_in(page, "sam", "pw-sam")
    expect(page.get_by_text("No connections yet")).to_be_visible()

    page.get_by_role("button", name="Add connection").click()
    page.get_by_label("Connection Label").fill("Zapier")
    page.get_by_label("Base URL").fill(simulator.site_url("healthy") + "/api/v2/")  # tail trimmed
    page.get_by_label("API Token").fill(GOOD_TOKEN)
    page.get_by_label("Token Name").fill("Zapier")
    page.get_by_label("Expiration Date").fill(IN_HALF_A_YEAR.isoformat())
    page.get_by_label("Token User").fill("integration")
    page.get_by_label("Self-hosted").check()
    expect(page.get_by_label("Notify")).to_have_value("sam@example.com")  # defaults to the signed-in user
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_text("Connection “Zapier” saved.")).to_be_visible()
    expect(page.get_by_role("heading", name="Zapier")).to_be_visible()
    assert fingerprint_shown(page) == secrets.fingerprint(GOOD_TOKEN)
    assert GOOD_TOKEN not in page.content()
    expect(page.get_by_text("The checklist has not run yet")).to_be_visible()
    connection = Connection.objects.get()
    assert connection.reveal_token() == GOOD_TOKEN
    assert connection.base_url == simulator.site_url("healthy")

    page.get_by_role("button", name="Run checklist").click()
    expect(page.get_by_role("heading", name="Setup checklist")).to_be_visible()
    overall = page.locator("#run-steps [data-overall]")
    expect(overall).to_have_attribute("data-overall", "pass")
    steps = page.locator("#run-steps tr[id^='step-']")
    expect(steps).to_have_count(STEP_COUNT)
    assert set(steps.evaluate_all("rows => rows.map(r => r.dataset.status)")) == {"pass"}
    expect(page.locator("#step-token_admin")).to_contain_text("pass")
    expect_screenshot(page, "run")

    page.get_by_role("link", name="← Zapier").click()
    expect(page.locator("#run-steps [data-overall]")).to_have_attribute("data-overall", "pass")
    expect_screenshot(page, "connection-detail")

    page.get_by_role("link", name="Connections", exact=True).click()
    row = page.locator("tr[data-label='Zapier']")
    expect(row.locator(".badge.pass").first).to_be_visible()
    expect(row.locator(".fingerprint")).to_have_text(secrets.fingerprint(GOOD_TOKEN))
    expect_screenshot(page, "connection-list")
    page.set_viewport_size(PHONE)
    expect(page.get_by_role("columnheader", name="Base URL")).to_be_hidden()  # .hide-sm on phones
    expect(row.get_by_role("link", name="Zapier")).to_be_visible()
    expect_screenshot(page, "connection-list-phone", PHONE)

    run = ChecklistRun.objects.get()
    assert (run.state, run.overall, run.started_by) == ("finished", "pass", sysadmin)
    assert {step["status"] for step in run.steps} == {"pass"}
    connection.refresh_from_db()
    assert connection.last_overall == "pass"


def test_rotation_refuses_a_bad_token_and_swaps_in_a_good_one(page, sysadmin, zapier, simulator):
    new_token = "browser-rotated-token-5678"
    simulator.add_token("healthy", new_token, user_iid=17)
    old, new = secrets.fingerprint(GOOD_TOKEN), secrets.fingerprint(new_token)
    sign_in(page, "sam", "pw-sam")
    page.goto(zapier.get_absolute_url())
    page.get_by_role("button", name="Rotate token").click()
    expect(page.get_by_role("heading", name="Rotate the API token")).to_be_visible()

    def check_and_rotate(token):
        page.get_by_label("New API Token").fill(token)
        page.get_by_label("Token Name").fill("Zapier")
        page.get_by_label("Expiration Date").fill(IN_HALF_A_YEAR.isoformat())
        page.get_by_role("button", name="Check and rotate").click()

    check_and_rotate("not-a-real-token")
    refused = page.locator("#rotation-refused")
    expect(refused).to_contain_text("The new token was not saved: API token is accepted")
    expect(refused).to_contain_text("wrong or revoked")
    expect(page.locator("tr[data-status='fail']")).to_contain_text("API token is accepted")
    expect(page.get_by_text("Current token")).to_contain_text(old)
    # kept in the browser for a second try (hx-preserve), never sent back by the server:
    expect(page.get_by_label("New API Token")).to_have_value("not-a-real-token")
    assert "not-a-real-token" not in page.content()
    expect_screenshot(page, "rotate-refused")
    zapier.refresh_from_db()
    assert zapier.reveal_token() == GOOD_TOKEN and zapier.token_fingerprint == old
    assert not TokenHistory.objects.exists()

    check_and_rotate(new_token)
    expect(page.get_by_text(f"Token rotated: {old} → {new}.")).to_be_visible()
    assert fingerprint_shown(page) == new
    page.get_by_role("button", name="Rotate token").click()
    history = page.locator("table").filter(has=page.get_by_role("columnheader", name="Retired"))
    rows = history.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(f"{new} current")
    expect(rows.nth(1)).to_contain_text(old)
    expect(rows.nth(1)).to_contain_text("by sam")

    zapier.refresh_from_db()
    assert zapier.reveal_token() == new_token and zapier.token_fingerprint == new
    retired = TokenHistory.objects.get()
    assert (retired.token_fingerprint, retired.retired_by) == (old, sysadmin)
    assert ChecklistRun.objects.get(trigger="rotation").overall == "pass"


def test_onboarding_staff_complete_the_onboarding_checklist_but_may_not_rotate(
    page, onboarding_clerk, sysadmin, zapier, simulator
):
    simulator.add_token("healthy", "onboarding-new-token", user_iid=17)
    zapier.rotate_token("onboarding-new-token", token_name="Zapier", expires_on=IN_HALF_A_YEAR,
                        by=sysadmin)  # leaves an old token to be confirmed revoked
    sign_in(page, "olive", "pw-olive")
    page.goto(zapier.get_absolute_url())
    expect(page.get_by_role("heading", name="Zapier")).to_be_visible()
    expect(page.get_by_role("button", name="Rotate token")).to_have_count(0)

    page.get_by_role("link", name="Onboarding steps").click()
    progress = page.locator("progress#onboarding-progress")
    total = progress.get_attribute("max")
    expect(progress).to_have_attribute("value", str(int(total) - 2))  # the two a person confirms
    page.get_by_role("button", name="Run checklist").click()
    expect(page.locator("#run-steps [data-overall]")).to_have_attribute("data-overall", "pass")
    page.goto(reverse("connections:onboarding", args=[zapier.public_id]))

    version = page.locator("#onboarding-version")
    expect(version).to_have_attribute("data-done", "false")
    version.get_by_label("Issuetrak version").fill("17.3.1")
    version.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("Step confirmed.")).to_be_visible()
    expect(version).to_have_attribute("data-done", "true")
    expect(version).to_contain_text("Confirmed by olive")

    revoked = page.locator("#onboarding-old_token_revoked")
    expect(revoked).to_contain_text(f"Old token {secrets.fingerprint(GOOD_TOKEN)}")
    revoked.get_by_label("I revoked the old token in Issuetrak").check()
    revoked.get_by_role("button", name="Confirm").click()
    expect(revoked).to_have_attribute("data-done", "true")

    expect(progress).to_have_attribute("value", total)
    expect(page.get_by_text(f"{total} of {total} steps done")).to_be_visible()
    steps = page.locator("article[id^='onboarding-']")
    expect(steps).to_have_count(int(total))
    assert set(steps.evaluate_all("els => els.map(e => e.dataset.done)")) == {"true"}
    expect_screenshot(page, "onboarding")

    response = page.goto(reverse("connections:rotate", args=[zapier.public_id]))
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()

    zapier.refresh_from_db()
    assert zapier.issuetrak_version == "17.3.1"
    assert zapier.reveal_token() == "onboarding-new-token"  # untouched by onboarding staff
    assert {c.step: c.confirmed_by for c in OnboardingConfirmation.objects.all()} == {
        "version": onboarding_clerk, "old_token_revoked": onboarding_clerk}
    assert TokenHistory.objects.get().revoked_confirmed_by == onboarding_clerk
    confirmed = AuditEvent.objects.filter(action="onboarding_confirmed", actor=onboarding_clerk)
    assert sorted(e.summary for e in confirmed) == [
        "Confirmed “Check the Issuetrak version”: 17.3.1", "Confirmed “Revoke the old token”: revoked"]
