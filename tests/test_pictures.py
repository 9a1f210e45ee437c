"""The dashboard's expiry timeline and a connection's strip of runs: what they show, in one query."""

import datetime as dt
import re

from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from connections import timeline
from connections.models import ChecklistRun, Connection, Notice, Trigger

LIST = reverse("connections:list")
MARK = re.compile(r'<a href="([^"]+)" class="tl-mark (\w+)" data-connection="([^"]+)" data-status="\w+" '
                  r'data-days="(-?\d+)" aria-label="([^"]+)">\s*<circle cx="([\d.]+)%" cy="(\d+)"')


def days(n):
    return timezone.localdate() + dt.timedelta(days=n)


def marks_on(page: str) -> dict[str, dict]:
    return {m[2]: {"url": m[0], "status": m[1], "days": int(m[3]), "text": m[4], "x": float(m[5]),
                   "y": int(m[6])} for m in MARK.findall(page)}


def test_the_timeline_marks_each_token_due_within_90_days_coloured_by_threshold(
    sam_client, make_connection, sysadmin
):
    for label, n in [("Expired", -3), ("Today", 0), ("Five", 5), ("Twenty", 20), ("Late", 45),
                     ("Edge", 90), ("Far", 91)]:
        make_connection(label, expires_on=days(n))
    make_connection("Forever", expires_on=None)
    make_connection("Gone", expires_on=days(4)).archive(by=sysadmin)
    make_connection("Picky", expires_on=days(50), expiry_thresholds="60,30,14,7")

    page = sam_client.get(LIST).content.decode()
    marks = marks_on(page)
    assert set(marks) == {"Expired", "Today", "Five", "Twenty", "Late", "Edge", "Picky"}
    assert {k: m["status"] for k, m in marks.items()} == {
        "Expired": "fail", "Today": "fail", "Five": "warn", "Twenty": "warn", "Late": "pass",
        "Edge": "pass", "Picky": "warn"}  # Picky's own 60-day threshold
    assert marks["Expired"]["x"] < timeline.TODAY_X == marks["Today"]["x"]  # left of today's line
    xs = [marks[label]["x"] for label in ("Today", "Five", "Late", "Edge")]
    assert xs == sorted(xs) and len(set(xs)) == 4 and xs[-1] == timeline.END_X
    assert marks["Five"]["url"] == Connection.objects.get(label="Five").get_absolute_url()
    assert marks["Expired"]["text"] == f"Expired: expired 3 d ago ({days(-3):%Y-%m-%d})"
    assert marks["Twenty"]["text"] == f"Twenty: expires in 20 d ({days(20):%Y-%m-%d})"
    assert 'class="tl-tick tl-today"' in page and ">today</text>" in page


def test_marks_on_the_same_days_stack_instead_of_overlapping(sam_client, make_connection):
    for i in range(3):
        make_connection(f"Same {i}", expires_on=days(10))
    marks = marks_on(sam_client.get(LIST).content.decode())
    assert len({m["x"] for m in marks.values()}) == 1
    assert sorted(m["y"] for m in marks.values()) == [12, 28, 44]


def test_the_timeline_says_so_when_nothing_is_due(sam_client, make_connection):
    make_connection("Far", expires_on=days(200))
    page = sam_client.get(LIST).content.decode()
    assert "No token expires in the next 90 days." in page and "tl-mark" not in page


def test_the_timeline_and_the_strip_are_one_query_each(make_connection):
    for i in range(20):
        connection = make_connection(f"C{i}", expires_on=days(i))
        for _ in range(3):
            ChecklistRun.objects.create(connection=connection, trigger=Trigger.CLI, state="finished",
                                        overall="pass", token_fingerprint="x")
    with CaptureQueriesContext(db_connection) as queries:
        assert len(timeline.expiry_timeline().marks) == 20
    assert len(queries) == 1
    with CaptureQueriesContext(db_connection) as queries:
        assert len(timeline.run_strip(connection)) == 3
    assert len(queries) == 1


def test_the_strip_shows_the_last_30_runs_oldest_first_each_linking_to_its_run(
    sam_client, make_connection
):
    zapier = make_connection()
    results = ["pass", "fail", "warn", "error", "skip"] * 7  # 35 runs
    start = timezone.now() - dt.timedelta(days=1)
    for i, overall in enumerate(results):
        run = ChecklistRun.objects.create(connection=zapier, trigger=Trigger.CLI, state="finished",
                                          overall=overall, token_fingerprint="x")
        ChecklistRun.objects.filter(pk=run.pk).update(created_at=start + dt.timedelta(minutes=i))
    queued = ChecklistRun.objects.create(connection=zapier, trigger=Trigger.BROWSER, token_fingerprint="x")

    page = sam_client.get(zapier.get_absolute_url()).content.decode()
    strip = page.split('id="run-strip"')[1].split("</div>")[0]
    bars = re.findall(r'<a href="([^"]+)" class="bar (\w+)" data-result="(\w+)"', strip)
    assert len(bars) == 30
    newest_first = list(ChecklistRun.objects.filter(connection=zapier).order_by("-created_at", "-pk")[:30])
    assert [url for url, _, _ in bars] == [
        reverse("connections:run", args=[zapier.public_id, r.public_id]) for r in reversed(newest_first)]
    assert bars[-1] == (reverse("connections:run", args=[zapier.public_id, queued.public_id]),
                        "running", "queued")
    assert [cls for _, cls, _ in bars[:-1]] == results[-29:]


def test_an_acknowledged_notice_shows_on_the_list(sam_client, make_connection, sysadmin):
    zapier = make_connection("Zapier", expires_on=days(6))
    other = make_connection("Other", expires_on=days(6))
    planned = days(3)
    for connection in (zapier, other):
        Notice.objects.create(connection=connection, token_fingerprint=connection.token_fingerprint,
                              kind="expiring", threshold=7, channel="email", sent_at=timezone.now(),
                              summary="expires in 6 days")
    notice = zapier.notices.get()
    sam_client.post(reverse("connections:acknowledge", args=[zapier.public_id, notice.pk]),
                    {"planned_on": planned.isoformat()})

    page = sam_client.get(LIST).content.decode()
    row = page.split('data-label="Zapier"')[1].split("</tr>")[0]
    assert f"rotation planned for {planned:%Y-%m-%d} by sam" in row
    assert "rotation planned" not in page.split('data-label="Other"')[1].split("</tr>")[0]

    zapier.set_token("a-newer-token")  # the acknowledgement was about the old token
    zapier.save()
    assert "rotation planned" not in sam_client.get(LIST).content.decode()
