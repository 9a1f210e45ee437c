"""Paged lists: paging and sorting (`GET /X` query, `POST /X/Search` body) and Search filters.

Rules from the OpenAPI document: `PageNumber` ≥ 1 (default 1), `PageSize` 1–100 (default the
site's `listSize`); a Search body is a `*Filter` whose keys name record fields and whose values
are criteria such as ``{"type": "MatchAny", "values": [...]}``. Criteria types and property names
are matched case-insensitively, as ASP.NET does. Bad values answer 400 with the error envelope.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from connections.simulator.replies import ApiError

# Which fields a Search may filter on, and with which kind of criteria. The documents's
# filters offer more (dates, UDFs, enums); the simulator answers those with 400 rather than
# silently ignoring them.
USER_FILTERS = {
    "iid": "int", "id": "string", "displayName": "string", "firstName": "string", "lastName": "string",
    "email": "string", "phoneNumber": "string", "sms": "string", "isAgent": "bool", "isActive": "bool",
    "canLogin": "bool", "isSysAdmin": "bool", "primaryOrganizationIid": "int", "locationIid": "int",
    "departmentIid": "int", "createdByUserIid": "int", "modifiedByUserIid": "int",
}  # fmt: skip
GROUP_FILTERS = {
    "iid": "int", "id": "string", "name": "string", "isActive": "bool", "isAgentOnly": "bool",
    "isRoundRobin": "bool", "primaryOrganizationIid": "int", "createdByUserIid": "int",
    "modifiedByUserIid": "int",
}  # fmt: skip
# Sort options whose name is not the field's name with a lower-case first letter.
_SORT_ALIASES = {"addressone": "addressLineOne", "addresstwo": "addressLineTwo", "zip": "postalCode",
                 "createdby": "createdByUserIid"}  # fmt: skip
_PAGING_KEYS = {"pagenumber", "pagesize", "sortfield", "sortdirection"}


@dataclass(frozen=True)
class PageRequest:
    """Which page of which ordering the caller asked for."""

    number: int = 1
    size: int | None = None
    sort_field: str | None = None
    sort_direction: str | None = None


def page_request_from_query(query: Mapping[str, list[str]]) -> PageRequest:
    """Read `PageNumber`, `PageSize`, `SortField`, `SortDirection` from a query string."""
    first = {key.lower(): values[0] for key, values in query.items() if values}
    return PageRequest(
        number=_page_number(_query_int(first, "pagenumber", "PageNumber")),
        size=_page_size(_query_int(first, "pagesize", "PageSize")),
        sort_field=first.get("sortfield"),
        sort_direction=first.get("sortdirection"),
    )


def page_request_from_body(body: Mapping[str, Any]) -> PageRequest:
    """Read ``pageNumber``, ``pageSize``, ``sortField``, ``sortDirection`` from a Search body."""
    given = {key.lower(): value for key, value in body.items() if key.lower() in _PAGING_KEYS}
    for key in ("pagenumber", "pagesize"):
        if not (given.get(key) is None or _is_int(given[key])):
            raise ApiError(400, "Validation", f"{key} must be an integer.")
    for key in ("sortfield", "sortdirection"):
        if not (given.get(key) is None or isinstance(given[key], str)):
            raise ApiError(400, "Validation", f"{key} must be a string.")
    return PageRequest(
        number=_page_number(given.get("pagenumber")),
        size=_page_size(given.get("pagesize")),
        sort_field=given.get("sortfield"),
        sort_direction=given.get("sortdirection"),
    )


def page(records: list[dict[str, Any]], request: PageRequest, default_size: int, default_key: str = "iid"):
    """Sort (by `default_key` unless the request names a field) and cut one page.

    Returns ``(values, pagingInformation)``; a page past the end is empty, not an error.
    """
    ordered = _sorted(records, request.sort_field, request.sort_direction, default_key)
    size = request.size or default_size
    start = (request.number - 1) * size
    paging = {"page": request.number, "itemTotal": len(ordered), "pageCount": math.ceil(len(ordered) / size)}
    return ordered[start : start + size], paging


def apply_filter(records: list[dict[str, Any]], body: Mapping[str, Any], fields: Mapping[str, str]):
    """The records meeting every criterion of a Search body (paging keys are ignored here)."""
    by_lower = {name.lower(): name for name in fields}
    tests = []
    for key, criteria in body.items():
        if key.lower() in _PAGING_KEYS:
            continue
        name = by_lower.get(key.lower())
        if name is None:
            supported = ", ".join(fields)
            message = f"The simulator cannot filter on '{key}'; it can on: {supported}."
            raise ApiError(400, "Validation", message)
        tests.append((name, _criterion(name, fields[name], criteria)))
    return [r for r in records if all(test(r[name]) for name, test in tests)]


def _criterion(name: str, kind: str, criteria: Any) -> Callable[[Any], bool]:
    if not isinstance(criteria, Mapping) or not isinstance(criteria.get("type"), str):
        raise ApiError(400, "Validation", f"'{name}' must be a criteria object with a 'type'.")
    match_type = criteria["type"].lower()
    values = criteria.get("values") or []
    if not isinstance(values, list):
        raise ApiError(400, "Validation", f"'{name}.values' must be an array.")
    build = {"string": _string_test, "int": _int_test, "bool": _bool_test}[kind]
    test = build(match_type, values)
    if test is None:
        message = f"'{criteria['type']}' with {len(values)} value(s) is not valid for '{name}'."
        raise ApiError(400, "Validation", message)
    return test


def _string_test(match_type: str, values: list) -> Callable[[Any], bool] | None:
    if not all(isinstance(v, str) for v in values):
        return None
    wanted = [v.casefold() for v in values]
    one = len(wanted) == 1
    tests = {
        "matchany": (bool(wanted), lambda x: (x or "").casefold() in wanted),
        "contains": (one, lambda x: wanted[0] in (x or "").casefold()),
        "startswith": (one, lambda x: (x or "").casefold().startswith(wanted[0])),
        "endswith": (one, lambda x: (x or "").casefold().endswith(wanted[0])),
        "isblank": (not wanted, lambda x: not x),
        "hasvalue": (not wanted, lambda x: bool(x)),
    }
    valid, test = tests.get(match_type, (False, None))
    return test if valid else None


def _int_test(match_type: str, values: list) -> Callable[[Any], bool] | None:
    if not all(_is_int(v) for v in values):
        return None
    n = len(values)
    tests = {
        "matchany": (n >= 1, lambda x: x in values),
        "rangeinclusive": (n == 2, lambda x: x is not None and min(values) <= x <= max(values)),
        "lessthan": (n == 1, lambda x: x is not None and x < values[0]),
        "greaterthan": (n == 1, lambda x: x is not None and x > values[0]),
        "lessthanorequal": (n == 1, lambda x: x is not None and x <= values[0]),
        "greaterthanorequal": (n == 1, lambda x: x is not None and x >= values[0]),
        "isblank": (n == 0, lambda x: x is None),
        "hasvalue": (n == 0, lambda x: x is not None),
    }
    valid, test = tests.get(match_type, (False, None))
    return test if valid else None


def _bool_test(match_type: str, values: list) -> Callable[[Any], bool] | None:
    tests = {"istrue": lambda x: x is True, "isfalse": lambda x: x is False}
    return tests.get(match_type) if not values else None


def _sorted(records: list[dict[str, Any]], sort_field: str | None, direction: str | None, default_key: str):
    if (direction or "asc").lower() not in ("asc", "desc"):
        raise ApiError(400, "Validation", f"The value '{direction}' is not valid for SortDirection.")
    key = default_key if sort_field is None else _SORT_ALIASES.get(sort_field.lower(), _camel(sort_field))
    if records and key not in records[0]:
        raise ApiError(400, "Validation", f"The value '{sort_field}' is not valid for SortField.")
    ordered = sorted(records, key=lambda record: _sort_key(record[key]))
    return ordered[::-1] if (direction or "").lower() == "desc" else ordered


def _sort_key(value: Any) -> tuple:
    # Nulls first and text case-insensitively, as SQL Server orders them ascending.
    if value is None:
        return (False, 0)
    return (True, value.casefold() if isinstance(value, str) else value)


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _query_int(query: Mapping[str, str], key: str, label: str) -> int | None:
    if key not in query or query[key] == "":
        return None
    try:
        return int(query[key])
    except ValueError:
        raise ApiError(400, "Validation", f"The value '{query[key]}' is not valid for {label}.") from None


def _page_number(number: int | None) -> int:
    if number is not None and number < 1:
        raise ApiError(400, "Validation", "PageNumber must be greater than 0.")
    return number or 1


def _page_size(size: int | None) -> int | None:
    if size is not None and not 1 <= size <= 100:
        raise ApiError(400, "Validation", "PageSize must be between 1 and 100.")
    return size


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
