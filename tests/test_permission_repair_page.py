"""The "why is this token not an admin?" panel and the sysadmin's repair page, on the simulator."""

import html
import io
import logging
import re
import sys

import pytest
from django.core.management import call_command
from django.db import connection as db_connection
from django.urls import reverse

from connections.choices import AuditAction
from connections.models import AuditEvent, ChecklistRun
from connections.secrets import fingerprint
from tests.repair_support import ADMIN_TOKEN, memberships, on_site


def detail(client, connection):
    page = client.get(connection.get_absolute_url())
    assert page.status_code == 200
    return page.content.decode()


def panel(page):
    """The panel's text as a reader sees it (tags dropped), plus its links; None when absent."""
    match = re.search(r'<article id="why-not-admin">(.*?)</article>', page, re.S)
    if not match:
        return None
    links = " ".join(re.findall(r'href="([^"]+)"', match.group(1)))
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", match.group(1)))) + " " + links


def requests_to(admin_sim, site):
    return admin_sim.rate_stats()["sites"].get(admin_sim.site_url(site), {}).get("requests", 0)


def test_the_panel_explains_a_read_only_override_from_the_runs_reads(sam_client, make_connection, admin_sim):
    zapier = on_site(make_connection, admin_sim, "read-only-admin")
    ChecklistRun.check_now(zapier)
    calls = requests_to(admin_sim, "read-only-admin")

    text = panel(detail(sam_client, zapier))

    assert requests_to(admin_sim, "read-only-admin") == calls  # the page asked the site nothing
    assert "“Auditors” grants “Allowed Read Only access to Administration information”" in text
    assert "overrides the “Can access and maintain Administration functions” that “API Administrators”" \
        in text
    assert "Auditors read-only override" in text and "API Administrators admin" in text
    assert "Can authenticate with the API v2" in text  # what API Administrators grants
    assert reverse("connections:fix_permissions", args=[zapier.public_id]) in text


def test_the_panel_says_the_site_refused_the_reads_on_not_admin(client, viewer, make_connection, admin_sim):
    zapier = on_site(make_connection, admin_sim, "not-admin")
    ChecklistRun.check_now(zapier)
    client.force_login(viewer)

    text = panel(detail(client, zapier))

    assert "refused this token's reads of users and groups (403)" in text
    assert "fix-permissions" not in text and "Fix the permissions" not in text  # a viewer cannot fix
    assert "A sysadmin can fix this" in text


def test_the_panel_names_an_inactive_user(sam_client, make_connection, admin_sim):
    zapier = on_site(make_connection, admin_sim, "inactive-user")
    ChecklistRun.check_now(zapier)

    text = panel(detail(sam_client, zapier))

    assert "“integration” is inactive" in text


def test_no_panel_when_the_token_user_is_an_administrator(sam_client, make_connection, admin_sim):
    zapier = on_site(make_connection, admin_sim, "group-admin")
    ChecklistRun.check_now(zapier)

    assert panel(detail(sam_client, zapier)) is None


def test_onboarding_links_the_token_user_step_to_the_fix(sam_client, make_connection, admin_sim):
    zapier = on_site(make_connection, admin_sim, "not-admin")
    ChecklistRun.check_now(zapier)

    page = sam_client.get(reverse("connections:onboarding", args=[zapier.public_id])).content.decode()

    step = re.search(r'id="onboarding-token_user".*?</article>', page, re.S).group(0)
    assert reverse("connections:fix_permissions", args=[zapier.public_id]) in step


def test_the_page_plans_then_applies_the_reviewed_plan(sam_client, sysadmin, make_connection, admin_sim):
    zapier = on_site(make_connection, admin_sim, "not-admin")
    url = reverse("connections:fix_permissions", args=[zapier.public_id])

    planned = sam_client.post(url, {"admin_token": ADMIN_TOKEN, "action": "plan"})

    html = planned.content.decode()
    assert planned.status_code == 200
    assert "POST /api/v2/Groups" in html and "POST /api/v2/Users/17/Memberships/Groups" in html
    assert "Apply these 2 call(s)" in html
    assert memberships(admin_sim, "not-admin") == [2, 6]
    reviewed = re.search(r'name="reviewed" value="([0-9a-f]+)"', html).group(1)

    applied = sam_client.post(url, {"admin_token": ADMIN_TOKEN, "action": "apply", "reviewed": reviewed})

    html = applied.content.decode()
    assert "token_admin passes" in html
    assert len(memberships(admin_sim, "not-admin")) == 3
    events = AuditEvent.objects.filter(action=AuditAction.PERMISSIONS_REPAIRED)
    assert events.count() == 2 and {e.actor for e in events} == {sysadmin}
    assert ChecklistRun.objects.filter(connection=zapier).first().overall == "pass"


def test_the_page_applies_nothing_when_the_plan_changed_since_review(sam_client, make_connection, admin_sim):
    zapier = on_site(make_connection, admin_sim, "not-admin")
    url = reverse("connections:fix_permissions", args=[zapier.public_id])

    page = sam_client.post(url, {"admin_token": ADMIN_TOKEN, "action": "apply", "reviewed": "0" * 16},
                           follow=True)

    assert "nothing was applied" in page.content.decode()
    assert memberships(admin_sim, "not-admin") == [2, 6]
    assert not AuditEvent.objects.filter(action=AuditAction.PERMISSIONS_REPAIRED).exists()


def test_a_missing_token_is_a_clear_error_that_changes_nothing(sam_client, make_connection, admin_sim):
    zapier = on_site(make_connection, admin_sim, "not-admin")

    page = sam_client.post(reverse("connections:fix_permissions", args=[zapier.public_id]),
                           {"admin_token": "", "action": "plan"})

    assert page.status_code == 200
    assert "This field is required." in page.content.decode()
    assert memberships(admin_sim, "not-admin") == [2, 6]


def test_the_admin_token_is_in_no_page_log_output_or_database_row(sam_client, make_connection, admin_sim,
                                                                    caplog):
    caplog.set_level(logging.DEBUG)
    zapier = on_site(make_connection, admin_sim, "read-only-admin")
    url = reverse("connections:fix_permissions", args=[zapier.public_id])
    pages = [sam_client.post(url, {"admin_token": ADMIN_TOKEN, "action": "plan",
                                   "remove_readonly_override": "on"})]
    reviewed = re.search(r'name="reviewed" value="([0-9a-f]+)"', pages[0].content.decode()).group(1)
    pages.append(sam_client.post(url, {"admin_token": ADMIN_TOKEN, "action": "apply", "reviewed": reviewed,
                                       "remove_readonly_override": "on"}))
    pages += [sam_client.get(zapier.get_absolute_url()), sam_client.get(reverse("connections:audit"))]
    out = io.StringIO()
    old_stdin, sys.stdin = sys.stdin, io.StringIO(ADMIN_TOKEN)
    try:
        with pytest.raises(SystemExit):
            call_command("connections", "fix-permissions", zapier.label, "--admin-token-stdin", "--json",
                         stdout=out)
    finally:
        sys.stdin = old_stdin

    assert "token_admin passes" in pages[1].content.decode()
    for page in pages:
        assert ADMIN_TOKEN not in page.content.decode()
    assert ADMIN_TOKEN not in out.getvalue() and ADMIN_TOKEN not in caplog.text
    assert fingerprint(ADMIN_TOKEN) in " ".join(AuditEvent.objects.values_list("summary", flat=True))
    with db_connection.cursor() as cursor:
        for table in db_connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')
            assert ADMIN_TOKEN not in repr(cursor.fetchall()), table
