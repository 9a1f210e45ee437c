"""Periodic re-validation: run the checklist on every active connection and notice breaks.

A connection whose site health gets worse produces one "broken" notice (or "revoked" when the
token stopped authenticating before its recorded expiry); nothing more while it stays broken;
one "recovered" notice when it passes again. Site health looks only at the site steps (expiry
has its own notices, so an approaching date is not a "break").
"""

from django.db.models import Case, Value, When
from django.utils import timezone

from connections import notices, procedure
from connections.choices import (
    HEALTH_KINDS,
    OVERALL_STATUSES,
    NoticeKind,
    NotifierJob,
    SiteHealth,
    StepStatus,
    Trigger,
)
from connections.models import ChecklistRun, Connection, NotifierRun
from connections.runs import check_many


def _revoked_early(connection: Connection, run: ChecklistRun) -> bool:
    token_step = run.result_of("token_valid")
    not_expired = connection.expires_on is None or connection.expires_on >= timezone.localdate()
    return bool(token_step and token_step.status == StepStatus.FAIL and not_expired)


def transition(connection: Connection, run: ChecklistRun) -> tuple[dict | None, bool]:
    """(the notice to record, as rows_for() arguments, or None; whether a break is open after)."""
    new = run.site_health()
    previous = SiteHealth(connection.site_health) if connection.site_health else (
        SiteHealth.WARN if new == SiteHealth.WARN else SiteHealth.PASS)
    if new.rank > previous.rank and not connection.alert_open:
        return _break_notice(connection, run), True
    if connection.alert_open and new == SiteHealth.PASS:
        return {"kind": NoticeKind.RECOVERED, "episode": run.pk,
                "summary": "The checklist passes again: the connection works."}, False
    return None, connection.alert_open


def _break_notice(connection: Connection, run: ChecklistRun) -> dict:
    if _revoked_early(connection, run):
        recorded = (f"its recorded expiration date {connection.expires_on:%Y-%m-%d} has not "
                    "passed" if connection.expires_on else "no expiration date is recorded")
        return {"kind": NoticeKind.REVOKED, "episode": run.pk,
                "summary": f"The token stopped working although {recorded}: it was revoked in "
                "Issuetrak, or its expiration date was recorded wrongly (Issuetrak cannot tell us "
                "a token's real expiry).",
                "fix": f"{procedure.CREATE_TOKEN} and replace it here; record its real expiration "
                "date."}
    problem = run.first_problem()
    return {"kind": NoticeKind.BROKEN, "episode": run.pk,
            "summary": f"{problem.key}: {problem.message}", "fix": problem.fix}


def revalidate_all(concurrency: int | None = None) -> dict:
    """Check every active connection (bounded, under the site limiter), notice changes, send them."""
    heartbeat = NotifierRun.objects.create(job=NotifierJob.REVALIDATION)
    connections = list(Connection.objects.active().with_token())
    runs = check_many(connections, trigger=Trigger.SCHEDULE, concurrency=concurrency)
    rows, health, open_ = [], {}, {}
    for run in runs:
        notice, open_[run.connection_id] = transition(run.connection, run)
        health[run.connection_id] = run.site_health()
        if notice:
            rows += notices.rows_for(run.connection, **notice)
    _store_health(health, open_)
    notices.record(rows)
    delivery = notices.deliver(HEALTH_KINDS, digest=False)
    summary = {"checked": len(runs), "notices": len(rows), "sent": len(delivery.sent),
               "failed": len(delivery.failed),
               "overall": {str(o): sum(r.overall == o for r in runs) for o in OVERALL_STATUSES}}
    heartbeat.finished_at, heartbeat.summary = timezone.now(), summary
    heartbeat.save(update_fields=["finished_at", "summary"])
    return summary


def _store_health(health: dict[int, SiteHealth], open_: dict[int, bool]) -> None:
    """One UPDATE for all connections (CASE on the primary key)."""
    if not health:
        return
    Connection.objects.filter(pk__in=list(health)).update(
        site_health=Case(*[When(pk=pk, then=Value(str(h))) for pk, h in health.items()]),
        alert_open=Case(*[When(pk=pk, then=Value(o)) for pk, o in open_.items()]),
    )
