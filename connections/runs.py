"""Checking many connections at once: bounded threads, each call paced by the site's shared limiter.

The run lifecycle itself (start, claim, execute, finish) is on `ChecklistRun`. Pacing is not
done here: every request passes `connections.issuetrak.site_limits` inside the client, so runs
in this process, other processes and other hosts share one budget per site.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed

from django.conf import settings
from django.db import connection as db_connection

from connections.issuetrak import site_limits
from connections.models import CheckBatch, ChecklistRun, Connection
from connections.models.run import timed_checklist


def interleave_by_site(connections: Iterable[Connection]) -> list[Connection]:
    """Round-robin over sites, so runs waiting on one site's limits do not hold up the others."""
    queues: dict[str, list[Connection]] = defaultdict(list)
    for connection in connections:
        queues[site_limits.site_key(connection.base_url)].append(connection)
    ordered, depth = [], max((len(q) for q in queues.values()), default=0)
    for i in range(depth):
        ordered += [q[i] for q in queues.values() if i < len(q)]
    return ordered


def check_many(connections: Iterable[Connection], *, trigger: str, by=None,
               concurrency: int | None = None) -> list[ChecklistRun]:
    """Check many connections, a bounded number at a time; a dead site costs only its timeout."""
    connections = interleave_by_site(connections)
    runs = [ChecklistRun.start(c, trigger=trigger, by=by) for c in connections]
    runs = [run for run in runs if run.claim()]
    workers = max(1, min(concurrency or settings.CHECK_CONCURRENCY, len(runs) or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="checklist") as pool:
        futures = {pool.submit(_reported_checklist, run): run for run in runs}
        for future in as_completed(futures):
            futures[future].finish(*future.result())
    return runs


def check_batch(connections: Iterable[Connection], *, trigger: str, by=None, scope: str = "",
                concurrency: int | None = None, on_finished: Callable[[ChecklistRun], None] | None = None,
                ) -> tuple[CheckBatch, list[ChecklistRun]]:
    """Check many connections in this process as one batch (the same batch as the list's
    "Check all"): runs inserted and claimed in bulk, `on_finished` called as each one ends."""
    batch, runs = CheckBatch.start(interleave_by_site(connections), trigger=trigger, by=by, scope=scope,
                                   claim=True)
    workers = max(1, min(concurrency or settings.CHECK_CONCURRENCY, len(runs) or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="checklist") as pool:
        futures = {pool.submit(_reported_checklist, run): run for run in runs}
        for future in as_completed(futures):
            run = futures[future].finish(*future.result())
            if on_finished:
                on_finished(run)
    batch.refresh_from_db()
    return batch, runs


def _reported_checklist(run: ChecklistRun):
    # The network part touches the database only to note a long wait on the run; this pool
    # thread's connection is closed here, since Django would not close it.
    try:
        with site_limits.reporting(run.note_rate):
            return timed_checklist(run.connection)
    finally:
        db_connection.close()
