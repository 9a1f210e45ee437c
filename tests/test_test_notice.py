"""A test notice from a connection: a real SMTP server takes it (one address refused), the webhook
gets it too; nothing is recorded as a notice, the attempt is audited, the page says how each went."""

import datetime as dt
import email
import email.policy
import json
import socket

import pytest
from aiosmtpd.controller import Controller
from django.urls import reverse
from django.utils import timezone

from connections import expiry
from connections.choices import AuditAction
from connections.models import AuditEvent, Notice
from tests.conftest import SECRET_TOKEN
from tests.http_fixtures import Reply, ScriptedServer

REFUSED = "gone@example.com"


class Mailbox:
    """An aiosmtpd handler: keeps what it is sent, refuses one address like a real server."""

    def __init__(self):
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == REFUSED:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(settings):
    mailbox = Mailbox()
    with socket.socket() as probe:  # a free port (aiosmtpd's start-up check cannot use port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield mailbox
    controller.stop()


@pytest.fixture
def zapier(make_connection):
    return make_connection("Zapier", recipients=["ops@example.com", REFUSED],
                           expires_on=timezone.localdate() + dt.timedelta(days=5))


def test_each_recipient_and_the_webhook_get_it_and_the_page_says_how_each_went(
        sam_client, zapier, smtp, settings):
    with ScriptedServer({"/hook": Reply(200, "ok")}) as hook:
        settings.EXPIRY_WEBHOOK_URL = f"{hook.url}/hook"
        response = sam_client.post(reverse("connections:test_notice", args=[zapier.public_id]), follow=True)
    page = response.content.decode()
    assert "Test notice delivered to ops@example.com." in page
    assert f"Test notice to {REFUSED} failed: refused by the mail server (550 5.1.1 mailbox" in page
    assert "Test notice delivered to the webhook." in page

    [(to, message)] = smtp.messages
    assert to == ["ops@example.com"]
    assert message["Subject"].strip() == "[Test] issuetrak-admin notices for “Zapier”"
    body = message.get_body(("plain",)).get_content()
    assert "Nothing is wrong" in body and SECRET_TOKEN not in body
    [request] = hook.seen
    assert "TEST notice for “Zapier”" in json.loads(request.body)["text"]

    event = AuditEvent.objects.get(action=AuditAction.TEST_NOTICE_SENT)
    assert event.actor_name == "sam" and event.connection == zapier
    assert event.summary == f"Test notice: 2 of 3 delivered; failed: {REFUSED}"


def test_a_test_notice_does_not_suppress_the_real_expiry_notice(sam_client, zapier, smtp):
    sam_client.post(reverse("connections:test_notice", args=[zapier.public_id]))
    assert not Notice.objects.exists()
    expiry.scan()
    assert Notice.objects.filter(kind="expiring", threshold=7).exists()
    subjects = [(to, message["Subject"].strip()) for to, message in smtp.messages]
    assert subjects[0] == (["ops@example.com"], "[Test] issuetrak-admin notices for “Zapier”")
    assert subjects[1][0] == ["ops@example.com"] and "[Test]" not in subjects[1][1]


def test_a_down_mail_server_is_reported_not_a_500(sam_client, zapier, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    response = sam_client.post(reverse("connections:test_notice", args=[zapier.public_id]), follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Test notice to ops@example.com failed: the mail server could not be used" in page


def test_only_sysadmins_see_the_button_and_a_get_sends_nothing(client, sysadmin, viewer, zapier):
    url = reverse("connections:test_notice", args=[zapier.public_id])
    client.force_login(sysadmin)
    assert "Send a test notice" in client.get(zapier.get_absolute_url()).content.decode()
    assert client.get(url).status_code == 302
    client.force_login(viewer)
    assert "Send a test notice" not in client.get(zapier.get_absolute_url()).content.decode()
    assert client.post(url).status_code == 403
    assert not AuditEvent.objects.filter(action=AuditAction.TEST_NOTICE_SENT).exists()
