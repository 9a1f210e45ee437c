"""The permission planner page: every role reads it; ticking boxes shows Zapier's repair."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser_support import CHROMIUM, DESKTOP, chromium, screenshot, sign_in
from tests.conftest import require_service

URL = reverse("connections:permissions")


def test_it_lists_all_sixty_permissions_by_section_as_checkboxes(client, viewer):
    client.force_login(viewer)

    page = client.get(URL).content.decode()

    assert page.count('type="checkbox" name="permission"') == 60
    assert "<strong>Administration</strong>" in page and "<strong>Asset Management</strong>" in page
    assert "Can access and maintain Administration functions" in page
    assert "Can view calendar <span class=\"muted\">(derived)</span>" in page
    assert "Nothing chosen yet." in page


def test_without_javascript_the_form_shows_the_plan_and_keeps_the_boxes(client, onboarding_clerk):
    client.force_login(onboarding_clerk)

    page = client.get(URL, {"permission": ["IsReadOnlyAdmin", "IsAdmin"]}).content.decode()

    assert "removed</span> <code>IsReadOnlyAdmin</code>" in page
    assert "higher of the two is kept" in page
    assert 'value="IsReadOnlyAdmin" checked' in page and 'value="IsAdmin" checked' in page


def test_htmx_gets_only_the_plan_partial(client, viewer):
    client.force_login(viewer)

    response = client.get(URL, {"permission": "CanBeAssignedIssues"}, headers={"HX-Request": "true"})

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and 'type="checkbox"' not in body
    assert "added</span> <code>CanViewAssignmentInformationInIssuesAndEmailNotifications</code>" in body


def test_an_unknown_value_is_named_and_ignored(client, viewer):
    client.force_login(viewer)

    body = client.get(URL, {"permission": ["CanUseApiV2", "DropTables"]}).content.decode()

    assert "Not Issuetrak permissions (ignored): DropTables." in body
    assert "valid as chosen, nothing to change" in body


@pytest.mark.browser
def test_ticking_boxes_in_chromium_shows_the_plan_live(live_server, viewer):
    require_service("Chromium", CHROMIUM.exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    with chromium() as browser:
        context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
        context.set_default_timeout(10_000)
        page = context.new_page()
        sign_in(page, "vic", "pw-vic")
        page.get_by_role("link", name="Permissions").click()

        page.get_by_label("Can be assigned Issues").check()
        expect(page.locator("#plan")).to_contain_text("requires “Can view Assigned To information")
        page.get_by_label("Allowed Read Only access to Administration information").check()
        page.get_by_label("Can access and maintain Administration functions").check()

        expect(page.locator("#plan")).to_contain_text("higher of the two is kept")
        expect(page.locator("#plan")).to_contain_text("3 permissions")
        assert "permission=IsAdmin" in page.url  # the plan can be linked to
        screenshot(page, "permission-planner")
        context.close()


def test_it_shows_each_rule_with_its_source(client, viewer):
    client.force_login(viewer)

    page = client.get(URL).content.decode()

    assert "<code>IsAdmin</code> and <code>IsReadOnlyAdmin</code> conflict; <code>IsAdmin</code> wins" in page
    assert "<code>IsReadOnlyAdmin</code> overrides <code>IsAdmin</code>" in page
    assert "Using Zapier with Issuetrak" in page
