"""The shape of `values` each reader relies on, as the OpenAPI document promises it.

A 2xx answer whose `values` is not this shape (wrong JSON types, missing keys, nulls where the
document has none) becomes a `bad-response` result, so no step ever indexes into something the
site did not promise. Only the fields the app reads are checked; extra fields are fine.

A shape is a type (or tuple of types), `Maybe(shape)` (null allowed), `[shape]` (an array of
it) or a dict of field → shape (an object with those keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Maybe:
    """The shape, or null (the document allows null for this field)."""

    shape: Any


INT, STR, BOOL = int, str, bool

# Users (User schema): the fields the checklist and the repair planner read.
USER = {"iid": INT, "id": STR, "isActive": BOOL, "isSysAdmin": BOOL,
        "displayName": Maybe(STR), "isAgent": Maybe(BOOL)}
# Lists and searches: callers read each user again by iid, so only iid and id are relied on.
USER_REFS = [{"iid": INT, "id": STR}]
# Groups (Group schema) and memberships (GroupMembership).
GROUP = {"iid": INT, "name": STR, "permissions": [STR]}
GROUP_REFS = [{"iid": INT, "name": STR}]  # a list: callers read the group again by iid
MEMBERSHIPS = [{"groupIid": INT}]
ANY_OBJECT = {}  # System/Settings: an object; the checklist reads nothing in it


def _name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {int: "a number", float: "a number", str: "a string", list: "an array",
            dict: "an object"}.get(type(value), type(value).__name__)


def _expected(shape: Any) -> str:
    if isinstance(shape, dict):
        return "an object"
    if isinstance(shape, list):
        return "an array"
    return {int: "a number", str: "a string", bool: "a boolean"}.get(shape, "something else")


def problem(value: Any, shape: Any, where: str = "values") -> str | None:
    """What is wrong with `value` against `shape` ("values[0].iid is a string, expected a
    number"), or None when it fits."""
    if isinstance(shape, Maybe):
        return None if value is None else problem(value, shape.shape, where)
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return f"{where} is {_name(value)}, expected an object"
        for key, inner in shape.items():
            if key not in value:
                return f"{where} has no “{key}”"
            found = problem(value[key], inner, f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(shape, list):
        if not isinstance(value, list):
            return f"{where} is {_name(value)}, expected an array"
        return next((found for i, item in enumerate(value)
                     if (found := problem(item, shape[0], f"{where}[{i}]"))), None)
    # bool is an int subclass in Python, but not a number in JSON
    fits = isinstance(value, shape) and (shape is bool or not isinstance(value, bool))
    return None if fits else f"{where} is {_name(value)}, expected {_expected(shape)}"
