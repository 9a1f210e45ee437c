"""One repair action as the CLI and the page run it: check the inputs, plan, and maybe apply."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from connections.choices import Trigger
from connections.issuetrak import IssuetrakClient
from connections.repair.applying import Applied, apply_plan
from connections.repair.planning import Planner, RepairError, RepairPlan
from connections.repair.report import plan_lines


@dataclass
class FixOutcome:
    """The plan, and what applying it did (None for a dry run)."""

    plan: RepairPlan
    applied: Applied | None = None
    apply_requested: bool = False
    stale: bool = False  # the page's reviewed plan no longer matches the site: nothing was applied

    @property
    def digest(self) -> str:
        """A short hash of the planned calls and options: what a person reviewed before applying."""
        return plan_digest(self.plan)

    @property
    def exit_code(self) -> int:
        """Dry run: 0 nothing needed, 1 changes needed. Applied: 0 when token_admin passes, else 2."""
        if self.applied is None:
            return (2 if self.apply_requested else 1) if self.plan.needed else 0
        return 0 if self.applied.admin_now else 2

    @property
    def admin_now(self) -> bool:
        return self.applied.admin_now if self.applied else self.plan.already_admin

    def lines(self) -> list[str]:
        lines = plan_lines(self.plan, applying=self.applied is not None)
        if self.applied is not None:
            verdict = "passes" if self.admin_now else "still does not pass"
            lines.append(f"Applied {len(self.applied.calls)} call(s); checklist run again: "
                         f"{self.applied.run.overall}, token_admin {verdict}.")
        return lines

    def as_dict(self) -> dict:
        document = self.plan.as_dict() | {"applied": self.applied is not None}
        if self.applied is not None:
            document |= {"run_overall": self.applied.run.overall, "token_admin_passes": self.admin_now}
        return document


def plan_digest(repair: RepairPlan) -> str:
    """A short hash of a plan's calls and options (no token in it)."""
    reviewed = {"calls": [c.as_dict() for c in repair.calls],
                "options": [o.as_dict() for o in repair.options]}
    return hashlib.sha256(json.dumps(reviewed, sort_keys=True).encode()).hexdigest()[:16]


def clean_admin_token(raw: str) -> str:
    """The admin token as typed (surrounding whitespace dropped); RepairError when it is empty."""
    token = (raw or "").strip()
    if not token:
        raise RepairError("No admin token given: a Sys Admin types one for this action. Nothing was changed.")
    return token


def run(connection, admin_token: str, *, apply: bool, remove_readonly_override: bool = False,
        reactivate_user: bool = False, trigger: str = Trigger.CLI, by=None, via: str = "cli",
        reviewed: str | None = None) -> FixOutcome:
    """Plan the repair with the admin token (sent only to the connection's own site); apply if asked.

    With `reviewed` (a plan digest), nothing is applied unless the fresh plan is the one reviewed.
    """
    token = clean_admin_token(admin_token)
    if not connection.token_user:
        raise RepairError("No token user is recorded for this connection: record the Issuetrak User ID "
                          "the token acts as first. Nothing was changed.")
    try:
        client = IssuetrakClient(connection.base_url, token)
    except ValueError as bad:  # the message never repeats the token
        raise RepairError(f"{bad}. Nothing was changed.") from None
    with client:
        repair = Planner(client, connection.label, connection.token_user).plan(
            remove_readonly_override=remove_readonly_override, reactivate_user=reactivate_user)
    if not apply or not repair.calls:
        return FixOutcome(repair, apply_requested=apply)
    if reviewed is not None and plan_digest(repair) != reviewed:
        return FixOutcome(repair, apply_requested=True, stale=True)
    return FixOutcome(repair, apply_plan(connection, token, repair, trigger=trigger, by=by, via=via))
