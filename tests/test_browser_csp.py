"""The pages work under the Content-Security-Policy in Debian's Chromium: no violation reported,
and htmx still swaps content (the permission planner updates as boxes are ticked)."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from connections.models import ChecklistRun
from tests.browser_support import sign_in

pytestmark = pytest.mark.browser

# Chromium reports every blocked script, style or resource on the console and as an event.
WATCH = """() => {
  window.__csp = [];
  document.addEventListener('securitypolicyviolation',
    e => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
}"""


def _violations(page, console) -> list[str]:
    return [m for m in console if "Content Security Policy" in m] + page.evaluate("window.__csp || []")


def test_the_main_pages_load_without_a_csp_violation_and_htmx_works(page, sysadmin, make_connection,
                                                                    simulator):
    zapier = make_connection(token="good-token", base_url=simulator.site_url("healthy"),
                             token_user="integration")
    run = ChecklistRun.check_now(zapier)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(f"({WATCH})()")

    response = page.goto("/accounts/login/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    sign_in(page, "sam", "pw-sam")
    ids = [zapier.public_id]
    for url in [reverse("connections:list"), reverse("connections:detail", args=ids),
                reverse("connections:run", args=[zapier.public_id, run.public_id]),
                reverse("connections:history", args=ids), reverse("connections:onboarding", args=ids),
                reverse("connections:rotate", args=ids), reverse("connections:edit", args=ids),
                reverse("connections:add"), reverse("connections:audit"), reverse("roles"),
                reverse("connections:permissions"), reverse("admin:index")]:
        page.goto(url)
        page.wait_for_load_state("load")
        assert _violations(page, console) == [], url

    # htmx under the policy: ticking a box fetches and swaps in the repaired plan.
    page.goto(reverse("connections:permissions"))
    page.locator("input[value=CanBeAssignedIssues]").check()
    expect(page.locator("#plan")).to_contain_text("added")
    assert "permission=CanBeAssignedIssues" in page.url
    # htmx polling on a running checklist swaps the steps in as they finish.
    page.goto(reverse("connections:detail", args=ids))
    page.get_by_role("button", name="Run checklist").click()
    expect(page.locator("#run-steps")).to_contain_text("pass")
    assert _violations(page, console) == []
    # Sign-in page styles come from app.css, not an inline attribute.
    page.goto(reverse("connections:list"))
    assert page.locator("header form").evaluate("f => getComputedStyle(f).marginTop") == "0px"
