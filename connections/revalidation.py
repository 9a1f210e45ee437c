"""Periodic re-validation: run the checklist on every active connection and notice breaks.

A connection whose site health gets worse produces one "broken" notice (or "revoked" when the
token stopped authenticating before its recorded expiry); nothing more while it stays broken;
one "recovered" notice when it passes again. Site health looks only at the site steps (expiry
has its own notices, so an approaching date is not a "break").

A round (`start_round`) creates every run in bulk and splits them into chunks, each of one
site's connections; a chunk (`check_chunk`) runs anywhere, in any process. The per-site steps
are decided once per site and round (later chunks reuse the first chunk's answer), user and group
reads once per chunk; the round's heartbeat is finished by whichever chunk ends it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db.models import Case, Count, Q, Value, When
from django.utils import timezone

from connections import notices, procedure, site_chunks
from connections.checklist.registry import SiteShare
from connections.choices import (
    HEALTH_KINDS,
    OVERALL_STATUSES,
    NoticeKind,
    NotifierJob,
    RunState,
    SiteHealth,
    StepStatus,
    Trigger,
)
from connections.models import ChecklistRun, Connection, Notice, NotifierRun
from connections.models.run import timed_checklist


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
            "summary": f"{problem.key}: {problem.unquoted_message}", "fix": problem.fix}


# --- A round -----------------------------------------------------------------------------------


def start_round(chunk_size: int | None = None, spread_s: float | None = None):
    """The round's heartbeat, every run created in bulk, and the chunks to check them in."""
    chunk_size = chunk_size or settings.REVALIDATION_CHUNK_SIZE
    spread_s = settings.REVALIDATION_SPREAD_MINUTES * 60 if spread_s is None else spread_s
    heartbeat = NotifierRun.objects.create(job=NotifierJob.REVALIDATION)
    connections = Connection.objects.active().with_token().order_by("pk").only(
        "pk", "base_url", "token_fingerprint")
    runs = ChecklistRun.start_many(connections, trigger=Trigger.SCHEDULE, round=heartbeat)
    if not runs:
        finish_round_if_done(heartbeat.pk)
    return heartbeat, site_chunks.plan(runs, chunk_size, spread_s)


def check_chunk(round_id: int, run_ids: list[int], anchor_id: int | None = None,
                budget_s: float | None = None) -> list[int]:
    """Claim and check these runs of one site; the run ids left for a later task (budget spent)."""
    outcomes, left = site_chunks.check_chunk(run_ids, anchor_id, budget_s)
    conclude(outcomes)
    finish_round_if_done(round_id)
    return left


def check_retry(run: ChecklistRun) -> None:
    """A retried scheduled run (the sweep interrupted the first): checked alone, concluded like
    its round's runs, and its round finished if it was the last."""
    claimed = ChecklistRun.claim_many([run.pk])
    if not claimed:
        return
    conclude([(claimed[0], *timed_checklist(claimed[0].connection))])
    if run.round_id:
        finish_round_if_done(run.round_id)


def conclude(outcomes) -> None:
    """Store finished runs and their connections' state in bulk, record and send notices."""
    runs = ChecklistRun.finish_many(outcomes)
    rows, update = [], {}
    for run in runs:
        if run.crashed:
            # A crashed run says nothing about the site: sysadmins get the fault alert
            # (connections.faults), owners no "broken" notice, and the connection keeps its health.
            continue
        connection = run.connection
        notice, open_ = transition(connection, run)
        update[run.connection_id] = (run.finished_at, run.overall, run.site_health(), open_)
        if notice:
            rows += notices.rows_for(connection, **notice)
    _store_connections(update)
    notices.record(rows)
    notices.deliver(HEALTH_KINDS, digest=False)  # this chunk's notices, and retries of earlier ones


def _store_connections(update: dict[int, tuple]) -> None:
    """One UPDATE for all of them (CASE on the primary key)."""
    if not update:
        return

    def column(index: int):
        return Case(*[When(pk=pk, then=Value(values[index])) for pk, values in update.items()])

    Connection.objects.filter(pk__in=list(update)).update(
        last_checked_at=column(0), last_overall=column(1),
        site_health=Case(*[When(pk=pk, then=Value(str(v[2]))) for pk, v in update.items()]),
        alert_open=column(3))


def finish_round_if_done(round_id: int) -> bool:
    """Finish the heartbeat once no run of the round is left; True for the one call that does."""
    runs = ChecklistRun.objects.filter(round_id=round_id)
    if runs.filter(state__in=[RunState.QUEUED, RunState.RUNNING]).exists():
        return False
    overall = dict(runs.values_list("overall").annotate(n=Count("pk")).order_by())
    episodes = Notice.objects.filter(kind__in=HEALTH_KINDS, episode__in=runs.values("pk"))
    counted = episodes.aggregate(
        notices=Count("pk"), sent=Count("pk", filter=Q(sent_at__isnull=False)),
        failed=Count("pk", filter=Q(sent_at__isnull=True, attempts__gt=0)))
    summary = {"checked": sum(overall.values()), **counted,
               "crashed": runs.filter(state=RunState.CRASHED).count(),
               "overall": {str(o): overall.get(str(o), 0) for o in OVERALL_STATUSES}}
    return bool(NotifierRun.objects.filter(pk=round_id, finished_at__isnull=True).update(
        finished_at=timezone.now(), summary=summary))


def revalidate_all(concurrency: int | None = None) -> dict:
    """A whole round in this process (the CLI): sites in threads, then one bulk conclusion."""
    heartbeat, chunks = start_round(chunk_size=10**9, spread_s=0)
    per_site = [ChecklistRun.claim_many(chunk.run_ids) for chunk in chunks]
    workers = max(1, min(concurrency or settings.CHECK_CONCURRENCY, len(per_site) or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="revalidation") as pool:
        done = list(pool.map(lambda runs: site_chunks.check_site(runs, SiteShare())[0], per_site))
    conclude([outcome for outcomes in done for outcome in outcomes])
    finish_round_if_done(heartbeat.pk)
    heartbeat.refresh_from_db()
    return heartbeat.summary
