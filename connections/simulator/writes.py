"""The simulated writes: create and update groups, update users, add and remove memberships.

Each write is checked like Issuetrak checks it (`bodies`), needs a full administrator (Sys Admin,
or `IsAdmin` without the overriding `IsReadOnlyAdmin`; a read-only administrator gets 403), and a
group's permissions must satisfy the catalogue's rules: the raw API refuses what Zapier would
repair, with one Validation message per broken rule. A PUT replaces the object: fields left out
take their empty value, and a left-out `isActive` re-activates. `modifiedDate` moves on every PUT.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from connections.permissions import violations
from connections.simulator.bodies import (
    CREATE_GROUP,
    GROUP_REQUIRED,
    UPDATE_GROUP,
    UPDATE_USER,
    USER_REQUIRED,
    desired_state,
    invalid,
    memberships,
)
from connections.simulator.permissions import is_administrator
from connections.simulator.records import group_record, now_after, user_record
from connections.simulator.replies import ApiError, Reply, json_reply, new_trace_id, success, trace_only
from connections.simulator.sites import Group, Site, User

# UpdateUser fields that live on `User` itself, because the permission logic reads them.
_USER_ATTRIBUTES = {"displayName": "display_name", "isActive": "is_active", "isSysAdmin": "is_sys_admin",
                    "isAgent": "is_agent", "canLogin": "can_login", "email": "email"}


class RuleViolations(ApiError):
    """400 with one Validation item per broken permission rule."""

    def __init__(self, messages: list[str]):
        super().__init__(400, "Validation", " ".join(messages))
        self.messages = messages

    def reply(self) -> Reply:
        items = [{"type": "Validation", "message": message} for message in self.messages]
        return json_reply(400, {"traceId": new_trace_id(), "information": items})


def create_group(call) -> Reply:
    """`POST /Groups` (CreateGroup): 201 with the new `Group`."""
    state = _group_state(call.body, CREATE_GROUP)

    def change(site: Site) -> tuple[Site, Group]:
        caller = _administrator(site, call.user)
        if any(g.name.lower() == state["name"].lower() for g in site.groups):
            raise invalid(f"A group named '{state['name']}' already exists.")
        iid = max((g.iid for g in site.groups), default=0) + 1
        now = now_after(None)
        fields = {**_record_fields(state), "id": state["id"] or state["name"], "createdDate": now,
                  "modifiedDate": now, "createdByUserIid": caller.iid, "modifiedByUserIid": caller.iid}
        group = Group(iid, state["name"], tuple(state["permissions"]), fields)
        return replace(site, groups=(*site.groups, group)), group

    group = call.commit(change)
    return json_reply(201, {"traceId": new_trace_id(), "values": group_record(group)})


def update_group(call) -> Reply:
    """`PUT /Groups/{iid}` (UpdateGroup): the body is the group's whole new state."""
    state = _group_state(call.body, UPDATE_GROUP)
    iid = _path_iid(call)

    def change(site: Site) -> tuple[Site, Group]:
        caller = _administrator(site, call.user)
        group = _found(site.group(iid), "Group", iid)
        fields = {**group.fields, **_record_fields(state), "modifiedByUserIid": caller.iid,
                  "modifiedDate": now_after(group_record(group)["modifiedDate"])}
        updated = replace(group, name=state["name"], permissions=tuple(state["permissions"]), fields=fields)
        return replace(site, groups=tuple(updated if g.iid == iid else g for g in site.groups)), updated

    return success(group_record(call.commit(change)))


def update_user(call) -> Reply:
    """`PUT /Users/{iid}` (UpdateUser): the body is the user's whole new state."""
    state = desired_state(call.body, UPDATE_USER, USER_REQUIRED)
    iid = _path_iid(call)

    def change(site: Site) -> tuple[Site, User]:
        caller = _administrator(site, call.user)
        user = _found(site.user(iid), "User", iid)
        if state["isSysAdmin"] != user.is_sys_admin and not caller.is_sys_admin:
            raise ApiError(403, "Authorization", "Only a Sys Admin may grant or remove Sys Admin.")
        record = {**state, "loginAttempts": state["loginAttempts"] or 0,
                  "udfs": {"textFields": [], "dateFields": [], "listFields": []},
                  "modifiedByUserIid": caller.iid,
                  "modifiedDate": now_after(user_record(user)["modifiedDate"])}
        attributes = {attr: state[key] for key, attr in _USER_ATTRIBUTES.items()}
        updated = replace(user, **attributes, fields={**user.fields, **record})
        return _with_user(site, updated), updated

    return success(user_record(call.commit(change)))


def add_user_groups(call) -> Reply:
    """`POST /Users/{iid}/Memberships/Groups`: 201; a membership the user already has is kept."""
    return _change_memberships(call, add=True)


def remove_user_groups(call) -> Reply:
    """`DELETE /Users/{iid}/Memberships/Groups`: 200; removing a missing membership is no error."""
    return _change_memberships(call, add=False)


def _change_memberships(call, add: bool) -> Reply:
    group_iids = memberships(call.body)
    iid = _path_iid(call)

    def change(site: Site) -> tuple[Site, None]:
        _administrator(site, call.user)
        user = _found(site.user(iid), "User", iid)
        for group_iid in group_iids:
            group = site.group(group_iid)
            if group is None:
                raise invalid(f"Group with IID {group_iid} does not exist.")
            if add and group_record(group)["isAgentOnly"] and not user.is_agent:
                raise invalid(f"Group '{group.name}' is for agents only; user '{user.id}' is not an agent.")
        kept = [g for g in user.groups if add or g not in group_iids]
        new = [g for g in dict.fromkeys(group_iids) if add and g not in kept]
        return _with_user(site, replace(user, groups=(*kept, *new))), None

    call.commit(change)
    return trace_only(201 if add else 200)


def _group_state(body: bytes, spec) -> dict[str, Any]:
    state = desired_state(body, spec, GROUP_REQUIRED)
    state["permissions"] = list(dict.fromkeys(state["permissions"]))
    broken = violations(state["permissions"])
    if broken:
        raise RuleViolations(broken)
    return state


def _record_fields(state: dict[str, Any]) -> dict[str, Any]:
    """The group record fields a write sets, besides name and permissions (kept on `Group`)."""
    return {k: v for k, v in state.items() if k not in ("name", "permissions", "id")}


def _administrator(site: Site, user: User) -> User:
    """The caller as the site now knows it; 403 unless it may maintain Administration."""
    current = site.user(user.iid) or user
    if not is_administrator(site, current):
        raise ApiError(403, "Authorization", "The user does not have permission to perform this action.")
    return current


def _path_iid(call) -> int:
    raw = call.params["iid"]
    try:
        return int(raw)
    except ValueError:
        raise invalid(f"The value '{raw}' is not valid for iid.") from None


def _found(entity, kind: str, iid: int):
    if entity is None:
        raise ApiError(404, "NotFound", f"{kind} with IID {iid} could not be found.")
    return entity


def _with_user(site: Site, user: User) -> Site:
    return replace(site, users=tuple(user if u.iid == user.iid else u for u in site.users))
