"""In Debian's Chromium: a connection added without a token gets it through "Store the token",
and a site that moved keeps its token through Rotate with a New Base URL."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from connections import secrets
from connections.models import Connection, TokenHistory
from connections.simulator import IssuetrakSimulator
from tests.browser_support import sign_in

pytestmark = pytest.mark.browser

IN_HALF_A_YEAR = timezone.localdate() + dt.timedelta(days=180)




def test_a_sysadmin_stores_the_first_token_after_it_is_checked(page, sysadmin, simulator):
    bare = Connection.objects.create(label="Zapier", base_url=simulator.site_url("healthy"),
                                     token_name="Zapier", token_user="integration",
                                     recipients=["sam@example.com"])
    sign_in(page, "sam", "pw-sam")
    page.goto(bare.get_absolute_url())
    expect(page.get_by_role("button", name="Rotate token")).to_have_count(0)
    page.get_by_role("button", name="Store the token").click()
    expect(page.get_by_role("heading", name="Store the token")).to_be_visible()
    expect(page.get_by_label("New Base URL")).to_have_count(0)

    page.get_by_label("API Token").fill("good-token")
    page.get_by_label("Expiration Date").fill(IN_HALF_A_YEAR.isoformat())
    page.get_by_role("button", name="Check and store").click()

    expect(page.get_by_text(f"Token stored: {secrets.fingerprint('good-token')}.")).to_be_visible()
    assert "revoke" not in page.content().lower()
    bare.refresh_from_db()
    assert bare.reveal_token() == "good-token" and not TokenHistory.objects.exists()


def test_a_moved_site_keeps_its_token_through_rotate_with_a_new_base_url(page, sysadmin, simulator,
                                                                         make_connection):
    zapier = make_connection("Zapier", token="good-token", base_url=simulator.site_url("healthy"),
                             token_user="integration", expires_on=IN_HALF_A_YEAR)
    with IssuetrakSimulator() as new_home:
        sign_in(page, "sam", "pw-sam")
        page.goto(reverse("connections:edit", args=[zapier.public_id]))
        page.get_by_label("Base URL").fill(new_home.site_url("healthy"))
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_role("alert")).to_contain_text("is bound to")
        page.get_by_role("link", name="Rotate token").click()

        page.get_by_label("New API Token").fill("good-token")
        page.get_by_label("New Base URL").fill(new_home.site_url("healthy"))
        page.get_by_label("Expiration Date").fill(IN_HALF_A_YEAR.isoformat())
        page.get_by_role("button", name="Check and rotate").click()

        expect(page.get_by_text("with the same token")).to_be_visible()
    zapier.refresh_from_db()
    assert zapier.base_url == new_home.site_url("healthy") and zapier.reveal_token() == "good-token"
