"""The webhook channel: Slack/Teams-shaped JSON; a failing webhook never stops the mail."""

import datetime as dt
import json
import logging
import socket

from django.core import mail
from django.utils import timezone

from connections import expiry, webhook
from connections.models import Notice
from tests.conftest import SECRET_TOKEN
from tests.http_fixtures import Reply, ScriptedServer


def test_expiry_notices_are_posted_as_text(make_connection, settings):
    make_connection("Zapier", expires_on=timezone.localdate() + dt.timedelta(days=3))
    with ScriptedServer({"/hook": Reply(200, "ok")}) as hook:
        settings.EXPIRY_WEBHOOK_URL = f"{hook.url}/hook"
        expiry.scan()
    [request] = hook.seen
    text = json.loads(request.body)["text"]
    assert "Zapier" in text and "expires in 3 days" in text
    assert SECRET_TOKEN not in request.body.decode()
    assert Notice.objects.filter(channel="webhook", sent_at__isnull=False).count() == 1
    assert len(mail.outbox) == 1


def test_a_failing_webhook_is_retried_later_and_the_mail_still_goes(make_connection, settings,
                                                                     monkeypatch):
    monkeypatch.setattr(webhook.time, "sleep", lambda s: None)
    make_connection("Zapier", expires_on=timezone.localdate() + dt.timedelta(days=3))
    with ScriptedServer({"/hook": Reply(500, "down")}) as hook:
        settings.EXPIRY_WEBHOOK_URL = f"{hook.url}/hook"
        expiry.scan()
    assert len(hook.seen) == webhook.ATTEMPTS
    assert len(mail.outbox) == 1
    pending = Notice.objects.get(channel="webhook")
    assert pending.sent_at is None and pending.last_error

    with ScriptedServer({"/hook": Reply(200, "ok")}) as hook:
        settings.EXPIRY_WEBHOOK_URL = f"{hook.url}/hook"
        expiry.scan()
    assert len(hook.seen) == 1
    assert len(mail.outbox) == 1  # the mail is not sent again
    pending.refresh_from_db()
    assert pending.sent_at


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_webhook_is_named_without_its_secret_url(make_connection, settings,
                                                                 monkeypatch, caplog):
    monkeypatch.setattr(webhook.time, "sleep", lambda s: None)
    caplog.set_level(logging.INFO)
    make_connection("Zapier", expires_on=timezone.localdate() + dt.timedelta(days=3))
    settings.EXPIRY_WEBHOOK_URL = f"http://127.0.0.1:{_closed_port()}/services/T0/B0/hook-secret-xyz"
    expiry.scan()
    assert Notice.objects.get(channel="webhook").sent_at is None
    failures = [r.getMessage() for r in caplog.records if "webhook" in r.getMessage()]
    assert failures and all("connect" in line for line in failures)
    assert "hook-secret-xyz" not in caplog.text


def test_a_redirecting_webhook_is_not_followed(make_connection, settings, monkeypatch, caplog):
    monkeypatch.setattr(webhook.time, "sleep", lambda s: None)
    caplog.set_level(logging.INFO)
    make_connection("Zapier", expires_on=timezone.localdate() + dt.timedelta(days=3))
    with ScriptedServer({"/hook": Reply(302, "", {"Location": "/elsewhere"}),
                         "/elsewhere": Reply(200, "ok")}) as hook:
        settings.EXPIRY_WEBHOOK_URL = f"{hook.url}/hook"
        expiry.scan()
    assert [seen.path for seen in hook.seen] == ["/hook"] * webhook.ATTEMPTS
    assert Notice.objects.get(channel="webhook").sent_at is None
    assert "HTTP 302" in caplog.text
