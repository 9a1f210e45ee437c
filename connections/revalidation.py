"""Periodic re-validation: run the checklist on every active connection and notice breaks.

A connection whose site health gets worse produces one "broken" notice (or "revoked" when the
token stopped authenticating before its recorded expiry); nothing more while it stays broken;
one "recovered" notice when it passes again. Site health looks only at the steps about the
site and token (expiry has its own notices, so an approaching date is not a "break").
"""

from django.db.models import Case, Value, When
from django.utils import timezone

from connections import notices
from connections.models import (
    HEALTH_KINDS,
    ChecklistRun,
    Connection,
    NoticeKind,
    NotifierJob,
    NotifierRun,
    RunState,
    Trigger,
)
from connections.runs import check_many

SITE_STEPS = ("base_url", "reachable", "api_v2_installed", "api_v2_enabled", "token_valid",
              "token_user", "token_admin")
RANK = {"pass": 0, "skip": 0, "warn": 1, "fail": 2, "error": 2}
HEALTH = {0: "pass", 1: "warn", 2: "fail"}


def site_health(run: ChecklistRun) -> str:
    """pass / warn / fail over the site steps of a run (a crashed run counts as fail)."""
    if run.state != RunState.FINISHED:
        return "fail"
    ranks = [RANK[s["status"]] for s in run.steps if s["key"] in SITE_STEPS]
    return HEALTH[max(ranks, default=0)]


def _first_problem(run: ChecklistRun) -> dict:
    for step in run.steps:
        if step["key"] in SITE_STEPS and step["status"] in ("fail", "error", "warn"):
            return step
    return {"key": "run", "message": "The checklist run stopped unexpectedly.", "fix": ""}


def _revoked_early(connection: Connection, run: ChecklistRun) -> bool:
    token_step = next((s for s in run.steps if s["key"] == "token_valid"), None)
    not_expired = connection.expires_on is None or connection.expires_on >= timezone.localdate()
    return bool(token_step and token_step["status"] == "fail" and not_expired)


def transition(connection: Connection, run: ChecklistRun) -> tuple[dict | None, bool]:
    """(notice to record or None, whether a break is open afterwards)."""
    new = site_health(run)
    previous = connection.site_health or ("warn" if new == "warn" else "pass")
    if RANK[new] > RANK[previous] and not connection.alert_open:
        return _notice(connection, run, *_break_text(connection, run)), True
    if connection.alert_open and new == "pass":
        return _notice(connection, run, NoticeKind.RECOVERED,
                       "The checklist passes again: the connection works.", ""), False
    return None, connection.alert_open


def _break_text(connection, run) -> tuple[str, str, str]:
    if _revoked_early(connection, run):
        recorded = (f"its recorded expiration date {connection.expires_on:%Y-%m-%d} has not "
                    "passed" if connection.expires_on else "no expiration date is recorded")
        return (NoticeKind.REVOKED,
                f"The token stopped working although {recorded}: it was revoked in Issuetrak, "
                "or its expiration date was recorded wrongly (Issuetrak cannot tell us a "
                "token's real expiry).",
                "Create a new token in Issuetrak (gear icon → API v2 → Tokens → Add New) and "
                "replace it here; record its real expiration date.")
    step = _first_problem(run)
    return NoticeKind.BROKEN, f"{step['key']}: {step['message']}", step.get("fix", "")


def _notice(connection, run, kind, summary, fix) -> dict:
    return {"connection": connection.pk, "token_fingerprint": connection.token_fingerprint,
            "kind": kind, "threshold": 0, "episode": run.pk, "summary": summary[:500],
            "fix": fix, "created_at": timezone.now(), "recipients": connection.notify}


def revalidate_all(concurrency: int | None = None) -> dict:
    """Check every active connection (bounded, paced per site), notice changes, send them."""
    heartbeat = NotifierRun.objects.create(job=NotifierJob.REVALIDATION)
    connections = list(Connection.objects.active().exclude(token_fingerprint=""))
    runs = check_many(connections, trigger=Trigger.SCHEDULE, concurrency=concurrency, pace=True)
    rows, health, open_ = [], {}, {}
    for run in runs:
        notice, open_[run.connection_id] = transition(run.connection, run)
        health[run.connection_id] = site_health(run)
        if notice:
            rows += [notice | {"channel": ch, "recipients": notice["recipients"] if ch == "email" else []}
                     for ch in notices.channels()]
    _store_health(health, open_)
    notices.record(rows)
    delivery = notices.deliver(HEALTH_KINDS, digest=False)
    summary = {"checked": len(runs), "notices": len(rows), "sent": len(delivery.sent),
               "failed": len(delivery.failed),
               "overall": {o: sum(r.overall == o for r in runs) for o in ("pass", "warn", "fail")}}
    heartbeat.finished_at, heartbeat.summary = timezone.now(), summary
    heartbeat.save(update_fields=["finished_at", "summary"])
    return summary


def _store_health(health: dict[int, str], open_: dict[int, bool]) -> None:
    """One UPDATE for all connections (CASE on the primary key)."""
    if not health:
        return
    Connection.objects.filter(pk__in=list(health)).update(
        site_health=Case(*[When(pk=pk, then=Value(h)) for pk, h in health.items()]),
        alert_open=Case(*[When(pk=pk, then=Value(o)) for pk, o in open_.items()]),
    )
