"""On a phone (390 × 844 in Debian's Chromium) no page scrolls sideways and nothing is cut off.

Every main page is opened with realistic content (failing steps with their fixes, notices, a
token history, an audit trail); the test asserts the page is no wider than the screen, that no
box scrolls sideways inside it (a table in a scroller would hide the cause and the fix), and saves
a screenshot of each to test-artifacts/screenshots/phone-*.png.
"""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from connections.models import Channel, ChecklistRun, Notice, NoticeKind
from tests.browser_support import PHONE, SCREENSHOTS, screenshot, sign_in

pytestmark = pytest.mark.browser

# Boxes wider than the screen, and boxes that scroll sideways inside, as "tag#id.class: width".
OVERFLOWS = """() => {
  const width = document.documentElement.clientWidth, found = [];
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
                    (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ')[0] : '');
  // Screen-reader-only text sits in a 1-px clipped box: not on screen, so not too wide.
  const unseen = e => { for (let a = e; a; a = a.parentElement) {
    if (a.getBoundingClientRect().width <= 1 && getComputedStyle(a).overflow === 'hidden') return true; }
    return false; };
  const page = document.documentElement.scrollWidth;
  if (page > width) found.push('page: ' + page);
  for (const e of document.querySelectorAll('body *')) {
    const style = getComputedStyle(e);
    if (style.display === 'none' || style.visibility === 'hidden' || unseen(e)) continue;
    const box = e.getBoundingClientRect();
    if (box.width && box.right > width + 0.5) found.push(name(e) + ' ends at ' + Math.round(box.right));
    if (['auto', 'scroll', 'hidden'].includes(style.overflowX) && e.scrollWidth > e.clientWidth + 1
        && e.tagName !== 'svg' && !['INPUT', 'SELECT', 'TEXTAREA'].includes(e.tagName))
      found.push(name(e) + ' scrolls sideways: ' + e.scrollWidth + ' > ' + e.clientWidth);
  }
  return found;
}"""


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(viewport=PHONE, base_url=live_server.url, is_mobile=True,
                                  has_touch=True, device_scale_factor=1)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def busy_site(make_connection, simulator, sysadmin, viewer, onboarding_clerk):
    """A realistic install: a long-labelled connection with a failing run, notices, rotations."""
    today = timezone.localdate()
    main = make_connection("Zapier production helpdesk (EMEA)", token="good-token",
                           base_url=simulator.site_url("healthy"), token_user="integration",
                           token_name="Zapier production helpdesk (EMEA) 2026",
                           expires_on=today + dt.timedelta(days=5),
                           recipients=["sam@example.com", "helpdesk-operations-team@example.com"])
    simulator.add_token("healthy", "phone-rotated-token", user_iid=17)
    main.rotate_token("phone-rotated-token", token_name=main.token_name,
                      expires_on=main.expires_on, by=sysadmin, accept_warnings=True)
    for _ in range(3):
        ChecklistRun.check_now(main)
    Notice.objects.create(connection=main, token_fingerprint=main.token_fingerprint, kind=NoticeKind.EXPIRING,
                          threshold=7, channel=Channel.EMAIL, recipients=main.recipients,
                          sent_at=timezone.now(),
                          summary="The API token for “Zapier production helpdesk (EMEA)” expires in 5 days.")
    broken = make_connection("Old intranet", token="good-token", base_url=simulator.site_url("api-disabled"),
                             expires_on=today - dt.timedelta(days=2))
    failing = ChecklistRun.check_now(broken)
    make_connection("Reporting", expires_on=today + dt.timedelta(days=40))
    return {"main": main, "broken": broken, "failing_run": failing}


def test_no_main_page_scrolls_sideways_on_a_phone(phone, busy_site, sysadmin):
    main, broken, run = busy_site["main"], busy_site["broken"], busy_site["failing_run"]
    assert _check(phone, "login", reverse("login")) == []

    sign_in(phone, "sam", "pw-sam")
    pages = {
        "list": reverse("connections:list"),
        "connection-detail": main.get_absolute_url(),
        "connection-failing": broken.get_absolute_url(),
        "run": reverse("connections:run", args=[broken.public_id, run.public_id]),
        "rotate": reverse("connections:rotate", args=[main.public_id]),
        "onboarding": reverse("connections:onboarding", args=[main.public_id]),
        "audit": reverse("connections:audit"),
        "roles": reverse("roles"),
        "history": reverse("connections:history", args=[main.public_id]),
        "add": reverse("connections:add"),
    }
    problems = {name: _check(phone, name, url) for name, url in pages.items()}

    phone.goto(pages["rotate"])  # a refused rotation: the failing steps' table
    phone.get_by_label("New API Token").fill("not-a-real-token")
    phone.get_by_role("button", name="Check and rotate").click()
    expect(phone.locator("#rotation-refused")).to_be_visible()
    problems["rotate-refused"] = phone.evaluate(OVERFLOWS)
    problems = {name: found for name, found in problems.items() if found}
    assert problems == {}, "\n".join(f"{n}: {f[:6]}" for n, f in problems.items())


def test_the_cause_and_the_fix_of_every_failing_step_are_readable_on_a_phone(phone, busy_site):
    broken, run = busy_site["broken"], busy_site["failing_run"]
    sign_in(phone, "sam", "pw-sam")
    phone.goto(reverse("connections:run", args=[broken.public_id, run.public_id]))
    failing = phone.locator("#run-steps tr[data-status='fail']")
    expect(failing.first).to_be_visible()
    assert failing.count() >= 1
    for i in range(failing.count()):
        step = failing.nth(i)
        step.scroll_into_view_if_needed()
        fix = step.get_by_text("How to fix:")
        expect(fix).to_be_visible()
        box = step.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
        cause = step.locator("td").last
        cause_box = cause.bounding_box()
        assert cause_box["x"] + cause_box["width"] <= PHONE["width"]
        assert cause_box["width"] >= PHONE["width"] * 0.6, "the details take the card's width"
    failing.first.evaluate("row => row.scrollIntoView()")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(SCREENSHOTS / "phone-run-fix.png"))  # scrolled to the first failure


def _check(page, name, url) -> list[str]:
    """Open the page, save its screenshot, and list what is too wide on it."""
    response = page.goto(url)
    assert response.status == 200, (name, response.status)
    page.wait_for_load_state("networkidle")
    screenshot(page, f"phone-{name}")
    return page.evaluate(OVERFLOWS)
