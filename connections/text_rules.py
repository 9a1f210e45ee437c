"""Text that reaches terminals, mails and pages: control characters and bidi overrides are refused
on the way in and made visible on the way out (older rows may hold them)."""

from __future__ import annotations

import unicodedata

# Characters that reorder the text around them (a label reading "Zapier" that is really
# "reipaZ…"), or separate lines where one is expected.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                           "\u2066\u2067\u2068\u2069\u2028\u2029")


def _unsafe(char: str) -> bool:
    return char in _BIDI_CONTROLS or unicodedata.category(char) == "Cc"


def refusal(value: str, what: str, *, allowed: str = "") -> str:
    """A message naming the first control or bidi character in `value`, or "" when it is clean.

    Ordinary white space at either end is ignored (it is trimmed anyway); `allowed` lists control
    characters that are fine inside (e.g. newlines between e-mail addresses).
    """
    for char in (value or "").strip(" \t\r\n"):
        if _unsafe(char) and char not in allowed:
            kind = "a text-direction control" if char in _BIDI_CONTROLS else "a control character"
            return (f"The {what} contains {kind} (U+{ord(char):04X}); type it again without it.")
    return ""


def printable(value: str, *, keep: str = "") -> str:
    """`value` with each control or bidi character shown as an escape (\\x1b, \\u202e)."""
    return "".join(char if char in keep or not _unsafe(char) else _escape(char) for char in value)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
