"""The list pages in Debian's Chromium: search, a reversed sort with clean URLs, the archived
filter and restoring a connection from it. Saves the README's screenshots of both."""

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from connections.models import AuditEvent, Connection
from tests.browser_support import DESKTOP, png_size, screenshot, sign_in

pytestmark = pytest.mark.browser


def days(n):
    return timezone.localdate() + dt.timedelta(days=n)


def shown(page) -> list[str]:
    return page.locator("tbody tr[data-label]").evaluate_all("rows => rows.map(r => r.dataset.label)")


def query(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_search_then_sort_by_expiry_and_reverse_it(page, make_connection, sysadmin):
    make_connection("Helpdesk EMEA", base_url="https://emea.helpdesk.example.com", expires_on=days(40))
    make_connection("Helpdesk US", base_url="https://us.helpdesk.example.com", expires_on=days(5))
    make_connection("Helpdesk APAC", base_url="https://apac.helpdesk.example.com", expires_on=None)
    make_connection("Reporting", token_user="helpdesk-reporter", expires_on=days(12))
    make_connection("Zapier", base_url="https://zap.example.com", expires_on=days(2))
    sign_in(page, "sam", "pw-sam")

    page.get_by_label("Search").fill("HELPDESK")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr[data-label]")).to_have_count(4)  # the token user matches too
    assert shown(page) == ["Helpdesk APAC", "Helpdesk EMEA", "Helpdesk US", "Reporting"]

    page.get_by_role("link", name="Expires", exact=True).click()
    expect(page.locator("th[aria-sort='ascending']")).to_contain_text("Expires")
    assert shown(page) == ["Helpdesk US", "Reporting", "Helpdesk EMEA", "Helpdesk APAC"]
    assert query(page) == {"q": ["HELPDESK"], "sort": ["expires"]}

    page.get_by_role("link", name="Expires ▲", exact=True).click()
    expect(page.locator("th[aria-sort='descending']")).to_contain_text("Expires ▼")
    assert shown(page) == ["Helpdesk APAC", "Helpdesk EMEA", "Reporting", "Helpdesk US"]
    assert query(page) == {"q": ["HELPDESK"], "sort": ["-expires"]}  # one sort=, never piled up
    expect(page.get_by_label("Search")).to_have_value("HELPDESK")
    path = screenshot(page, "list-search-sorted")
    assert png_size(path) == (DESKTOP["width"], DESKTOP["height"])

    page.get_by_role("link", name="Expires ▼", exact=True).click()
    assert query(page) == {"q": ["HELPDESK"], "sort": ["expires"]}
    page.get_by_label("Failing only").check()  # a filter keeps the search and the sort
    page.get_by_role("button", name="Filter").click()
    assert query(page) == {"q": ["HELPDESK"], "sort": ["expires"], "failing": ["1"]}
    expect(page.get_by_text("No connection matches “HELPDESK” and these filters.")).to_be_visible()


def test_restore_an_archived_connection_from_the_archived_list(page, make_connection, sysadmin):
    make_connection("Zapier", expires_on=days(30))
    old = make_connection("Old intranet", expires_on=days(60))
    old.archive(by=sysadmin)
    clash = make_connection("Billing")
    clash.archive(by=sysadmin)
    make_connection("billing")  # the label was taken again since
    sign_in(page, "sam", "pw-sam")

    page.get_by_role("link", name="Archived").click()
    expect(page.get_by_role("heading", name="Archived connections")).to_be_visible()
    assert shown(page) == ["Billing", "Old intranet"]
    path = screenshot(page, "list-archived")
    assert png_size(path) == (DESKTOP["width"], DESKTOP["height"])

    page.locator("tr[data-label='Billing']").get_by_role("button", name="Restore").click()
    expect(page.get_by_text("another connection already uses that label")).to_be_visible()
    assert Connection.objects.get(pk=clash.pk).is_archived
    expect(page.get_by_role("button", name="Restore")).to_be_visible()  # its page offers it too

    page.goto("/?archived=1")
    page.locator("tr[data-label='Old intranet']").get_by_role("button", name="Restore").click()
    expect(page.get_by_text("Connection “Old intranet” restored")).to_be_visible()
    expect(page.get_by_role("heading", name="Old intranet")).to_be_visible()
    expect(page.get_by_role("button", name="Run checklist")).to_be_visible()  # usable again
    assert not Connection.objects.get(pk=old.pk).is_archived
    assert AuditEvent.objects.filter(action="connection_restored", actor=sysadmin).count() == 1

    page.goto("/")
    expect(page.locator("tr[data-label='Old intranet']")).to_be_visible()
