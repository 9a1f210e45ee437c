"""A test notice from a connection: its recipients and the webhook, through the normal channels.

Nothing is recorded as a Notice (a test must not suppress a real expiry notice); the attempt and
its outcome are audited.
"""

import logging
import smtplib
from dataclasses import dataclass

from django.conf import settings

from connections import emails, webhook
from connections.choices import AuditAction
from connections.models import AuditEvent, Connection

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TestDelivery:
    """How one target (an address, or "the webhook") took the test notice."""

    __test__ = False  # not a pytest class, despite the name
    target: str
    ok: bool
    error: str = ""


def send(connection: Connection, *, by=None, via: str = "") -> list[TestDelivery]:
    """Send the test notice to each recipient separately and to the webhook; audit the outcome."""
    deliveries = [_mail(connection, address) for address in connection.recipients]
    if settings.EXPIRY_WEBHOOK_URL:
        deliveries.append(_webhook(connection))
    failed = [d.target for d in deliveries if not d.ok]
    summary = f"Test notice: {len(deliveries) - len(failed)} of {len(deliveries)} delivered"
    AuditEvent.objects.record(AuditAction.TEST_NOTICE_SENT, actor=by, via=via, connection=connection,
                              summary=summary + (f"; failed: {', '.join(failed)}" if failed else ""))
    return deliveries


def _mail(connection: Connection, address: str) -> TestDelivery:
    try:
        emails.send_test_notice([address], connection)
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()))
        return TestDelivery(address, False, f"refused by the mail server ({code} {_text(reply)})")
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("test notice e-mail failed: %s", type(exc).__name__)
        return TestDelivery(address, False, f"the mail server could not be used ({type(exc).__name__})")
    return TestDelivery(address, True)


def _webhook(connection: Connection) -> TestDelivery:
    try:
        webhook.post_text(webhook.test_notice_text(connection))
    except webhook.WebhookError as exc:  # its message never holds the URL (it may be a secret)
        return TestDelivery("the webhook", False, str(exc))
    return TestDelivery("the webhook", True)


def _text(reply) -> str:
    return (reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply))[:200]
