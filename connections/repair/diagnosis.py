"""“Why is this token not an admin?” — explained from what the latest checklist run read.

No API call: the token_user and token_admin steps store the user's flags and its groups with
their permissions in the run's step details, and this module only reads them back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connections.choices import StepStatus
from connections.permissions import name_of

ADMIN, READ_ONLY, API = "IsAdmin", "IsReadOnlyAdmin", "CanUseApiV2"


@dataclass
class GroupGrant:
    """One of the token user's groups, and what it grants that matters here."""

    iid: int
    name: str
    permissions: list[str]

    @property
    def permission_names(self) -> list[str]:
        return [name_of(p) for p in self.permissions]

    @property
    def grants_admin(self) -> bool:
        return ADMIN in self.permissions

    @property
    def read_only_admin(self) -> bool:
        return READ_ONLY in self.permissions


@dataclass
class AdminDiagnosis:
    """The reasons the token's user cannot act as an administrator, in plain sentences."""

    login_id: str
    user: dict | None
    groups: list[GroupGrant] = field(default_factory=list)
    groups_read: bool = False
    reasons: list[str] = field(default_factory=list)


def explain(run) -> AdminDiagnosis | None:
    """The diagnosis for a finished run whose token_user or token_admin step did not pass, else None."""
    if run is None or not run.is_done:
        return None
    results = {r.key: r for r in run.results}
    user_step, admin_step = results.get("token_user"), results.get("token_admin")
    if admin_step is None or admin_step.status == StepStatus.PASS:
        return None
    login_id = f"“{run.connection.token_user}”" if run.connection.token_user else "the token's user"
    details = {**(user_step.details if user_step else {}), **admin_step.details}
    diagnosis = AdminDiagnosis(login_id, details.get("user"))
    if details.get("forbidden"):
        diagnosis.reasons.append(
            f"The site refused this token's reads of users and groups (403): {login_id} has neither "
            f"“{name_of(ADMIN)}” nor “{name_of(READ_ONLY)}”, so its groups cannot be listed with it.")
        return diagnosis
    _user_reasons(diagnosis)
    if "groups" in details:
        diagnosis.groups_read = True
        diagnosis.groups = [GroupGrant(g["iid"], g["name"], list(g["permissions"]))
                            for g in details["groups"]]
        _group_reasons(diagnosis)
    return diagnosis if diagnosis.reasons else None


def _user_reasons(diagnosis: AdminDiagnosis) -> None:
    user, who = diagnosis.user, diagnosis.login_id
    if user is None:
        return
    if not user.get("isActive"):
        diagnosis.reasons.append(f"{who} is inactive: its token cannot act at all until it is re-activated.")
    if not user.get("isAgent") and not user.get("isSysAdmin"):
        diagnosis.reasons.append(f"{who} is not an agent: administration permissions come from agent groups.")


def _group_reasons(diagnosis: AdminDiagnosis) -> None:
    who, groups = diagnosis.login_id, diagnosis.groups
    if diagnosis.user and diagnosis.user.get("isSysAdmin"):
        return
    admin = [g.name for g in groups if g.grants_admin]
    read_only = [g.name for g in groups if g.read_only_admin]
    if admin and read_only:
        diagnosis.reasons.append(
            f"{_quoted(read_only)} grant{'s' if len(read_only) == 1 else ''} “{name_of(READ_ONLY)}”, which "
            f"overrides the “{name_of(ADMIN)}” that {_quoted(admin)} grant{'s' if len(admin) == 1 else ''}.")
    elif not admin:
        diagnosis.reasons.append(f"{who} is no Sys Admin, and none of its groups grants “{name_of(ADMIN)}”.")
    if not any(API in g.permissions for g in groups):
        diagnosis.reasons.append(f"None of its groups grants “{name_of(API)}” ({API}).")


def _quoted(names: list[str]) -> str:
    return ", ".join(f"“{name}”" for name in names)
