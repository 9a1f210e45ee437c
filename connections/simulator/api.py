"""The API v2 application of one site: authentication, routing, permissions and the endpoints.

Reached only once the site is known to have API v2 installed and enabled (see `app`). Paths are
matched case-insensitively, as ASP.NET routes are (Issuetrak's own help writes
``/users/23/memberships/groups``). The writes live in `writes`; a method no route has for a known
path answers 405.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from connections.simulator.listing import (
    GROUP_FILTERS,
    USER_FILTERS,
    apply_filter,
    page,
    page_request_from_body,
    page_request_from_query,
)
from connections.simulator.permissions import can_read_administration, can_use_api
from connections.simulator.records import group_record, membership_records, settings_record, user_record
from connections.simulator.replies import ApiError, Reply, error, success, trace_only, unauthorized
from connections.simulator.sites import Group, Site, User
from connections.simulator.writes import (
    add_user_groups,
    create_group,
    remove_user_groups,
    update_group,
    update_user,
)

# Applies a change to the site as it is now, stores the new site, and returns the change's result.
Commit = Callable[[Callable[[Site], tuple[Site, Any]]], Any]


@dataclass(frozen=True)
class Call:
    """One authenticated request, as an endpoint sees it."""

    site: Site
    user: User
    query: Mapping[str, list[str]]
    body: bytes
    params: Mapping[str, str]
    commit: Commit


def handle(site: Site, method: str, api_path: str, query: Mapping[str, list[str]], token: str | None,
           body: bytes, commit: Commit) -> Reply:
    """Answer one request to ``{site}/api/v2/{api_path}``."""
    user = site.token_user(token)
    # An inactive user cannot authenticate, whatever its token: same answer as a wrong token.
    if user is None or not user.is_active:
        return unauthorized()
    if not can_use_api(site, user):
        return error(403, "Authorization", "The user does not have permission to authenticate with API v2.")
    try:
        endpoint, params, administration = _route(method, api_path.strip("/"))
        if administration and not can_read_administration(site, user):
            raise ApiError(403, "Authorization", "The user does not have permission to perform this action.")
        return endpoint(Call(site, user, query, body, params, commit))
    except ApiError as exc:
        return exc.reply()


def authenticate_test(call: Call) -> Reply:
    """`GET /Authenticate/test`: the document gives no body; we answer with a bare traceId."""
    return trace_only()


def get_settings(call: Call) -> Reply:
    """`GET /System/Settings`."""
    return success(settings_record(call.site))


def list_users(call: Call) -> Reply:
    """`GET /Users` (paged)."""
    return _paged(call, _users(call.site), page_request_from_query(call.query))


def search_users(call: Call) -> Reply:
    """`POST /Users/Search` with a `UserFilter` body."""
    body = _json_object(call.body)
    return _paged(call, apply_filter(_users(call.site), body, USER_FILTERS), page_request_from_body(body))


def get_user(call: Call) -> Reply:
    """`GET /Users/{iid}`."""
    return success(user_record(_found_user(call)))


def get_user_groups(call: Call) -> Reply:
    """`GET /Users/{iid}/Memberships/Groups`: paged, but the schema has no pagingInformation."""
    user = _found_user(call)
    request = page_request_from_query(call.query)
    if request.sort_field is not None and request.sort_field.lower() != "iid":
        raise ApiError(400, "Validation", f"The value '{request.sort_field}' is not valid for SortField.")
    size = call.site.settings["listSize"]
    values, _ = page(membership_records(user), replace(request, sort_field=None), size, "groupIid")
    return success(values)


def list_groups(call: Call) -> Reply:
    """`GET /Groups` (paged)."""
    return _paged(call, _groups(call.site), page_request_from_query(call.query))


def search_groups(call: Call) -> Reply:
    """`POST /Groups/Search` with a `GroupFilter` body."""
    body = _json_object(call.body)
    return _paged(call, apply_filter(_groups(call.site), body, GROUP_FILTERS), page_request_from_body(body))


def get_group(call: Call) -> Reply:
    """`GET /Groups/{iid}`, with the group's `permissions`."""
    group = _found(call.site.group, "Group", call.params["iid"])
    return success(group_record(group))


Endpoint = Callable[[Call], Reply]
_IID = r"(?P<iid>[^/]+)"
# (method, path, endpoint, needs the Administration screens). Literal paths come before
# `{iid}` ones so that `GET /Users/Search` is a wrong method, not a bad iid.
ROUTES: list[tuple[str, str, Endpoint, bool]] = [
    ("GET", "authenticate/test", authenticate_test, False),
    ("GET", "system/settings", get_settings, True),
    ("GET", "users", list_users, True),
    ("POST", "users/search", search_users, True),
    ("GET", f"users/{_IID}", get_user, True),
    ("GET", f"users/{_IID}/memberships/groups", get_user_groups, True),
    ("PUT", f"users/{_IID}", update_user, True),
    ("POST", f"users/{_IID}/memberships/groups", add_user_groups, True),
    ("DELETE", f"users/{_IID}/memberships/groups", remove_user_groups, True),
    ("GET", "groups", list_groups, True),
    ("POST", "groups", create_group, True),
    ("POST", "groups/search", search_groups, True),
    ("GET", f"groups/{_IID}", get_group, True),
    ("PUT", f"groups/{_IID}", update_group, True),
]
_COMPILED = [(method, re.compile(path, re.IGNORECASE), endpoint, admin)
             for method, path, endpoint, admin in ROUTES]


def _route(method: str, path: str) -> tuple[Endpoint, dict[str, str], bool]:
    """The endpoint for a path and method; the first path that matches decides which methods exist."""
    matches = [(m, match, e, a) for m, pattern, e, a in _COMPILED if (match := pattern.fullmatch(path))]
    if not matches:
        raise ApiError(404, "NotFound", f"No API v2 endpoint is found at '/{path}'.")
    first = matches[0][1].re.pattern
    for route_method, match, endpoint, administration in matches:
        if match.re.pattern == first and route_method == method:
            return endpoint, match.groupdict(), administration
    return _method_not_allowed(path), {}, False


def _method_not_allowed(path: str) -> Endpoint:
    first = next(pattern.pattern for _, pattern, _, _ in _COMPILED if pattern.fullmatch(path))
    allowed = ", ".join(method for method, pattern, _, _ in _COMPILED if pattern.pattern == first)
    return lambda call: Reply(405, headers={"Allow": allowed})


def _paged(call: Call, records: list[dict[str, Any]], request) -> Reply:
    values, paging = page(records, request, call.site.settings["listSize"])
    return success(values, paging)


def _users(site: Site) -> list[dict[str, Any]]:
    return [user_record(u) for u in sorted(site.users, key=lambda u: u.iid)]


def _groups(site: Site) -> list[dict[str, Any]]:
    return [group_record(g) for g in sorted(site.groups, key=lambda g: g.iid)]


def _found_user(call: Call) -> User:
    return _found(call.site.user, "User", call.params["iid"])


def _found(lookup: Callable[[int], User | Group | None], kind: str, raw_iid: str):
    """The entity for a path iid; 400 when the iid is no integer, 404 when nothing has it."""
    try:
        iid = int(raw_iid)
    except ValueError:
        raise ApiError(400, "Validation", f"The value '{raw_iid}' is not valid for iid.") from None
    entity = lookup(iid)
    if entity is None:
        raise ApiError(404, "NotFound", f"{kind} with IID {iid} could not be found.")
    return entity


def _json_object(body: bytes) -> dict[str, Any]:
    """A Search body: required, JSON, an object."""
    try:
        document = json.loads(body) if body.strip() else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "Validation", "The request body is not valid JSON.") from None
    if not isinstance(document, dict):
        raise ApiError(400, "Validation", "A request body with a filter object is required.")
    return document
