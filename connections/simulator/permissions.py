"""Who may do what: Issuetrak's group permissions and the rules the simulator applies to them.

Issuetrak keeps permissions on groups, not users; a user's rights are the union of its groups'
permissions, plus the `isSysAdmin` user flag, which outranks every group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# The 60 values of the OpenAPI `Permissions` enum, in the document's order (one list, the catalogue's).
from connections.permissions import effective
from connections.permissions.catalogue import ENUM as PERMISSIONS

if TYPE_CHECKING:
    from connections.simulator.sites import Site, User

__all__ = ["PERMISSIONS", "can_read_administration", "can_use_api", "is_administrator", "permissions_of"]


def permissions_of(site: Site, user: User) -> set[str]:
    """The union of the permissions of every group `user` belongs to."""
    return {p for iid in user.groups for p in site.group(iid).permissions}


def is_administrator(site: Site, user: User) -> bool:
    """May maintain Administration: Sys Admin, or `IsAdmin` without the overriding `IsReadOnlyAdmin`."""
    return user.is_sys_admin or "IsAdmin" in effective(permissions_of(site, user))


def can_read_administration(site: Site, user: User) -> bool:
    """May see the Administration screens (and so the Users, Groups and Settings reads).

    A read-only administrator can read everything a full one can; only writes need
    `is_administrator` (see `connections.simulator.writes`).
    """
    granted = permissions_of(site, user)
    return user.is_sys_admin or bool(granted & {"IsAdmin", "IsReadOnlyAdmin"})


def can_use_api(site: Site, user: User) -> bool:
    """May authenticate with API v2 at all ("Can authenticate with the API v2"; Sys Admins always)."""
    return user.is_sys_admin or "CanUseApiV2" in permissions_of(site, user)
