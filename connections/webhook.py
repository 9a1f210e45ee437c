"""The optional webhook channel: one JSON POST per delivery that Slack and Teams accept."""

import logging
import time

import requests
from django.conf import settings

from connections.issuetrak.transport import Transport, _Failure

logger = logging.getLogger(__name__)

ATTEMPTS = 3
TIMEOUT_S = 5


class WebhookError(Exception):
    """The webhook did not accept the message after every attempt."""


def message_text(notices) -> str:
    """Plain text with links: Slack's and Teams' incoming webhooks both render `text`."""
    lines = [f"issuetrak-admin: {len(notices)} connection notice(s)"]
    for n in notices:
        lines.append(f"• {n.connection.label} ({n.connection.base_url}): {n.summary}")
    return "\n".join(lines)


def post_notices(notices) -> None:
    """POST the notices; retry a few times on errors; raise WebhookError if all fail."""
    post_text(message_text(notices))


def post_text(text: str) -> None:
    """POST one message; retry a few times on errors; raise WebhookError if all fail."""
    payload = {"text": text}
    problem = ""
    with requests.Session() as session:
        # The same transport as the Issuetrak client (deadline, size cap, named failures); a
        # redirect is not followed but counted as a refusal, as a webhook must not move.
        transport = Transport(session, TIMEOUT_S, follow_redirects=False)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                answer = transport.exchange("POST", settings.EXPIRY_WEBHOOK_URL, body=payload)
                if 200 <= answer.status < 300:
                    return
                problem = f"HTTP {answer.status}"
            except _Failure as failure:
                problem = failure.result.outcome.value  # the URL may hold a secret: never log it
            logger.info("webhook attempt %d failed: %s", attempt, problem)
            if attempt < ATTEMPTS:
                time.sleep(0.5 * attempt)
    raise WebhookError(f"webhook refused the message after {ATTEMPTS} attempts ({problem})")
