"""E-mails, one function each; subject, text and HTML templates per mail. Never a token."""

import functools
import uuid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse

from connections import text_rules


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


_PLACEHOLDER = uuid.UUID(int=0)


@functools.lru_cache(maxsize=8)
def _rotate_path(script_prefix: str) -> str:
    # Resolved once (per script prefix) with a placeholder: a digest of thousands of items
    # need not reverse() each.
    return reverse("connections:rotate", args=[_PLACEHOLDER])


def rotation_link(connection) -> str:
    """Where the owner fixes it: the connection's rotation page."""
    return _absolute(_rotate_path(get_script_prefix()).replace(str(_PLACEHOLDER), str(connection.public_id)))


def _send(recipients: list[str], template: str, context: dict) -> None:
    # Subjects are plain text (their templates turn autoescape off, so no "&lt;"), on one line,
    # and an older label's control characters show as escapes instead of acting on a terminal.
    subject = render_to_string(f"emails/{template}_subject.txt", context)
    subject = text_rules.printable(" ".join(subject.split()))
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    mail = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, recipients)
    mail.attach_alternative(html, "text/html")
    mail.send()


def send_expiry_digest(recipients: list[str], notices: list) -> None:
    """One mail listing every due connection of this recipient, each with its rotation link."""
    items = [{"notice": n, "connection": n.connection, "link": rotation_link(n.connection),
              "days_left": n.connection.days_left()} for n in notices]
    items.sort(key=lambda i: (i["days_left"] is None, i["days_left"] or 0, i["connection"].label))
    _send(recipients, "expiry_digest", {"items": items, "count": len(items)})


def send_health_notice(recipients: list[str], notices: list) -> None:
    """A connection broke, stopped authenticating early, or recovered."""
    notice = notices[0]
    _send(recipients, "health_notice", {
        "notice": notice, "connection": notice.connection, "link": rotation_link(notice.connection),
    })


def send_test_notice(recipients: list[str], connection) -> None:
    """A test notice: proves that mail for this connection reaches its recipients."""
    _send(recipients, "test_notice", {"connection": connection,
                                      "link": _absolute(connection.get_absolute_url())})
