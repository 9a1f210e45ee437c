"""Development-only secrets: generated once into the data folder, never in production."""

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

_GENERATORS = {
    "django": lambda: secrets.token_urlsafe(50),
    "fernet": lambda: Fernet.generate_key().decode(),
}


def read_or_create_secret(path: Path, kind: str) -> str:
    """Return the secret stored at PATH, creating it (mode 0600) on first use."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    value = _GENERATORS[kind]()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process (worker, beat) won the race: use its value
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value
