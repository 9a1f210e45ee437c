"""The optional webhook channel: one JSON POST per delivery that Slack and Teams accept."""

import logging
import time

import requests
from django.conf import settings

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
    payload = {"text": message_text(notices)}
    problem = ""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            response = requests.post(settings.EXPIRY_WEBHOOK_URL, json=payload,
                                     timeout=TIMEOUT_S, allow_redirects=False)
            if 200 <= response.status_code < 300:
                return
            problem = f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            problem = type(exc).__name__  # the URL may hold a secret: never log it
        logger.info("webhook attempt %d failed: %s", attempt, problem)
        if attempt < ATTEMPTS:
            time.sleep(0.5 * attempt)
    raise WebhookError(f"webhook refused the notices after {ATTEMPTS} attempts ({problem})")
