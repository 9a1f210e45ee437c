"""The list pages: search, reversible sort with clean links, filters that combine, keyset pages
(connections and the audit trail), per-row counts for the rows shown only, and restore."""

import datetime as dt
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from connections import expiry, keyset
from connections.choices import AuditAction
from connections.listing import SORTS, ListFilters
from connections.models import AuditEvent, Connection, Notice, RestoreRefused
from connections.notifier_watch import notifier_status

LIST = reverse("connections:list")
AUDIT = reverse("connections:audit")


def days(n):
    return timezone.localdate() + dt.timedelta(days=n)


def labels_in(page: str) -> list[str]:
    return [unescape(part.split('"')[0]) for part in page.split('data-label="')[1:]]


def links(page: str, attribute: str) -> dict[str, str]:
    found = re.finditer(rf'href="([^"]*)" {attribute}="?([\w-]*)', page)
    return {m.group(2): unescape(m.group(1)) for m in found}


def header_links(page: str) -> list[str]:
    return [unescape(m) for m in re.findall(r'<a href="([^"]*)" data-sort-link>', page)]


def test_search_matches_label_base_url_token_name_and_user_ignoring_case(sam_client, make_connection):
    make_connection("Zapier", base_url="https://help.example.com", token_name="zap", token_user="svc")
    make_connection("Reporting", base_url="https://reports.example.org", token_name="Nightly export",
                    token_user="reporter")
    make_connection("Intranet", base_url="https://intranet.example.net", token_name="",
                    token_user="INTEGRATION")
    for q, expected in [("zapIER", ["Zapier"]), ("REPORTS.example", ["Reporting"]),
                        ("nightly", ["Reporting"]), ("integration", ["Intranet"]),
                        ("example", ["Intranet", "Reporting", "Zapier"]), ("nothing-like-it", [])]:
        assert labels_in(sam_client.get(LIST, {"q": q}).content.decode()) == expected, q
    page = sam_client.get(LIST, {"q": "nothing-like-it"}).content.decode()
    assert "No connection matches “nothing-like-it”." in page


def test_search_combines_with_filters_and_sort(sam_client, make_connection):
    make_connection("Alpha site", expires_on=days(3))
    make_connection("Beta site", expires_on=days(2))
    make_connection("Gamma site", expires_on=days(40))
    make_connection("Other", expires_on=days(1))
    Connection.objects.filter(label="Gamma site").update(last_overall="fail")
    assert labels_in(sam_client.get(LIST, {"q": "site", "expiring": 7, "sort": "-expires"})
                     .content.decode()) == ["Alpha site", "Beta site"]
    assert labels_in(sam_client.get(LIST, {"q": "site", "expiring": 7, "sort": "expires"})
                     .content.decode()) == ["Beta site", "Alpha site"]
    assert labels_in(sam_client.get(LIST, {"q": "site", "failing": 1}).content.decode()) == ["Gamma site"]
    assert labels_in(sam_client.get(LIST, {"q": "site", "failing": 1, "expiring": 7})
                     .content.decode()) == []


def test_the_failing_filter_walks_the_health_index_for_its_page_and_count(sam_client, make_connection):
    make_connection("Broken")
    make_connection("Fine")
    Connection.objects.filter(label="Broken").update(last_overall="fail")
    Connection.objects.filter(label="Fine").update(last_overall="pass")
    assert labels_in(sam_client.get(LIST, {"failing": 1}).content.decode()) == ["Broken"]
    listing = ListFilters({"failing": "1"})
    assert listing.count() == 1
    if connection.vendor == "sqlite":  # PostgreSQL rightly scans a two-row table
        assert "connection_sort_health" in listing.queryset().explain()  # a range, not every row


def test_every_sort_reverses(sam_client, make_connection):
    make_connection("b", expires_on=days(5))
    make_connection("A", expires_on=None)
    make_connection("c", expires_on=days(50))
    Connection.objects.filter(label="c").update(last_overall="fail", last_checked_at=timezone.now())
    Connection.objects.filter(label="b").update(last_overall="pass",
                                                 last_checked_at=timezone.now() - dt.timedelta(hours=1))
    expected = {"label": ["A", "b", "c"], "expires": ["b", "c", "A"], "health": ["c", "b", "A"],
                "checked": ["A", "b", "c"]}
    for sort, order in expected.items():
        assert labels_in(sam_client.get(LIST, {"sort": sort}).content.decode()) == order, sort
        assert labels_in(sam_client.get(LIST, {"sort": f"-{sort}"}).content.decode()) == order[::-1], sort


def test_header_links_toggle_the_direction_and_never_pile_up_params(sam_client, make_connection):
    make_connection("Zap & co")
    Connection.objects.update(last_overall="fail")
    params = {"q": "p &", "failing": "1", "sort": "expires", "after": "x"}
    page = sam_client.get(LIST, params).content.decode()
    label, health, expires, checked = header_links(page)
    assert expires == "?q=p+%26&failing=1&sort=-expires"
    assert label == "?q=p+%26&failing=1&sort=label" and health == "?q=p+%26&failing=1&sort=health"
    assert checked == "?q=p+%26&failing=1&sort=checked"
    assert 'aria-sort="ascending"' in page and "Expires ▲" in page
    page = sam_client.get(LIST + expires).content.decode()
    assert header_links(page)[2] == "?q=p+%26&failing=1&sort=expires" and "Expires ▼" in page
    for link in header_links(page):  # each key once: clicking again never adds another sort=
        assert all(len(values) == 1 for values in parse_qs(urlsplit(link).query).values())
    assert header_links(sam_client.get(LIST).content.decode())[0] == "?sort=-label"


def test_bad_sort_cursor_and_search_values_are_ignored_not_a_500(sam_client, make_connection):
    make_connection("A")
    for params in [{"sort": "-DROP"}, {"after": "not-a-cursor"}, {"before": "eyJ4IjoxfQ"},
                   {"q": "x" * 5000}, {"page": "999"}, {"after": keyset.encode(object(), [])}]:
        response = sam_client.get(LIST, params)
        assert response.status_code == 200, params
    assert labels_in(sam_client.get(LIST, {"sort": "-DROP", "after": "###"}).content.decode()) == ["A"]


@pytest.mark.parametrize("sort", [*SORTS, *(f"-{s}" for s in SORTS)])
def test_keyset_pages_walk_every_sort_both_ways_without_gaps(sam_client, make_connection, sort):
    now = timezone.now()
    for n in range(23):  # ties on every key but the label; some never expire or were never checked
        c = make_connection(f"Site {n:02d}", expires_on=None if n % 5 == 0 else days(n % 4))
        if n % 3:
            Connection.objects.filter(pk=c.pk).update(last_overall=["pass", "fail", "warn"][n % 3],
                                                      last_checked_at=now - dt.timedelta(hours=n % 2))
    everything = list(ListFilters({"sort": sort}).queryset().values_list("label", flat=True))
    assert labels_in(sam_client.get(LIST, {"sort": sort}).content.decode()) == everything
    forwards = walk_small(sort, "forwards")
    backwards = walk_small(sort, "backwards")
    assert [label for page in forwards for label in page] == everything
    assert [len(p) for p in forwards] == [5, 5, 5, 5, 3]
    # Backwards from the last page; the short way back to the start shows a whole first page.
    assert [len(p) for p in backwards] == [5, 5, 5, 5, 5]
    assert [label for page in backwards[-2::-1] for label in page] == everything[3:]
    assert backwards[-1] == everything[:5]


def walk_small(sort, how):
    """Walk the listing in pages of 5 through keyset cursors (what the page links carry)."""
    params = {"sort": sort} if how == "forwards" else {"sort": sort, "page": "last"}
    pages = []
    while True:
        page = ListFilters(params).page(size=5)
        pages.append([c.label for c in page.object_list])
        if how == "forwards" and page.has_next:
            params = {"sort": sort, "after": page.next_cursor}
        elif how == "backwards" and page.has_previous:
            params = {"sort": sort, "before": page.previous_cursor}
        else:
            return pages


def test_the_list_pages_with_links_that_keep_search_sort_and_filters(sam_client, make_connection):
    for n in range(60):
        make_connection(f"Site {n:02d}", expires_on=days(n))
    make_connection("Elsewhere", expires_on=days(1))
    params = {"q": "site", "sort": "-expires", "expiring": "365"}
    page = sam_client.get(LIST, params).content.decode()
    assert labels_in(page)[:2] == ["Site 59", "Site 58"] and len(labels_in(page)) == 50
    nav = links(page, "data-page")
    assert set(nav) == {"next", "last"}
    assert nav["last"] == "?q=site&expiring=365&sort=-expires&page=last"
    last = sam_client.get(LIST + nav["last"]).content.decode()
    assert labels_in(last) == [f"Site {n:02d}" for n in range(49, -1, -1)]
    assert set(links(last, "data-page")) == {"first", "previous"}
    second = sam_client.get(LIST + nav["next"]).content.decode()
    assert labels_in(second) == [f"Site {n:02d}" for n in range(9, -1, -1)]
    back = sam_client.get(LIST + links(second, "data-page")["previous"]).content.decode()
    assert labels_in(back) == labels_in(page)  # a short way back fills a whole first page


def test_the_list_costs_the_same_queries_for_10_or_120_rows(sam_client, make_connection,
                                                         django_assert_max_num_queries):
    for n in range(10):
        make_connection(f"c{n:03d}")
    with django_assert_max_num_queries(30) as few:
        sam_client.get(LIST, {"sort": "-expires"})
    for n in range(10, 120):
        c = make_connection(f"c{n:03d}")
        Notice.objects.create(connection=c, token_fingerprint=c.token_fingerprint, kind="expiring",
                              threshold=7, channel="email", summary="x", sent_at=timezone.now())
    with django_assert_max_num_queries(len(few)):
        sam_client.get(LIST, {"sort": "-expires", "page": "last"})
    sql = " ".join(q["sql"] for q in few.captured_queries).upper()
    assert "COUNT(" not in sql.replace('COUNT("CONNECTIONS_NOTICE"', "")  # no COUNT over the table
    assert "OFFSET" not in sql


def test_notices_sent_are_counted_for_the_rows_shown(sam_client, make_connection):
    zapier = make_connection("Zapier")
    make_connection("Quiet")
    for threshold, sent in [(30, True), (14, True), (7, False)]:
        Notice.objects.create(connection=zapier, token_fingerprint=zapier.token_fingerprint,
                              kind="expiring", threshold=threshold, channel="email", summary="x",
                              sent_at=timezone.now() if sent else None)
    page = ListFilters({}).page()
    assert {c.label: c.notices_sent for c in page.object_list} == {"Quiet": 0, "Zapier": 2}


def test_the_sort_keys_follow_every_write(make_connection):
    """The keys are generated by the database: any update() keeps them current."""
    c = make_connection("Zapier", expires_on=None)
    row = Connection.objects.values("expires_key", "health_rank", "checked_key").get(pk=c.pk)
    assert row["expires_key"] == dt.date(9999, 12, 31) and row["health_rank"] == 3
    checked = timezone.now()
    Connection.objects.filter(pk=c.pk).update(expires_on=days(3), last_overall="fail",
                                              last_checked_at=checked)
    row = Connection.objects.values("expires_key", "health_rank", "checked_key").get(pk=c.pk)
    assert row == {"expires_key": days(3), "health_rank": 0, "checked_key": checked}


def test_the_audit_trail_pages_by_keyset_with_filters_kept(sam_client):
    for n in range(120):
        AuditEvent.objects.record(AuditAction.CONNECTION_EDITED, via=f"cli-{n % 2}", summary=f"Change {n}.")
    AuditEvent.objects.record(AuditAction.ROLE_CHANGED, via="cli-0", summary="Not this one.")
    params = {"action": "connection_edited", "actor": "CLI-0"}
    seen, page = [], sam_client.get(AUDIT, params).content.decode()
    while True:
        seen.append([int(n) for n in re.findall(r"Change (\d+)\.", page)])
        assert "Not this one" not in page
        nav = links(page, "data-page")
        if "next" not in nav:
            break
        assert nav["next"].startswith("?action=connection_edited&actor=CLI-0&after=")
        page = sam_client.get(AUDIT + nav["next"]).content.decode()
    assert seen == [list(range(118, 18, -2)), list(range(18, -1, -2))]
    last = sam_client.get(AUDIT, {**params, "page": "last"}).content.decode()
    assert [int(n) for n in re.findall(r"Change (\d+)\.", last)] == list(range(98, -1, -2))


def test_restore_brings_back_an_archived_connection_audited(sam_client, make_connection, sysadmin):
    zapier = make_connection("Zapier")
    zapier.archive(by=sysadmin)
    page = sam_client.get(LIST, {"archived": "1"}).content.decode()
    assert f'action="{reverse("connections:restore", args=[zapier.public_id])}"' in page
    assert 'data-restore="Zapier"' in sam_client.get(zapier.get_absolute_url()).content.decode()
    assert sam_client.get(reverse("connections:restore", args=[zapier.public_id])).status_code == 302
    zapier.refresh_from_db()
    assert zapier.is_archived  # a GET changes nothing
    response = sam_client.post(reverse("connections:restore", args=[zapier.public_id]), follow=True)
    assert "Connection “Zapier” restored" in response.content.decode()
    zapier.refresh_from_db()
    assert not zapier.is_archived and zapier.archived_by is None
    event = AuditEvent.objects.filter(action=AuditAction.CONNECTION_RESTORED).get()
    assert event.actor == sysadmin and event.summary == "Restored “Zapier”"
    assert labels_in(sam_client.get(LIST).content.decode()) == ["Zapier"]


def test_restore_is_refused_when_the_label_is_taken_again(sam_client, make_connection):
    old = make_connection("Zapier")
    old.archive()
    make_connection("ZAPIER")  # the label was free again, and someone used it
    response = sam_client.post(reverse("connections:restore", args=[old.public_id]), follow=True)
    assert "another connection already uses that label" in response.content.decode()
    old.refresh_from_db()
    assert old.is_archived
    assert not AuditEvent.objects.filter(action=AuditAction.CONNECTION_RESTORED).exists()
    with pytest.raises(RestoreRefused, match="not archived"):
        Connection.objects.get(label="ZAPIER").restore()


def test_only_a_sysadmin_may_restore(client, viewer, onboarding_clerk, make_connection):
    zapier = make_connection("Zapier")
    zapier.archive()
    for person in (viewer, onboarding_clerk):
        client.force_login(person)
        assert client.post(reverse("connections:restore", args=[zapier.public_id])).status_code == 403
        assert "data-restore" not in client.get(LIST, {"archived": "1"}).content.decode()
        assert "data-restore" not in client.get(zapier.get_absolute_url()).content.decode()
    zapier.refresh_from_db()
    assert zapier.is_archived


def test_the_notifier_status_is_one_query_per_request(sam_client, make_connection,
                                                     django_assert_num_queries):
    make_connection()
    expiry.scan()
    with django_assert_num_queries(1):
        scan, revalidation = notifier_status()
    assert scan.last_finished_at is not None and scan.next_due is not None and not scan.overdue
    assert revalidation.last_finished_at is None and not revalidation.overdue
    with CaptureQueriesContext(connection) as captured:
        sam_client.get(LIST)
    sql = [q["sql"] for q in captured.captured_queries if "django_celery_beat_periodictask" in q["sql"]]
    assert len(sql) == 1  # the banner and the dashboard line share it


def test_short_searches_and_quotes_still_match(sam_client, make_connection):
    make_connection("Helpdesk EMEA", token_user='o"brien')
    make_connection("Zapier")
    assert labels_in(sam_client.get(LIST, {"q": "em"}).content.decode()) == ["Helpdesk EMEA"]
    assert labels_in(sam_client.get(LIST, {"q": 'O"BRI'}).content.decode()) == ["Helpdesk EMEA"]
    assert labels_in(sam_client.get(LIST, {"q": 'zap" OR "a'}).content.decode()) == []


@pytest.mark.django_db(transaction=True)
def test_the_sqlite_search_index_survives_a_table_rebuild(make_connection):
    """SQLite migrations rebuild a table to alter it, dropping its triggers; migrate puts them back."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's trigram indexes are ordinary indexes")
    from django.core.management import call_command

    zapier = make_connection("Zapier", token_name="")
    with connection.schema_editor() as editor:
        editor._remake_table(Connection)  # what an AlterField on SQLite does
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE name LIKE 'connection_search_a%'")
        assert cursor.fetchall() == []  # the rebuild took the triggers with the old table
    Connection.objects.filter(pk=zapier.pk).update(label="Renamed site")
    call_command("migrate", verbosity=0)
    make_connection("Another site")
    assert [c.label for c in ListFilters({"q": "site"}).queryset()] == ["Another site", "Renamed site"]
    assert list(ListFilters({"q": "zapier"}).queryset()) == []
