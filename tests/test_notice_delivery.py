"""Delivery per recipient, through a real SMTP server that refuses one address with 550."""

import datetime as dt
import io
import json

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import OperationalError
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from connections import emails, expiry, notices, tasks
from connections.models import Notice, NoticeRecipient
from tests.smtp_support import MailServer

TODAY = dt.date(2027, 3, 1)
OK, REJECT = "ok@example.com", "reject@example.com"


@pytest.fixture
def clock():
    with time_machine.travel(dt.datetime(2027, 3, 1, 8, tzinfo=dt.UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture
def smtp():
    with MailServer(refuse={REJECT}) as server, override_settings(**server.settings()):
        yield server


def _due(make_connection, label="Zapier", days=7):
    return make_connection(label, expires_on=TODAY + dt.timedelta(days=days), recipients=[OK, REJECT])


@override_settings(NOTICE_MAX_ATTEMPTS=3)
def test_a_refused_recipient_is_retried_with_backoff_then_failed_and_the_other_gets_one_mail(
        make_connection, smtp, clock):
    _due(make_connection)
    for hours in (0, 1, 6, 24, 48):  # scans every so often; the delays are 1 h, 6 h, 24 h
        clock.move_to(dt.datetime(2027, 3, 1, 8, tzinfo=dt.UTC) + dt.timedelta(hours=hours, seconds=1))
        expiry.scan()
    assert len(smtp.mails_to(OK)) == 1
    assert smtp.refused[REJECT] == 3  # capped: the fourth and fifth scans tried nothing
    notice = Notice.objects.get()
    ok, reject = notice.deliveries.order_by("address")
    assert ok.sent_at and ok.attempts == 1
    assert reject.failed_at and reject.attempts == 3 and reject.last_error.startswith("550")
    assert notice.sent_at  # settled: someone got it, the rest was given up


def test_retries_wait_for_their_delay(make_connection, smtp, clock):
    _due(make_connection)
    expiry.scan()
    expiry.scan()  # straight away: not due again yet
    assert smtp.refused[REJECT] == 1
    row = NoticeRecipient.objects.get(address=REJECT)
    assert row.next_attempt_at == timezone.now() + dt.timedelta(hours=1)
    clock.shift(dt.timedelta(hours=1))
    expiry.scan()
    assert smtp.refused[REJECT] == 2 and len(smtp.mails_to(OK)) == 1


def test_the_sweep_sends_retries_that_fall_due_between_scans(make_connection, smtp, clock):
    _due(make_connection)
    expiry.scan()
    clock.shift(dt.timedelta(hours=1))
    tasks.sweep_runs.apply()
    assert smtp.refused[REJECT] == 2 and len(smtp.mails_to(OK)) == 1


def test_every_notice_mail_carries_a_message_id_derived_from_what_it_reports(make_connection, clock):
    first = _due(make_connection, "First")
    expiry.scan()
    [notice] = Notice.objects.all()
    ids = {m.message()["Message-ID"] for m in mail.outbox}
    assert ids == {emails.message_id([notice])}  # ok@'s and reject@'s digests: the same set
    assert emails.message_id([Notice.objects.get(pk=notice.pk)]) == emails.message_id([notice])
    second = _due(make_connection, "Second", days=3)
    notices.record(notices.rows_for(second, kind="expiring", threshold=3, summary="due"))
    both = list(Notice.objects.all())
    assert emails.message_id(both) == emails.message_id(both[::-1]) != emails.message_id([notice])
    assert first.public_id != second.public_id


def test_a_health_notice_goes_to_each_address_once(make_connection, smtp, clock):
    zapier = make_connection(recipients=[OK, REJECT])
    rows = notices.rows_for(zapier, kind="broken", summary="token_valid: refused", episode=1)
    notices.record(rows)
    for _ in range(3):
        notices.deliver(["broken"], digest=False)
        clock.shift(dt.timedelta(days=1))
    assert len(smtp.mails_to(OK)) == 1
    [message] = smtp.mails_to(OK)
    assert message["Message-ID"] == emails.message_id([Notice.objects.get()])


@override_settings(NOTICE_MAX_ATTEMPTS=1)
def test_a_bouncing_address_is_shown_on_the_connection_and_in_the_sysadmin_banner(
        make_connection, smtp, clock, sam_client, viewer, client):
    zapier = _due(make_connection)
    expiry.scan()
    page = sam_client.get(reverse("connections:detail", args=[zapier.public_id])).content.decode()
    assert f"mail to {REJECT} bounces" in page
    assert f"Mail to {REJECT} bounces" in page  # the banner, on every page for a sysadmin
    assert f"Mail to {REJECT} bounces" in sam_client.get(reverse("connections:list")).content.decode()
    client.force_login(viewer)
    assert "bounces" not in client.get(reverse("connections:list")).content.decode()

    zapier.recipients = [OK, "fixed@example.com"]  # corrected: the banner goes
    zapier.save()
    assert "bounces" not in sam_client.get(reverse("connections:list")).content.decode()


@override_settings(NOTICE_MAX_ATTEMPTS=1)
def test_an_archived_connections_bouncing_address_leaves_the_banner(make_connection, smtp, clock, sam_client):
    zapier = _due(make_connection)
    expiry.scan()
    assert f"Mail to {REJECT} bounces" in sam_client.get(reverse("connections:list")).content.decode()
    zapier.archived_at = timezone.now()
    zapier.save()
    assert "bounces" not in sam_client.get(reverse("connections:list")).content.decode()


def test_the_report_says_already_sent_only_for_a_notice_recorded_as_sent(make_connection, clock):
    zapier = make_connection(expires_on=TODAY + dt.timedelta(days=7))
    notices.record(notices.rows_for(zapier, kind="expiring", threshold=7, summary="due"))
    notices.claim(["expiring"])  # another scan holds it (sent, but not recorded yet)
    out = io.StringIO()
    call_command("connections", "expiry-scan", "--json", stdout=out)
    [row] = json.loads(out.getvalue())
    assert row["status"].startswith("pending")
    assert not mail.outbox


def test_the_scan_task_retries_a_database_blip(make_connection, monkeypatch, clock):
    make_connection(expires_on=TODAY + dt.timedelta(days=7))
    real_scan, calls = expiry.scan, []

    def blip_once():
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real_scan()

    monkeypatch.setattr(expiry, "scan", blip_once)
    tasks.expiry_scan.apply(throw=False)  # as a worker would: the Retry is not an error
    assert len(calls) == 2 and len(mail.outbox) == 1
    assert tasks.expiry_scan.max_retries == 5 and tasks.revalidate_connections.autoretry_for
