"""Normalising an Issuetrak Application URL into the Base URL the API hangs off."""

import re
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from connections.procedure import DEFAULTS_MENU

MAX_URL_LENGTH = 500
# People often paste the API address instead of the Application URL.
_API_TAIL = re.compile(r"/api/v2(?:/.*)?$", re.IGNORECASE)
_url_validator = URLValidator(schemes=["http", "https"])


def normalize_base_url(value: str | None) -> str:
    """Return scheme://host[:port]/path with no trailing slash or /api/v2 tail, or raise."""
    raw = (value or "").strip()
    if not raw:
        raise ValidationError("Enter the site's Application URL.", code="required")
    if len(raw) > MAX_URL_LENGTH:
        raise ValidationError(f"A URL this long (over {MAX_URL_LENGTH}) is not an Application URL.")
    parts = urlsplit(raw)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValidationError(
            "Enter a full http(s) address such as https://support.example.com/issuetrak.",
            code="invalid",
        )
    if "@" in parts.netloc:
        raise ValidationError(
            "Remove the user name or password from the URL: the API token is the only credential.",
            code="invalid",
        )
    if parts.fragment or raw.endswith("#"):
        raise ValidationError("Remove the '#…' part: an Application URL has no fragment.")
    if parts.query:
        raise ValidationError("Remove the '?…' part: an Application URL has no query string.")
    path = _API_TAIL.sub("", parts.path).rstrip("/")
    normalized = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, "", ""))
    try:
        _url_validator(normalized)
    except ValidationError:
        raise ValidationError(
            f"That is not a valid web address; copy the Application URL from {DEFAULTS_MENU}.",
            code="invalid",
        ) from None
    return normalized
