"""API tokens at rest: Fernet encryption with rotatable keys, fingerprints, input cleaning.

Keys come from settings.TOKEN_ENCRYPTION_KEYS, newest first. Fernet ciphertext carries no key
id, so MultiFernet tries each key in turn; `reencrypt` moves a ciphertext to the newest key.
"""

import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError

MAX_TOKEN_LENGTH = 1024


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        # Never echo the key material itself.
        raise ImproperlyConfigured(
            "TOKEN_ENCRYPTION_KEYS must be comma-separated Fernet keys "
            "(32 url-safe base64-encoded bytes each)."
        ) from exc


def _fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.TOKEN_ENCRYPTION_KEYS))


def encrypt_token(raw: str) -> str:
    """Encrypt a cleaned token under the newest key."""
    return _fernet().encrypt(raw.encode()).decode()


def decrypt_token(ciphertext: str) -> str:
    """Decrypt a stored token; raises ImproperlyConfigured if no configured key fits."""
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A stored API token cannot be decrypted with TOKEN_ENCRYPTION_KEYS: "
            "was a retired key removed before `manage.py reencrypt_tokens` ran?"
        ) from None


def reencrypt(ciphertext: str) -> str:
    """Return the same token encrypted under the newest key."""
    try:
        return _fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured("A stored API token matches none of the keys.") from None


def fingerprint(raw: str) -> str:
    """First 8 hex characters of the token's SHA-256: enough to tell tokens apart."""
    return hashlib.sha256(raw.encode()).hexdigest()[:8]


def clean_token(value: str | None) -> str:
    """Strip surrounding whitespace, then reject empty, oversized or space-containing tokens."""
    token = (value or "").strip()
    if not token:
        raise ValidationError("Paste the API token: it cannot be empty.", code="required")
    if len(token) > MAX_TOKEN_LENGTH:
        raise ValidationError(
            f"That is not an API token: it is longer than {MAX_TOKEN_LENGTH} characters.",
            code="max_length",
        )
    if not token.isascii() or any(ch.isspace() or not ch.isprintable() for ch in token):
        raise ValidationError(
            "An API token is one line with no spaces: copy only the New Token value.",
            code="invalid",
        )
    if token[0] in "\"'" or token[-1] in "\"'":
        raise ValidationError(
            "Remove the quotes around the token: Issuetrak would reject it.", code="invalid"
        )
    return token
