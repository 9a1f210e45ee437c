"""API tokens at rest: Fernet encryption with rotatable keys, fingerprints, input cleaning
(the rule itself lives in connections.issuetrak.rules).

Keys come from settings.TOKEN_ENCRYPTION_KEYS, newest first. Fernet ciphertext carries no key
id, so MultiFernet tries each key in turn; `reencrypt` moves a ciphertext to the newest key.
"""

import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError

from connections.issuetrak import rules


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
    """The client package's token rule (strip, then refuse empty, long or spaced tokens)."""
    try:
        return rules.clean_token(value)
    except rules.InputRefused as refused:
        raise ValidationError(str(refused), code=refused.code) from None
