"""The optional webhook channel: one JSON POST per delivery that Slack and Teams accept."""

import logging
import re
import time
from urllib.parse import urlsplit

import requests
from django.conf import settings

from connections import text_rules
from connections.issuetrak.transport import Transport, _Failure

logger = logging.getLogger(__name__)

ATTEMPTS = 3
TIMEOUT_S = 5


class WebhookError(Exception):
    """The webhook did not accept the message after every attempt."""


SLACK_HOSTS = ("hooks.slack.com", "hooks.slack-gov.com")
# Markdown that Teams (and Slack-compatible chats) would act on; a backslash makes each literal.
# ".", "-" and "+" only matter at the start of a line, where our text never puts a label.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_~\[\](){}<>|#!&])")


def flavour_for(url: str) -> str:
    """Which escaping the chat behind `url` needs: Slack's, or Markdown's (Teams and the like)."""
    host = (urlsplit(url).hostname or "").lower()
    return "slack" if host in SLACK_HOSTS else "markdown"


def _escaped(value: str, flavour: str) -> str:
    """Text from a connection shown as itself: no links, mentions or formatting it could forge."""
    value = text_rules.printable(" ".join(str(value).split()))
    if flavour == "slack":  # Slack's own rule: only these three are control characters
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIALS.sub(r"\\\1", value)


def message_text(notices, flavour: str = "markdown") -> str:
    """Plain text, escaped for the chat's markup: incoming webhooks render `text`."""
    lines = [f"issuetrak-admin: {len(notices)} connection notice(s)"]
    for n in notices:
        label, url, summary = (_escaped(v, flavour) for v in (n.connection.label, n.connection.base_url,
                                                               n.summary))
        lines.append(f"• {label} ({url}): {summary}")
    return "\n".join(lines)


def post_notices(notices) -> None:
    """POST the notices; retry a few times on errors; raise WebhookError if all fail."""
    post_text(message_text(notices, flavour_for(settings.EXPIRY_WEBHOOK_URL)))


def test_notice_text(connection) -> str:
    """The test notice's message, escaped for the chat like every other."""
    flavour = flavour_for(settings.EXPIRY_WEBHOOK_URL)
    label, url = (_escaped(v, flavour) for v in (connection.label, connection.base_url))
    return (f"issuetrak-admin: TEST notice for “{label}” ({url}). "
            "Nothing is wrong: this checks that notices reach you.")


def post_text(text: str) -> None:
    """POST one message; retry a few times on errors; raise WebhookError if all fail."""
    payload = {"text": text}
    problem = ""
    with requests.Session() as session:
        # The same transport as the Issuetrak client (deadline, size cap, named failures, and
        # the outbound policy with the same settings: the webhook URL is an operator's setting,
        # but a loopback or metadata address there is as much a mistake as in a Base URL); a
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
