"""Simulated Issuetrak sites: what a site holds, and the JSON format that describes one.

The built-in scenario sites (`connections.simulator.scenarios`) are written in this format, and
so are the extra sites given as ``IssuetrakSimulator(extra_sites=[...])`` (Python dicts) or
``manage.py issuetrak_simulator --sites FILE`` (a JSON file). A file holds either a JSON array of
sites or an object ``{"sites": [...]}``. An extra site whose name is a built-in one replaces it.

One site::

    {
      "name": "acme",
      "description": "Acme's training site",
      "flags": {"api_installed": true, "api_enabled": true, "behaviour": null},
      "users": [
        {"iid": 17, "id": "integration", "displayName": "Integration, API",
         "isActive": true, "isSysAdmin": false, "isAgent": true, "canLogin": false,
         "email": "integration@acme.example", "groups": [7]}
      ],
      "groups": [
        {"iid": 7, "name": "API Administrators", "permissions": ["IsAdmin", "CanUseApiV2"]}
      ],
      "tokens": {"acme-token": 17},
      "revoked_tokens": ["old-acme-token"],
      "settings": {"listSize": 50},
      "rate_limits": {"per_10_minutes": 1000}
    }

Site keys:

- ``name`` (required): letters, digits, ``.``, ``_``, ``-``, not starting with ``_`` (``/_sim``
  is the simulator's own). The site's Application URL is ``{root}/{name}`` and its API
  ``{root}/{name}/api/v2``.
- ``description``: one line shown by the management command (default empty).
- ``flags.api_installed`` (default true): false makes every path answer the web server's HTML 404.
- ``flags.api_enabled`` (default true): false makes every API path answer 403 ``ApiDisabled``.
- ``flags.behaviour`` (default null): ``"slow"`` (answer after ``slow_seconds``), ``"rate_limited"``
  (always 429, ``Retry-After: 120``), ``"server_error"`` (500 envelope), ``"garbage"`` (200 HTML
  page), ``"redirect_away"`` (302 to another host). Dashes are accepted for underscores.
- ``flags.latency_seconds`` (default 0): every API request is answered only after this many
  seconds (a slow but working site: e.g. one second per group read).
- ``users``: ``iid`` (int) and ``id`` (login ID) and ``displayName`` are required; ``isActive``
  (default true), ``isSysAdmin`` (false), ``isAgent`` (true), ``canLogin`` (true), ``email``
  (""), ``groups`` (group iids, default []). First and last name come from a
  ``"Last, First"`` display name.
- ``groups``: ``iid`` and ``name`` required; ``permissions`` from the OpenAPI ``Permissions``
  enum (see `connections.simulator.permissions.PERMISSIONS`), default [].
- ``tokens``: token value → iid of the user it represents (an active user; a token of an
  inactive user answers 401).
- ``revoked_tokens``: token values that once existed; they answer 401 like any unknown token,
  but the management command shows them as the token to try.
- ``settings``: overrides of the ``GET /System/Settings`` values (booleans, and ``listSize``
  25–100, which is also the default page size).
- ``rate_limits``: raised (or lowered) limits for some of the site's rate-limit windows, by name:
  ``per_second`` (default 20), ``writes_per_second`` (5), ``per_minute`` (100),
  ``per_10_minutes`` (100), ``per_hour`` (1000), ``per_12_hours`` (1000); positive integers.

Unknown keys are errors, so a typo (``"isadmin"``) is reported rather than silently ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connections.simulator.permissions import PERMISSIONS
from connections.simulator.ratelimit import WINDOW_NAMES

BEHAVIOURS = frozenset({"slow", "rate_limited", "server_error", "garbage", "redirect_away"})

DEFAULT_SETTINGS: Mapping[str, Any] = {
    "isIdentityManagementEnabled": False,
    "isCalendarEnabled": True,
    "isKnowledgeBaseEnabled": True,
    "isProjectsEnabled": False,
    "isDepartmentsEnabled": True,
    "isLocationsEnabled": True,
    "isOutgoingEmailEnabled": True,
    "isRegionsEnabled": False,
    "isSelfServicePasswordResetEnabled": True,
    "listSize": 25,
}

_NAME = re.compile(r"^[A-Za-z0-9.-][A-Za-z0-9._-]*$")
_SITE_KEYS = {"name", "description", "flags", "users", "groups", "tokens", "revoked_tokens", "settings",
              "rate_limits"}
_FLAG_KEYS = {"api_installed", "api_enabled", "behaviour", "latency_seconds"}
# JSON key → (attribute, type, default); `...` marks a required key.
_USER_FIELDS = {
    "iid": ("iid", int, ...),
    "id": ("id", str, ...),
    "displayName": ("display_name", str, ...),
    "isActive": ("is_active", bool, True),
    "isSysAdmin": ("is_sys_admin", bool, False),
    "isAgent": ("is_agent", bool, True),
    "canLogin": ("can_login", bool, True),
    "email": ("email", str, ""),
    "groups": ("groups", list, []),
}
_GROUP_FIELDS = {
    "iid": ("iid", int, ...),
    "name": ("name", str, ...),
    "permissions": ("permissions", list, []),
}


class SiteFileError(ValueError):
    """A site description that does not follow the format; the message says where."""


@dataclass(frozen=True)
class User:
    """An Issuetrak user, as much of it as the simulator needs."""

    iid: int
    id: str
    display_name: str
    is_active: bool = True
    is_sys_admin: bool = False
    is_agent: bool = True
    can_login: bool = True
    email: str = ""
    groups: tuple[int, ...] = ()
    # Record fields a simulated write has set; they override the generated ones (see `records`).
    fields: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Group:
    """An Issuetrak group and the permissions it grants its members."""

    iid: int
    name: str
    permissions: tuple[str, ...] = ()
    fields: Mapping[str, Any] = field(default_factory=dict, compare=False)  # as on `User`


@dataclass(frozen=True)
class Site:
    """One simulated Issuetrak site: its scenario flags, directory and API tokens."""

    name: str
    description: str = ""
    api_installed: bool = True
    api_enabled: bool = True
    behaviour: str | None = None
    latency_seconds: float = 0.0
    users: tuple[User, ...] = ()
    groups: tuple[Group, ...] = ()
    tokens: Mapping[str, int] = field(default_factory=dict)
    revoked_tokens: tuple[str, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_SETTINGS))
    rate_limits: Mapping[str, int] = field(default_factory=dict)  # window name → limit, overriding defaults

    def user(self, iid: int) -> User | None:
        """The user with this iid, or None."""
        return next((u for u in self.users if u.iid == iid), None)

    def group(self, iid: int) -> Group | None:
        """The group with this iid, or None."""
        return next((g for g in self.groups if g.iid == iid), None)

    def token_user(self, token: str | None) -> User | None:
        """The user a token represents, or None for a missing, unknown or revoked token."""
        # Exact comparison on purpose: Issuetrak rejects a token with stray quotes or spaces.
        iid = self.tokens.get(token) if token is not None else None
        return self.user(iid) if iid is not None else None

    @property
    def token_hint(self) -> str | None:
        """The token to try on this site (a revoked one when that is the point of the site)."""
        return next(iter(self.tokens), None) or next(iter(self.revoked_tokens), None)


def read_sites_file(path: str | Path) -> list[Any]:
    """The site dicts of a sites file (a JSON array of sites, or ``{"sites": [...]}``), unchecked."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SiteFileError(str(exc)) from exc
    return _site_list(document)


def load_sites_file(path: str | Path) -> list[Site]:
    """The checked sites of a sites file."""
    return parse_sites(read_sites_file(path))


def parse_sites(document: Any) -> list[Site]:
    """Turn site dicts (a list, or ``{"sites": [...]}``) into sites, rejecting duplicate names."""
    sites = [site_from_dict(item, f"sites[{n}]") for n, item in enumerate(_site_list(document))]
    names = [site.name for site in sites]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise SiteFileError(f"duplicate site name(s): {', '.join(duplicates)}")
    return sites


def _site_list(document: Any) -> list[Any]:
    if isinstance(document, Mapping) and set(document) == {"sites"}:
        document = document["sites"]
    if not isinstance(document, list):
        raise SiteFileError('expected a JSON array of sites, or {"sites": [...]}')
    return document


def site_from_dict(data: Any, where: str = "site") -> Site:
    """Build one site from its dict, checking types and cross-references."""
    data = _mapping(data, where, _SITE_KEYS)
    name = _required(data, "name", str, where)
    if not _NAME.match(name):
        raise SiteFileError(f"{where}.name: {name!r} may hold only letters, digits, '.', '_' and '-', "
                            "and may not start with '_'")
    flags = _flags(data.get("flags", {}), f"{where}.flags")
    groups = tuple(_group(g, f"{where}.groups[{n}]") for n, g in enumerate(_list(data, "groups", where)))
    users = tuple(_user(u, f"{where}.users[{n}]") for n, u in enumerate(_list(data, "users", where)))
    site = Site(
        name=name,
        description=_optional(data, "description", str, "", where),
        users=users,
        groups=groups,
        tokens=_tokens(data.get("tokens", {}), f"{where}.tokens"),
        revoked_tokens=tuple(_strings(data.get("revoked_tokens", []), f"{where}.revoked_tokens")),
        settings=_settings(data.get("settings", {}), f"{where}.settings"),
        rate_limits=_rate_limits(data.get("rate_limits", {}), f"{where}.rate_limits"),
        **flags,
    )
    _check_references(site, where)
    return site


def merge_sites(builtin: Iterable[Site], extra: Iterable[Site]) -> dict[str, Site]:
    """Built-in sites by name, with extra sites added or replacing a built-in of the same name."""
    return {site.name: site for site in [*builtin, *extra]}


def _flags(data: Any, where: str) -> dict[str, Any]:
    data = _mapping(data, where, _FLAG_KEYS)
    behaviour = _optional(data, "behaviour", (str, type(None)), None, where)
    if behaviour is not None:
        behaviour = behaviour.replace("-", "_")
        if behaviour not in BEHAVIOURS:
            choices = ", ".join(sorted(BEHAVIOURS))
            raise SiteFileError(f"{where}.behaviour: {behaviour!r} is not one of {choices} or null")
    return {
        "api_installed": _optional(data, "api_installed", bool, True, where),
        "api_enabled": _optional(data, "api_enabled", bool, True, where),
        "behaviour": behaviour,
        "latency_seconds": _latency(data, where),
    }


def _latency(data: Mapping[str, Any], where: str) -> float:
    value = _optional(data, "latency_seconds", (int, float), 0, where)
    if isinstance(value, bool) or value < 0:
        raise SiteFileError(f"{where}.latency_seconds: a number of seconds, 0 or more")
    return float(value)


def _user(data: Any, where: str) -> User:
    values = _fields(data, _USER_FIELDS, where)
    values["groups"] = tuple(_ints(values["groups"], f"{where}.groups"))
    return User(**values)


def _group(data: Any, where: str) -> Group:
    values = _fields(data, _GROUP_FIELDS, where)
    permissions = tuple(_strings(values["permissions"], f"{where}.permissions"))
    unknown = [p for p in permissions if p not in PERMISSIONS]
    if unknown:
        raise SiteFileError(f"{where}.permissions: not Issuetrak permissions: {', '.join(unknown)}")
    return Group(iid=values["iid"], name=values["name"], permissions=permissions)


def _tokens(data: Any, where: str) -> dict[str, int]:
    data = _mapping(data, where, None)
    for token, iid in data.items():
        if not token or not _is(iid, int):
            raise SiteFileError(f"{where}: each token must map to a user iid (an integer)")
    return dict(data)


def _settings(data: Any, where: str) -> dict[str, Any]:
    data = _mapping(data, where, set(DEFAULT_SETTINGS))
    for key, value in data.items():
        expected = type(DEFAULT_SETTINGS[key])
        if not _is(value, expected):
            raise SiteFileError(f"{where}.{key}: expected {expected.__name__}")
    if not 25 <= data.get("listSize", 25) <= 100:
        raise SiteFileError(f"{where}.listSize: must be between 25 and 100")
    return {**DEFAULT_SETTINGS, **data}


def _rate_limits(data: Any, where: str) -> dict[str, int]:
    data = _mapping(data, where, set(WINDOW_NAMES))
    for key, value in data.items():
        if not _is(value, int) or value < 1:
            raise SiteFileError(f"{where}.{key}: expected a positive integer")
    return dict(data)


def _check_references(site: Site, where: str) -> None:
    """Every iid is unique, every membership names a group, every token names a user."""
    for kind, items in (("user", site.users), ("group", site.groups)):
        iids = [item.iid for item in items]
        if len(iids) != len(set(iids)):
            raise SiteFileError(f"{where}: two {kind}s share an iid")
    for user in site.users:
        missing = [iid for iid in user.groups if site.group(iid) is None]
        if missing:
            raise SiteFileError(f"{where}: user {user.id!r} is in unknown group(s) {missing}")
    for iid in site.tokens.values():
        if site.user(iid) is None:
            raise SiteFileError(f"{where}.tokens: a token names unknown user iid {iid}")


def _fields(data: Any, spec: Mapping[str, tuple], where: str) -> dict[str, Any]:
    data = _mapping(data, where, set(spec))
    values = {}
    for key, (attribute, kind, default) in spec.items():
        if default is ...:
            values[attribute] = _required(data, key, kind, where)
        else:
            values[attribute] = _optional(data, key, kind, default, where)
    return values


def _mapping(data: Any, where: str, allowed: set[str] | None) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise SiteFileError(f"{where}: expected an object")
    unknown = sorted(set(data) - allowed) if allowed is not None else []
    if unknown:
        raise SiteFileError(f"{where}: unknown key(s) {', '.join(unknown)}")
    return data


def _required(data: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in data:
        raise SiteFileError(f"{where}.{key}: required")
    return _optional(data, key, kind, None, where)


def _optional(data: Mapping[str, Any], key: str, kind: type | tuple, default: Any, where: str) -> Any:
    value = data.get(key, default)
    if key in data and not _is(value, kind):
        raise SiteFileError(f"{where}.{key}: wrong type ({type(value).__name__})")
    return value


def _list(data: Mapping[str, Any], key: str, where: str) -> list:
    return _optional(data, key, list, [], where)


def _strings(values: Any, where: str) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise SiteFileError(f"{where}: expected a list of strings")
    return values


def _ints(values: list, where: str) -> list[int]:
    if not all(_is(v, int) for v in values):
        raise SiteFileError(f"{where}: expected a list of integers")
    return values


def _is(value: Any, kind: type | tuple) -> bool:
    # bool is an int in Python; a JSON true must not pass as an iid, nor 1 as a flag.
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool):
        return bool in kinds
    return isinstance(value, kinds)
