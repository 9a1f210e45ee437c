"""Carrying out a RepairPlan: each write paced under Issuetrak's 5 writes/s, each PUT guarded by a
re-read of `modifiedDate`, each applied call audited, then the checklist run again."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from connections.choices import AuditAction, StepStatus
from connections.issuetrak import ApiResult, IssuetrakClient
from connections.models import AuditEvent, ChecklistRun
from connections.repair.planning import NEW_GROUP, Call, RepairError, RepairPlan, read
from connections.secrets import fingerprint

WRITE_SPACING_S = 0.25  # at most 4 writes a second: under Issuetrak's 5, with a margin


@dataclass
class Applied:
    """The calls that were made, and the checklist run made right after them."""

    calls: list[Call]
    run: ChecklistRun

    @property
    def admin_now(self) -> bool:
        """Whether the re-run's `token_admin` step passes."""
        return any(r.key == "token_admin" and r.status == StepStatus.PASS for r in self.run.results)


def apply_plan(connection, admin_token: str, repair: RepairPlan, *, trigger: str, by=None,
               via: str = "") -> Applied:
    """Make the plan's calls with the admin token (never stored), then re-run the checklist."""
    token_print = fingerprint(admin_token.strip())
    applied: list[Call] = []
    with IssuetrakClient(connection.base_url, admin_token) as client:
        writer = _PacedWriter(client)
        for call in repair.calls:
            _check_unchanged(client, call, applied)
            result = writer.send(call)
            if not result.ok:
                raise RepairError(f"{call.method} {call.path} was refused: {result.message} "
                                  f"{_so_far(applied)}")
            applied.append(call)
            _audit(connection, call, token_print, by, via)
    run = ChecklistRun.check_now(connection, trigger=trigger, by=by)
    return Applied(applied, run)


class _PacedWriter:
    """Sends planned calls no closer together than WRITE_SPACING_S; fills in a created group's iid."""

    def __init__(self, client: IssuetrakClient):
        self.client = client
        self.last = float("-inf")
        self.new_group: int | None = None

    def send(self, call: Call) -> ApiResult:
        wait = self.last + WRITE_SPACING_S - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        try:
            result = self._dispatch(call)
        finally:
            self.last = time.monotonic()
        if call.action == "create_group" and result.ok:
            self.new_group = result.values["iid"]
        return result

    def _dispatch(self, call: Call) -> ApiResult:
        if call.action == "create_group":
            return self.client.create_group(call.body)
        if call.action in ("update_group", "update_user"):
            return getattr(self.client, call.action)(call.target, call.body)
        groups = [self.new_group if m["groupIid"] == NEW_GROUP else m["groupIid"] for m in call.body]
        call.body = [{"groupIid": iid} for iid in groups]  # the audit shows the real iid
        return getattr(self.client, call.action)(call.target, groups)


def _check_unchanged(client: IssuetrakClient, call: Call, applied: list[Call]) -> None:
    """Stop before a PUT when someone changed the object since the plan read it."""
    if call.guard is None:
        return
    kind, iid, planned = call.guard
    fresh = client.get_group(iid) if kind == "Groups" else client.get_user(iid)
    current = read(fresh, f"re-read {call.object}")
    if current.get("modifiedDate") != planned:
        raise RepairError(f"{call.object} changed on the site since the plan was made (modifiedDate "
                          f"{planned} → {current.get('modifiedDate')}); it was not written. "
                          f"{_so_far(applied)} Plan again and review the new plan.")


def _so_far(applied: list[Call]) -> str:
    if not applied:
        return "Nothing was changed."
    return "Already applied: " + "; ".join(f"{c.method} {c.path}" for c in applied) + "."


def _audit(connection, call: Call, token_print: str, by, via: str) -> None:
    diff = json.dumps(call.diff, ensure_ascii=False, sort_keys=True)
    AuditEvent.objects.record(
        AuditAction.PERMISSIONS_REPAIRED, actor=by, via=via, connection=connection, object_repr=call.object,
        summary=f"{call.method} {call.path} with admin token {token_print}: {diff}")
