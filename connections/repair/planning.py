"""Planning a permission repair: read the token user and its groups with a Sys Admin's token, and
list the exact API calls that would make the user an administrator, each with its diff.

Reads only: nothing here writes to the site. `applying` carries a plan out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from connections.issuetrak import ApiResult, IssuetrakClient, Outcome
from connections.permissions import effective, name_of, plan

# The dedicated group the default plan creates (or reuses) for the token user.
GROUP_NAME = "API integration"
GROUP_PERMISSIONS = plan(["IsAdmin", "CanUseApiV2"]).permissions
# The writable fields of the OpenAPI UpdateGroup / UpdateUser schemas (a test compares them with
# the document). A merge PUT sends exactly these, as read, with only the intended ones changed.
UPDATE_GROUP_FIELDS = ("name", "isActive", "primaryOrganizationIid", "isAgentOnly", "phoneNumber", "email",
                       "sms", "departmentIid", "isRoundRobin", "permissions")
UPDATE_USER_FIELDS = (
    "isAgent", "firstName", "lastName", "displayName", "isActive", "canLogin", "isSysAdmin", "phoneNumber",
    "email", "sms", "primaryOrganizationIid", "locationIid", "departmentIid", "timeZone",
    "shouldHonorDaylightSavingsTime", "addressLineOne", "addressLineTwo", "city", "state", "postalCode",
    "country", "issueHubViewIid", "redirectAfterIssueSubmit", "homePage", "listFormat", "udfs",
    "loginAttempts",
)  # fmt: skip
# Counting a group's other members costs one read per site user: above this, it is not counted.
MEMBER_COUNT_MAX_USERS = 200
READ_SPACING_S = 0.1  # a plan's reads stay at 10 a second, half Issuetrak's 20 (Zapier shares it)
NEW_GROUP = "<new group iid>"  # stands for the iid of the group a plan creates, until it exists


class RepairError(Exception):
    """A repair cannot be planned or carried on; the message says why, and nothing was written."""


@dataclass
class Call:
    """One API write a plan makes: what it sends, to which object, and what changes."""

    action: str  # the IssuetrakClient method that sends it
    method: str
    path: str
    body: Any
    object: str
    diff: dict[str, dict[str, Any]]
    reason: str
    other_members: int | None = 0  # None: not counted (see MEMBER_COUNT_MAX_USERS)
    target: int | None = None  # the iid in the path
    # For a PUT: ("Groups" | "Users", iid, modifiedDate as planned); re-read before writing.
    guard: tuple[str, int, str] | None = None

    def as_dict(self) -> dict:
        """The call as printed by --json and shown on the page."""
        return {"method": self.method, "path": self.path, "body": self.body, "object": self.object,
                "diff": self.diff, "reason": self.reason, "other_members": self.other_members}


@dataclass
class Option:
    """A change the plan did not include because it needs the user's consent, and what it costs."""

    flag: str
    problem: str
    consequence: str

    def as_dict(self) -> dict:
        return {"flag": self.flag, "problem": self.problem, "consequence": self.consequence}


@dataclass
class RepairPlan:
    """Who the token user is, whether it is an administrator already, and the calls that fix it."""

    label: str
    login_id: str
    user: dict
    already_admin: bool
    calls: list[Call] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)

    @property
    def needed(self) -> bool:
        """Whether anything must change (planned or offered) for the user to be an administrator."""
        return not self.already_admin

    def as_dict(self) -> dict:
        return {"connection": self.label, "token_user": self.login_id, "user_iid": self.user.get("iid"),
                "already_admin": self.already_admin, "calls": [c.as_dict() for c in self.calls],
                "options": [o.as_dict() for o in self.options]}


def diff_of(before: dict, after: dict) -> dict[str, dict[str, Any]]:
    """{field: {"before", "after"}} for every field whose value differs."""
    keys = [*before, *(k for k in after if k not in before)]
    return {k: {"before": before.get(k), "after": after.get(k)}
            for k in keys if before.get(k) != after.get(k)}


def merged(record: dict, writable: tuple[str, ...], changes: dict) -> dict:
    """A merge PUT body: every writable field exactly as read, the intended ones changed, nothing else."""
    unknown = set(changes) - set(writable)
    if unknown:
        raise ValueError(f"not writable: {', '.join(sorted(unknown))}")
    return {key: changes.get(key, record[key]) for key in writable if key in record or key in changes}


def read(result: ApiResult, what: str) -> Any:
    """The values of a successful read, else a RepairError saying what the admin token met."""
    if result.ok:
        return result.values
    if result.outcome == Outcome.UNAUTHORIZED:
        raise RepairError("The admin token was refused (wrong, revoked or expired). Nothing was changed.")
    if result.outcome == Outcome.FORBIDDEN:
        raise RepairError(f"The admin token's user may not {what} (403): type a Sys Admin's token. "
                          "Nothing was changed.")
    raise RepairError(f"Could not {what}: {result.message} Nothing was changed.")


class PacedReads:
    """The client's calls, no closer together than READ_SPACING_S (a plan may read a few dozen)."""

    def __init__(self, client: IssuetrakClient):
        self._client = client
        self._last = float("-inf")

    def __getattr__(self, name: str):
        method = getattr(self._client, name)

        def paced(*args, **kwargs):
            wait = self._last + READ_SPACING_S - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                return method(*args, **kwargs)
            finally:
                self._last = time.monotonic()

        return paced


class Planner:
    """Reads the site with the admin token and builds a RepairPlan (reads only)."""

    def __init__(self, client: IssuetrakClient, label: str, login_id: str):
        self.client, self.label, self.login_id = PacedReads(client), label, login_id

    def plan(self, *, remove_readonly_override: bool = False, reactivate_user: bool = False) -> RepairPlan:
        user = self._user()
        groups = self._groups_of(user["iid"])
        granted = {p for g in groups for p in g.get("permissions") or []}
        admin = user.get("isSysAdmin") or "IsAdmin" in effective(granted)
        repair = RepairPlan(self.label, self.login_id, user, bool(admin and user.get("isActive")))
        if repair.already_admin:
            return repair
        if not user.get("isActive"):
            self._reactivation(repair, user, reactivate_user)
        if not user.get("isSysAdmin"):
            if not set(GROUP_PERMISSIONS) <= granted:
                self._dedicated_group(repair, user, groups)
            overriding = [g for g in groups if "IsReadOnlyAdmin" in (g.get("permissions") or [])]
            if overriding:
                self._override(repair, user, groups, overriding, remove_readonly_override)
        return repair

    # --- reads ---

    def _user(self) -> dict:
        found = read(self.client.search_users(self.login_id), "search users")
        match = next((u for u in found or [] if str(u.get("id", "")).lower() == self.login_id.lower()), None)
        if match is None:
            raise RepairError(f"No Issuetrak user has the User ID “{self.login_id}”. Nothing was changed.")
        return read(self.client.get_user(match["iid"]), "read users")

    def _groups_of(self, user_iid: int) -> list[dict]:
        memberships = read(self.client.user_groups(user_iid), "read group memberships") or []
        return [read(self.client.get_group(m["groupIid"]), "read groups") for m in memberships]

    def _find_group(self, name: str) -> dict | None:
        page, pages = 1, 1
        while page <= pages:
            result = self.client.list_groups(page=page)
            for group in read(result, "list groups") or []:
                if str(group.get("name", "")).strip().lower() == name.lower():
                    return read(self.client.get_group(group["iid"]), "read groups")
            pages = int((result.paging or {}).get("pageCount") or 1)
            page += 1
        return None

    def _other_members(self, group_iid: int, user_iid: int) -> int | None:
        """How many users besides the token user are in the group (None when too costly to count)."""
        first = self.client.list_users(page=1)
        total = int((first.paging or {}).get("itemTotal") or len(first.values or []))
        if total > MEMBER_COUNT_MAX_USERS:
            return None
        users, pages = list(read(first, "list users") or []), int((first.paging or {}).get("pageCount") or 1)
        for page in range(2, pages + 1):
            users += read(self.client.list_users(page=page), "list users") or []
        count = 0
        for other in users:
            if other.get("iid") == user_iid:
                continue
            held = read(self.client.user_groups(other["iid"]), "read group memberships") or []
            count += any(m.get("groupIid") == group_iid for m in held)
        return count

    # --- the parts of a plan ---

    def _reactivation(self, repair: RepairPlan, user: dict, consent: bool) -> None:
        who = f"“{self.login_id}”"
        consequence = (f"PUT /Users/{user['iid']} as a merge: only isActive changes (false → true); "
                       f"{who} can use its token again" + (" and sign in" if user.get("canLogin") else "")
                       + ", and counts as an active user again.")
        if not consent:
            repair.options.append(Option("--reactivate-user", f"{who} is inactive, so its token cannot work.",
                                         consequence))
            return
        body = merged(user, UPDATE_USER_FIELDS, {"isActive": True})
        repair.calls.append(Call("update_user", "PUT", f"/Users/{user['iid']}", body, _user_object(who, user),
                                 diff_of(_writable(user, UPDATE_USER_FIELDS), body),
                                 f"Re-activate {who}: {consequence}", target=user["iid"],
                                 guard=("Users", user["iid"], user.get("modifiedDate"))))

    def _dedicated_group(self, repair: RepairPlan, user: dict, groups: list[dict]) -> None:
        existing = self._find_group(GROUP_NAME)
        who = f"“{self.login_id}”"
        if existing is None:
            body = {"name": GROUP_NAME, "primaryOrganizationIid": user.get("primaryOrganizationIid") or 1,
                    "isAgentOnly": True, "permissions": list(GROUP_PERMISSIONS)}
            self._needs_agent(user)
            repair.calls.append(Call("create_group", "POST", "/Groups", body, f"group “{GROUP_NAME}” (new)",
                                     diff_of({}, body), f"Create the agent-only group “{GROUP_NAME}” "
                                     f"granting {_names(GROUP_PERMISSIONS)}; it has no members yet."))
            group_iid = NEW_GROUP
        else:
            group_iid = existing["iid"]
            if existing.get("isAgentOnly"):
                self._needs_agent(user)
            self._complete_group(repair, existing, user)
        if all(g["iid"] != group_iid for g in groups):
            names = [g.get("name") for g in groups]
            path = f"/Users/{user['iid']}/Memberships/Groups"
            repair.calls.append(Call("add_membership", "POST", path, [{"groupIid": group_iid}],
                                     _user_object(who, user),
                                     {"groups": {"before": names, "after": [*names, GROUP_NAME]}},
                                     f"Add {who} to “{GROUP_NAME}”; only {who} changes.", target=user["iid"]))

    def _complete_group(self, repair: RepairPlan, group: dict, user: dict) -> None:
        # A reused group keeps its other permissions; the planner adds what is missing.
        wanted = plan([*(group.get("permissions") or []), *GROUP_PERMISSIONS]).permissions
        changes = {}
        if set(wanted) != set(group.get("permissions") or []):
            changes["permissions"] = list(wanted)
        if group.get("isActive") is False:
            changes["isActive"] = True
        if not changes:
            return
        body = merged(group, UPDATE_GROUP_FIELDS, changes)
        others = self._other_members(group["iid"], user["iid"])
        affected = "an uncounted number of" if others is None else str(others)
        subject = f"group “{group['name']}” (iid {group['iid']})"
        diff = diff_of(_writable(group, UPDATE_GROUP_FIELDS), body)
        repair.calls.append(Call("update_group", "PUT", f"/Groups/{group['iid']}", body, subject, diff,
                                 f"Reuse “{group['name']}”, completing it as a merge; {affected} other "
                                 "member(s) gain the same.", other_members=others, target=group["iid"],
                                 guard=("Groups", group["iid"], group.get("modifiedDate"))))

    def _override(self, repair: RepairPlan, user: dict, groups: list[dict], overriding: list[dict],
                  consent: bool) -> None:
        who = f"“{self.login_id}”"
        kept = [g for g in groups if g not in overriding]
        still = {p for g in kept for p in g.get("permissions") or []} | set(GROUP_PERMISSIONS)
        lost = sorted({p for g in overriding for p in g.get("permissions") or []} - still)
        names = ", ".join(f"“{g.get('name')}”" for g in overriding)
        consequence = (f"DELETE /Users/{user['iid']}/Memberships/Groups takes {who} out of {names}; {who} "
                       f"loses {_names(lost)}. The groups and their other members do not change.")
        if not consent:
            repair.options.append(Option("--remove-readonly-override", f"{names} give {who} “Allowed Read "
                                         "Only access to Administration information”, which overrides "
                                         "the administration permission.", consequence))
            return
        before = [g.get("name") for g in groups]
        repair.calls.append(Call("remove_membership", "DELETE", f"/Users/{user['iid']}/Memberships/Groups",
                                 [{"groupIid": g["iid"]} for g in overriding], _user_object(who, user),
                                 {"groups": {"before": before, "after": [g.get("name") for g in kept]}},
                                 f"Remove the read-only override: {consequence}", target=user["iid"]))

    def _needs_agent(self, user: dict) -> None:
        if not user.get("isAgent"):
            raise RepairError(f"“{self.login_id}” is not an agent, and “{GROUP_NAME}” is for agents only "
                              "(administration permissions are agent permissions). Make the user an "
                              "agent in Issuetrak, or create the token for an agent. Nothing was changed.")


def _user_object(who: str, user: dict) -> str:
    return f"user {who} (iid {user['iid']})"


def _writable(record: dict, fields: tuple[str, ...]) -> dict:
    return {key: record[key] for key in fields if key in record}


def _names(permissions) -> str:
    return ", ".join(f"“{name_of(p)}”" for p in permissions) or "nothing"
