"""What Issuetrak accepts as a Base URL and as an API token: the rules, in plain Python.

Each function returns the cleaned value or raises `InputRefused` (a ValueError) whose message
a person can act on; the forms turn it into a ValidationError with the same message and code.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from connections import text_rules
from connections.procedure import DEFAULTS_MENU

MAX_URL_LENGTH = 500
MAX_TOKEN_LENGTH = 1024
# People often paste the API address instead of the Application URL.
_API_TAIL = re.compile(r"/api/v2(?:/.*)?$", re.IGNORECASE)
_url_validator = URLValidator(schemes=["http", "https"])
_DEFAULT_PORTS = {"http": 80, "https": 443}


class InputRefused(ValueError):
    """A value Issuetrak would not accept; `code` is the form error code."""

    def __init__(self, message: str, code: str = "invalid"):
        super().__init__(message)
        self.code = code


def normalize_base_url(value: str | None) -> str:
    """Return scheme://host[:port]/path with no trailing slash or /api/v2 tail, or raise."""
    raw = (value or "").strip()
    if not raw:
        raise InputRefused("Enter the site's Application URL.", code="required")
    if len(raw) > MAX_URL_LENGTH:
        raise InputRefused(f"A URL this long (over {MAX_URL_LENGTH}) is not an Application URL.")
    if unsafe := text_rules.refusal(raw, "Base URL"):
        raise InputRefused(unsafe)
    parts = urlsplit(raw)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise InputRefused("Enter a full http(s) address such as https://support.example.com/issuetrak.")
    if "@" in parts.netloc:
        raise InputRefused(
            "Remove the user name or password from the URL: the API token is the only credential.")
    if parts.fragment or raw.endswith("#"):
        raise InputRefused("Remove the '#…' part: an Application URL has no fragment.")
    if parts.query:
        raise InputRefused("Remove the '?…' part: an Application URL has no query string.")
    path = _API_TAIL.sub("", parts.path).rstrip("/")
    normalized = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, "", ""))
    try:
        _url_validator(normalized)
    except ValidationError:
        raise InputRefused(
            f"That is not a valid web address; copy the Application URL from {DEFAULTS_MENU}."
        ) from None
    return normalized


def origin_of(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a normalised URL: the site a stored token is bound to."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme, 0)


def same_origin(a: str, b: str) -> bool:
    """Whether two Base URLs reach the same site (a path change is the same site)."""
    return origin_of(a) == origin_of(b)


def origin_text(url: str) -> str:
    """scheme://host[:port] for messages (the default port left out)."""
    scheme, host, port = origin_of(url)
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + ("" if port == _DEFAULT_PORTS.get(scheme) else f":{port}")


def clean_token(value: str | None) -> str:
    """Strip surrounding whitespace, then reject empty, oversized or space-containing tokens."""
    token = (value or "").strip()
    if not token:
        raise InputRefused("Paste the API token: it cannot be empty.", code="required")
    if len(token) > MAX_TOKEN_LENGTH:
        raise InputRefused(
            f"That is not an API token: it is longer than {MAX_TOKEN_LENGTH} characters.",
            code="max_length")
    if not token.isascii() or any(ch.isspace() or not ch.isprintable() for ch in token):
        raise InputRefused("An API token is one line with no spaces: copy only the New Token value.")
    if token[0] in "\"'" or token[-1] in "\"'":
        raise InputRefused("Remove the quotes around the token: Issuetrak would reject it.")
    return token
