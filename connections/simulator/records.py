"""The JSON bodies of users, groups, memberships and settings, shaped like the OpenAPI schemas.

Field names and casing follow the document's `User`, `Group`, `GroupMembership` and `Settings`
schemas exactly (they forbid additional properties). Values the sites file does not describe
are filled with plausible, fixed ones, so two calls give the same answer.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from connections.simulator.sites import Group, Site, User

# .NET serialises an unspecified-kind DateTime without an offset; Issuetrak's answers look so.
_EPOCH = datetime(2021, 9, 14, 9, 30, 0)
_LAST_LOGIN = datetime(2026, 1, 12, 8, 5, 41)


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def now_after(previous: str | None) -> str:
    """The current time as Issuetrak writes it, strictly later than `previous` (a modifiedDate)."""
    moment = datetime.now(UTC).replace(tzinfo=None)
    if previous is not None:
        moment = max(moment, datetime.fromisoformat(previous) + timedelta(milliseconds=1))
    return _timestamp(moment)


def _names(display_name: str) -> tuple[str, str]:
    """First and last name from an Issuetrak-style "Last, First" display name."""
    last, _, first = display_name.partition(", ")
    return (first, last) if first else ("", display_name)


def user_record(user: User) -> dict[str, Any]:
    """A `User` as `GET /Users/{iid}` returns it."""
    first, last = _names(user.display_name)
    created = _EPOCH + timedelta(days=user.iid * 11, minutes=user.iid * 7)
    logs_in = user.can_login and user.is_active
    return {
        "isAgent": user.is_agent,
        "firstName": first,
        "lastName": last,
        "displayName": user.display_name,
        "isActive": user.is_active,
        "canLogin": user.can_login,
        "isSysAdmin": user.is_sys_admin,
        "phoneNumber": "",
        "email": user.email,
        "sms": "",
        "primaryOrganizationIid": 1,
        "locationIid": 1 if user.is_agent else None,
        "departmentIid": 2 if user.is_agent else None,
        "timeZone": "EST",
        "shouldHonorDaylightSavingsTime": True,
        "addressLineOne": "",
        "addressLineTwo": "",
        "city": "",
        "state": "",
        "postalCode": "",
        "country": "US",
        "issueHubViewIid": None,
        "redirectAfterIssueSubmit": "IssueView",
        "homePage": "IssueHub" if user.is_agent else "IssueSubmit",
        "iid": user.iid,
        "id": user.id,
        "authenticationType": "Issuetrak",
        "lastLogin": _timestamp(_LAST_LOGIN - timedelta(hours=user.iid * 5)) if logs_in else None,
        "loginAttempts": 0,
        "authenticationSource": "",
        "authenticationUserId": "",
        "createdByUserIid": 1,
        "createdDate": _timestamp(created),
        "modifiedByUserIid": 1,
        "modifiedDate": _timestamp(created + timedelta(days=30)),
        "udfs": {"textFields": [], "dateFields": [], "listFields": []},
        **user.fields,
    }


def group_record(group: Group) -> dict[str, Any]:
    """A `Group` as `GET /Groups/{iid}` returns it, with its `permissions`."""
    created = _EPOCH + timedelta(days=group.iid, hours=group.iid)
    return {
        "name": group.name,
        "isActive": True,
        "primaryOrganizationIid": 1,
        "isAgentOnly": "IsAdmin" in group.permissions or "CanBeAssignedIssues" in group.permissions,
        "phoneNumber": "",
        "email": "",
        "sms": "",
        "departmentIid": None,
        "isRoundRobin": False,
        "permissions": list(group.permissions),
        "iid": group.iid,
        "id": group.name,
        "createdByUserIid": 1,
        "modifiedByUserIid": 1,
        "createdDate": _timestamp(created),
        "modifiedDate": _timestamp(created + timedelta(days=90)),
        **group.fields,
    }


def membership_records(user: User) -> list[dict[str, Any]]:
    """The user's `GroupMembership`s: ``[{"groupIid": n}]``."""
    return [{"groupIid": iid} for iid in sorted(user.groups)]


def settings_record(site: Site) -> dict[str, Any]:
    """The site's `Settings` as `GET /System/Settings` returns them."""
    return dict(site.settings)
