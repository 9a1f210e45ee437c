"""Keyset pagination: a page is found by the sort key of its edge row, never by OFFSET or COUNT,
so the last page of 100,000 rows costs what the first does (given an index on the keys).

Links carry ``?after=CURSOR`` (the next page), ``?before=CURSOR`` (the previous one) or
``?page=last``; a cursor is the edge row's key values, opaque to the reader.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass

from django.db.models import Q, QuerySet

CURSOR_PARAMS = ("after", "before", "page")


@dataclass
class KeysetPage:
    object_list: list
    has_previous: bool
    has_next: bool
    previous_cursor: str = ""
    next_cursor: str = ""

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next


def _tag(value) -> str:
    if isinstance(value, dt.datetime):
        return "t" + value.isoformat()
    if isinstance(value, dt.date):
        return "d" + value.isoformat()
    if isinstance(value, int):
        return "i" + str(value)
    return "s" + str(value)


def _untag(text: str):
    kind, raw = text[:1], text[1:]
    parse = {"t": dt.datetime.fromisoformat, "d": dt.date.fromisoformat, "i": int, "s": str}[kind]
    return parse(raw)


def encode(row, keys: list[str]) -> str:
    """The cursor for `row`: its key values, typed, as URL-safe base64."""
    payload = json.dumps([_tag(getattr(row, key)) for key in keys], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode(cursor: str, keys: list[str]) -> list | None:
    """The key values in a cursor, or None for anything that is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = [_untag(v) for v in json.loads(base64.urlsafe_b64decode(padded.encode()))]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        return None
    return values if len(values) == len(keys) else None


def _beyond(keys: list[str], values: list, descending: bool) -> Q:
    """Rows after `values` in the walking order: k1 >= v1 AND (k1 > v1 OR (k2 >= v2 AND …)).

    The leading >= on each key gives the database an index range to start from.
    """
    strict, loose = ("lt", "lte") if descending else ("gt", "gte")
    key, value = keys[0], values[0]
    if len(keys) == 1:
        return Q(**{f"{key}__{strict}": value})
    return Q(**{f"{key}__{loose}": value}) & (
        Q(**{f"{key}__{strict}": value}) | _beyond(keys[1:], values[1:], descending))


def _ordered(queryset: QuerySet, keys: list[str], descending: bool) -> QuerySet:
    return queryset.order_by(*(f"-{k}" if descending else k for k in keys))


def paginate(queryset: QuerySet, keys: list[str], *, descending: bool, params, size: int) -> KeysetPage:
    """One page of `queryset` walked by `keys` (never NULL; the last one unique, e.g. "id")."""
    after = decode(params.get("after", ""), keys) if params.get("after") else None
    before = decode(params.get("before", ""), keys) if params.get("before") else None
    if params.get("page") == "last" or before is not None:
        backwards = _ordered(queryset, keys, not descending)
        if before is not None:
            backwards = backwards.filter(_beyond(keys, before, not descending))
        rows = list(backwards[:size + 1])
        more = len(rows) > size
        rows = rows[:size][::-1]
        if before is not None and not more:  # reached the start: show a full first page
            return paginate(queryset, keys, descending=descending, params={}, size=size)
        return _page(rows, keys, has_previous=more, has_next=before is not None)
    forwards = _ordered(queryset, keys, descending)
    if after is not None:
        forwards = forwards.filter(_beyond(keys, after, descending))
    rows = list(forwards[:size + 1])
    if after is not None and not rows:  # past the end (rows went away): show the last page
        return paginate(queryset, keys, descending=descending, params={"page": "last"}, size=size)
    more = len(rows) > size
    return _page(rows[:size], keys, has_previous=after is not None, has_next=more)


def _page(rows: list, keys: list[str], *, has_previous: bool, has_next: bool) -> KeysetPage:
    return KeysetPage(
        rows, has_previous=has_previous, has_next=has_next,
        previous_cursor=encode(rows[0], keys) if rows and has_previous else "",
        next_cursor=encode(rows[-1], keys) if rows and has_next else "",
    )
