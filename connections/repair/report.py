"""A RepairPlan as the lines the CLI prints (the page renders the same plan from its dict)."""

from __future__ import annotations

import json

from connections.repair.planning import RepairPlan


def plan_lines(repair: RepairPlan, *, applying: bool = False) -> list[str]:
    """The plan in plain text: each call with its body, diff and reach, then the offered options."""
    who = f"“{repair.login_id}”"
    if repair.already_admin:
        return [f"{repair.label}: {who} is already an administrator; nothing to change."]
    verb = "Applying" if applying else "Would make"
    head = f"{repair.label}: {who} cannot act as an administrator."
    if repair.calls:
        lines = [f"{head} {verb} {len(repair.calls)} API call(s):"]
    else:
        lines = [f"{head} No API call is planned without the flags below."]
    for number, call in enumerate(repair.calls, 1):
        lines.append(f"  {number}. {call.method} /api/v2{call.path}  ({call.object})")
        lines.append(f"     {call.reason}")
        lines.append(f"     body: {json.dumps(call.body, ensure_ascii=False)}")
        for name, change in call.diff.items():
            before, after = (json.dumps(change[k], ensure_ascii=False) for k in ("before", "after"))
            lines.append(f"     {name}: {before} → {after}")
        reach = "not counted" if call.other_members is None else str(call.other_members)
        lines.append(f"     other members affected: {reach}")
    for option in repair.options:
        lines.append(f"  Not planned: {option.problem}")
        lines.append(f"     {option.flag} would do it: {option.consequence}")
    return lines
