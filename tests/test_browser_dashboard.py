"""The pictures in Debian's Chromium: the dashboard's expiry timeline and a connection's run strip.

A sysadmin sees one mark per token due within 90 days (expired ones at the left edge), follows a
mark to its connection, sees the strip of recent runs there and follows a bar to its run, and
watches the "Checklist queued" flash go once a run ends. Saves the README's desktop screenshots
of the list and a connection.
"""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from connections.forms import AcknowledgeForm
from connections.models import ChecklistRun, Notice, RunState, Trigger
from tests.browser_support import DESKTOP, png_size, screenshot, sign_in

pytestmark = pytest.mark.browser




def days(n):
    return timezone.localdate() + dt.timedelta(days=n)


@pytest.fixture
def dashboard(make_connection, simulator, sysadmin):
    """Six connections spread over the next 90 days, one expired, one far off; runs on two."""
    healthy = {"token": "good-token", "base_url": simulator.site_url("healthy"), "token_user": "integration"}
    zapier = make_connection("Zapier", expires_on=days(160), **healthy)
    make_connection("Helpdesk EMEA", expires_on=days(5), **healthy)
    make_connection("Reporting", expires_on=days(21), **healthy)
    make_connection("Intranet", expires_on=days(-4), **healthy)
    make_connection("Billing", expires_on=days(60), **healthy)
    soon = make_connection("Onboarding sandbox", expires_on=days(2), **healthy)
    broken = make_connection("Old site", token="good-token", base_url=simulator.site_url("api-disabled"),
                             expires_on=days(75))
    history = ["pass"] * 9 + ["fail", "fail", "warn"] + ["pass"] * 12  # a bad afternoon, weeks ago
    for i, overall in enumerate(history):
        run = ChecklistRun.objects.create(connection=zapier, trigger=Trigger.SCHEDULE,
                                          state=RunState.FINISHED,
                                          overall=overall, token_fingerprint=zapier.token_fingerprint)
        ChecklistRun.objects.filter(pk=run.pk).update(
            created_at=timezone.now() - dt.timedelta(hours=12 * (len(history) - i)))
    for connection in (zapier, zapier, broken, zapier):
        ChecklistRun.check_now(connection)
    notice = Notice.objects.create(connection=soon, token_fingerprint=soon.token_fingerprint,
                                   kind="expiring", threshold=3, channel="email", sent_at=timezone.now(),
                                   summary="The token for “Onboarding sandbox” expires in 2 days.")
    form = AcknowledgeForm({"planned_on": days(1).isoformat()})
    assert form.is_valid()
    form.acknowledge(notice, by=sysadmin)
    return {"zapier": zapier, "broken": broken}


def test_the_timeline_shows_each_token_due_soon_and_leads_to_it(page, dashboard, sysadmin):
    sign_in(page, "sam", "pw-sam")
    timeline = page.locator("#expiry-timeline")
    expect(timeline.get_by_role("heading", name="Expiring in the next 90 days")).to_be_visible()
    marks = timeline.locator("a.tl-mark")
    expect(marks).to_have_count(6)  # not Zapier (160 days)
    statuses = dict(zip(marks.evaluate_all("ms => ms.map(m => m.dataset.connection)"),
                        marks.evaluate_all("ms => ms.map(m => m.dataset.status)"), strict=True))
    assert statuses == {"Intranet": "fail", "Onboarding sandbox": "fail", "Helpdesk EMEA": "warn",
                        "Reporting": "warn", "Billing": "pass", "Old site": "pass"}
    today = timeline.locator(".tl-today").bounding_box()
    expired = timeline.locator("a.tl-mark[data-connection='Intranet'] circle").bounding_box()
    soonest = timeline.locator("a.tl-mark[data-connection='Onboarding sandbox'] circle").bounding_box()
    assert expired["x"] + expired["width"] <= today["x"] < soonest["x"]  # expired: left of today
    expect(page.locator("tr[data-label='Onboarding sandbox']")).to_contain_text(
        f"rotation planned for {days(1):%Y-%m-%d} by sam")
    path = screenshot(page, "connection-list")
    assert png_size(path) == (DESKTOP["width"], DESKTOP["height"])

    timeline.locator("a.tl-mark[data-connection='Reporting']").click()
    expect(page.get_by_role("heading", name="Reporting")).to_be_visible()


def test_the_run_strip_shows_recent_results_and_leads_to_each_run(page, dashboard):
    zapier = dashboard["zapier"]
    sign_in(page, "sam", "pw-sam")
    page.goto(zapier.get_absolute_url())
    bars = page.locator("#run-strip a.bar")
    expect(bars).to_have_count(27)
    results = bars.evaluate_all("bs => bs.map(b => b.dataset.result)")
    assert results == ["pass"] * 9 + ["fail", "fail", "warn"] + ["pass"] * 15
    expect(page.locator("#run-steps [data-overall]")).to_have_attribute("data-overall", "pass")
    screenshot(page, "connection-detail")

    oldest = zapier.runs.order_by("created_at").first()
    bars.first.click()
    expect(page.get_by_role("heading", name="Setup checklist")).to_be_visible()
    assert page.url.endswith(reverse("connections:run", args=[zapier.public_id, oldest.public_id]))

    page.goto(dashboard["broken"].get_absolute_url())
    expect(page.locator("#run-strip a.bar.fail")).to_have_count(1)


def test_the_queued_flash_goes_away_when_the_run_ends(page, make_connection, simulator, sysadmin,
                                                       queue_without_worker):
    zapier = make_connection("Zapier", token="good-token", base_url=simulator.site_url("healthy"),
                             token_user="integration", expires_on=days(160))
    sign_in(page, "sam", "pw-sam")
    page.goto(zapier.get_absolute_url())
    page.get_by_role("button", name="Run checklist").click()
    flash = page.locator("#flash-run-queued")
    expect(flash).to_contain_text("Checklist queued")
    expect(page.locator("#run-steps .badge.running")).to_have_text("Queued")

    ChecklistRun.objects.get(connection=zapier).execute()  # what a worker would do
    expect(page.locator("#run-steps [data-overall]")).to_have_attribute("data-overall", "pass")
    expect(flash).to_have_count(0)  # removed by the last poll, without reloading the page
