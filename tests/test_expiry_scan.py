"""The daily expiry scan: every threshold once, digests per recipient, exactly once."""

import datetime as dt
import io
import json

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from connections import expiry, notices
from connections.models import Notice, NotifierRun
from tests.conftest import SECRET_TOKEN

TODAY = dt.date(2027, 3, 1)


@pytest.fixture
def on_day():
    """Move the clock to a given date (08:00 UTC) for the rest of the test."""
    travellers = []

    def move(day: dt.date):
        if travellers:
            travellers.pop().stop()
        traveller = time_machine.travel(dt.datetime(day.year, day.month, day.day, 8, tzinfo=dt.UTC),
                                        tick=False)
        traveller.start()
        travellers.append(traveller)

    yield move
    for traveller in travellers:
        traveller.stop()


def expiring(make_connection, label, days, **fields):
    return make_connection(label, expires_on=TODAY + dt.timedelta(days=days), **fields)


def test_every_threshold_fires_exactly_once_as_the_days_pass(make_connection, on_day):
    on_day(TODAY)
    zapier = expiring(make_connection, "Zapier", 31)
    fired = []
    for day in range(0, 34):
        on_day(TODAY + dt.timedelta(days=day))
        before = len(mail.outbox)
        expiry.scan()
        expiry.scan()  # beat firing twice, a retried task: nothing more
        fired += [m.subject for m in mail.outbox[before:]]
    notes = Notice.objects.filter(connection=zapier).order_by("created_at")
    assert [(n.kind, n.threshold) for n in notes] == [
        ("expiring", 30), ("expiring", 14), ("expiring", 7), ("expiring", 3), ("expiring", 1),
        ("expiring", 0), ("expired", 0)]
    assert len(fired) == 7
    assert all(n.sent_at and n.recipients == ["sam@example.com"] for n in notes)
    assert "expires today" in fired[5] and "expired on" in fired[6]


def test_rerunning_the_same_day_sends_nothing(make_connection, on_day):
    on_day(TODAY)
    expiring(make_connection, "Zapier", 7)
    expiry.scan()
    expiry.scan()
    assert len(mail.outbox) == 1
    assert Notice.objects.count() == 1


def test_a_token_first_seen_late_gets_only_the_smallest_threshold_reached(make_connection, on_day):
    on_day(TODAY)
    expiring(make_connection, "Zapier", 5)
    expiry.scan()
    assert list(Notice.objects.values_list("threshold", flat=True)) == [7]


def test_a_connection_may_override_the_thresholds(make_connection, on_day):
    on_day(TODAY)
    expiring(make_connection, "Zapier", 55, expiry_thresholds="60,20")
    expiring(make_connection, "Other", 55)
    expiry.scan()
    assert list(Notice.objects.values_list("connection__label", "threshold")) == [("Zapier", 60)]


def test_a_token_without_expiry_gets_one_advisory_not_a_daily_nag(make_connection, on_day):
    on_day(TODAY)
    make_connection("Forever", expires_on=None)
    for day in range(3):
        on_day(TODAY + dt.timedelta(days=day))
        expiry.scan()
    assert len(mail.outbox) == 1
    assert "never expires" in mail.outbox[0].body


def test_the_digest_groups_every_due_connection_per_recipient(make_connection, on_day):
    on_day(TODAY)
    expiring(make_connection, "Zapier", 7, recipients=["sam@example.com", "ops@example.com"])
    expiring(make_connection, "Reports", 1, recipients=["sam@example.com"])
    expiring(make_connection, "Later", 200, recipients=["sam@example.com"])
    expiry.scan()

    by_recipient = {m.to[0]: m for m in mail.outbox}
    assert set(by_recipient) == {"sam@example.com", "ops@example.com"}
    sam = by_recipient["sam@example.com"]
    assert "Zapier" in sam.body and "Reports" in sam.body and "Later" not in sam.body
    assert sam.body.index("- Reports") < sam.body.index("- Zapier")  # soonest first
    html = sam.alternatives[0][0]
    assert "Rotate" in html and "/connections/" in html
    assert "Reports" not in by_recipient["ops@example.com"].body


def test_the_token_never_appears_in_a_mail(make_connection, on_day):
    on_day(TODAY)
    expiring(make_connection, "Zapier", 3)
    expiry.scan()
    message = mail.outbox[0]
    assert SECRET_TOKEN not in message.subject + message.body + message.alternatives[0][0]


def test_a_crash_between_claim_and_send_is_healed_by_the_next_run(make_connection, on_day,
                                                                   monkeypatch):
    on_day(TODAY)
    expiring(make_connection, "Zapier", 7)

    def worker_killed(*args):
        raise SystemExit("worker killed mid-send")

    monkeypatch.setattr(notices, "_send_emails", worker_killed)
    with pytest.raises(SystemExit):
        expiry.scan()
    notice = Notice.objects.get()
    assert notice.claimed_at and not notice.sent_at and not mail.outbox
    monkeypatch.undo()

    expiry.scan()  # the claim is still leased to the dead worker: nothing is sent twice
    assert not mail.outbox

    on_day(TODAY + dt.timedelta(days=1))
    expiry.scan()
    assert len(mail.outbox) == 1
    assert Notice.objects.get().sent_at


def test_a_failed_send_is_released_and_retried_next_run(make_connection, on_day, monkeypatch):
    on_day(TODAY)
    expiring(make_connection, "Zapier", 7)
    monkeypatch.setattr("connections.emails._send", _smtp_down)
    expiry.scan()
    notice = Notice.objects.get()
    assert notice.sent_at is None and notice.claimed_at is None and notice.attempts == 1
    monkeypatch.undo()
    expiry.scan()
    assert len(mail.outbox) == 1


def _smtp_down(*args):
    raise ConnectionRefusedError("smtp down")


def test_rotating_the_token_starts_the_count_afresh(make_connection, on_day):
    on_day(TODAY)
    zapier = expiring(make_connection, "Zapier", 7)
    expiry.scan()
    zapier.set_token("the-new-token")
    zapier.expires_on = TODAY + dt.timedelta(days=6)
    zapier.save()
    expiry.scan()
    assert len(mail.outbox) == 2
    assert Notice.objects.filter(threshold=7).count() == 2


def test_an_unsent_notice_for_a_rotated_token_is_cancelled_not_sent(make_connection, on_day,
                                                                    monkeypatch):
    on_day(TODAY)
    zapier = expiring(make_connection, "Zapier", 7)
    monkeypatch.setattr("connections.emails._send", _smtp_down)
    expiry.scan()
    monkeypatch.undo()
    zapier.set_token("rotated")
    zapier.expires_on = TODAY + dt.timedelta(days=300)
    zapier.save()
    expiry.scan()
    assert not mail.outbox
    assert Notice.objects.get().cancelled_at


def test_the_scan_records_a_heartbeat(make_connection, on_day):
    on_day(TODAY)
    expiring(make_connection, "Zapier", 7)
    expiry.scan()
    beat = NotifierRun.objects.get()
    assert beat.finished_at and beat.summary["sent"] == 1 and beat.as_of == TODAY


@pytest.mark.parametrize("count", [1, 500])
def test_the_scan_query_count_does_not_grow_with_connections(
    make_connection, on_day, count, django_assert_num_queries
):
    on_day(TODAY)
    from connections.models import Connection

    template = make_connection("c0", expires_on=TODAY + dt.timedelta(days=5))
    Connection.objects.bulk_create([
        Connection(label=f"c{n}", base_url=template.base_url, token_ciphertext=template.token_ciphertext,
                   token_fingerprint=template.token_fingerprint, token_set_at=template.token_set_at,
                   expires_on=TODAY + dt.timedelta(days=n % 40), recipients=["sam@example.com"])
        for n in range(1, count)
    ])
    with django_assert_num_queries(7):
        expiry.scan()
    assert len(mail.outbox) == 1


def _many(template, count, days):
    from connections.models import Connection

    Connection.objects.bulk_create([
        Connection(label=f"m{n}", base_url=template.base_url, token_ciphertext=template.token_ciphertext,
                   token_fingerprint=template.token_fingerprint, token_set_at=template.token_set_at,
                   expires_on=None if days(n) is None else TODAY + dt.timedelta(days=days(n)),
                   recipients=[f"owner{n % 3}@example.com"])
        for n in range(count)
    ])


def test_recording_inserts_a_thousand_notices_per_statement_in_one_transaction(
    make_connection, on_day, django_assert_num_queries
):
    on_day(TODAY)
    template = make_connection("c0", expires_on=TODAY + dt.timedelta(days=400))  # not due
    _many(template, 2500, lambda n: n % 31)  # every one inside the 30-day window
    with django_assert_num_queries(4) as queries:  # the candidates, then 3 multi-row inserts
        rows = expiry.record_due(TODAY)
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 3 and all("ON CONFLICT DO NOTHING" in sql for sql in inserts)
    assert len(rows) == Notice.objects.count() == 2500
    with django_assert_num_queries(4):  # the same day again: nothing new, nothing doubled
        expiry.record_due(TODAY)
    assert Notice.objects.count() == 2500


def test_the_recorded_notices_are_exactly_the_due_ones(make_connection, on_day):
    on_day(TODAY)
    template = make_connection("c0", expires_on=TODAY + dt.timedelta(days=400))
    _many(template, 300, lambda n: None if n % 7 == 0 else n - 20)  # expired … 279 days ahead
    make_connection("override", expires_on=TODAY + dt.timedelta(days=60), expiry_thresholds="90,60")
    expiry.record_due(TODAY)
    expected = set()
    for n in range(300):
        days = None if n % 7 == 0 else n - 20
        due = expiry.due_notice(None if days is None else TODAY + dt.timedelta(days=days), TODAY,
                                [30, 14, 7, 3, 1, 0])
        if due:
            expected.add((f"m{n}", *due))
    expected.add(("override", "expiring", 60))
    got = {(n.connection.label, n.kind, n.threshold) for n in Notice.objects.select_related("connection")}
    assert got == expected
    first = Notice.objects.get(connection__label="m25")  # 5 days left
    assert first.summary == "The token expires in 5 days (2027-03-06)."
    assert first.recipients == ["owner1@example.com"] and first.channel == "email"


def test_the_candidate_query_has_no_order_by(on_day):
    sql = str(expiry.candidates(TODAY).query)
    assert "ORDER BY" not in sql.upper()


def test_digest_links_name_each_connections_rotation_page(make_connection, on_day):
    from django.urls import reverse

    on_day(TODAY)
    first = expiring(make_connection, "First", 3)
    second = expiring(make_connection, "Second", 5)
    expiry.scan()
    body = mail.outbox[0].body
    for connection in (first, second):
        assert reverse("connections:rotate", args=[connection.public_id]) in body


def test_cli_as_of_dry_run_json_shows_what_is_due_next_week_and_sends_nothing(make_connection, on_day):
    on_day(TODAY)
    expiring(make_connection, "Zapier", 10)
    out = io.StringIO()
    call_command("connections", "expiry-scan", "--as-of", str(TODAY + dt.timedelta(days=7)),
                 "--dry-run", "--json", stdout=out)
    assert json.loads(out.getvalue()) == [{
        "label": "Zapier", "threshold": 3, "kind": "expiring", "recipients": ["sam@example.com"],
        "channel": "email", "status": "dry-run"}]
    assert not mail.outbox and not Notice.objects.exists() and not NotifierRun.objects.exists()


def test_cli_scan_sends_and_reports(make_connection, on_day):
    on_day(TODAY)
    expiring(make_connection, "Zapier", 1)
    out = io.StringIO()
    call_command("connections", "expiry-scan", "--json", stdout=out)
    assert json.loads(out.getvalue())[0]["status"] == "sent"
    assert len(mail.outbox) == 1
    out = io.StringIO()
    call_command("connections", "expiry-scan", "--json", stdout=out)
    assert json.loads(out.getvalue())[0]["status"] == "already sent"
    assert len(mail.outbox) == 1


def test_archived_connections_get_no_notice(make_connection, on_day):
    on_day(TODAY)
    expiring(make_connection, "Zapier", 3).archive()
    expiry.scan()
    assert not mail.outbox and timezone.localdate() == TODAY
