"""Checking many connections at once: in this process (bounded threads), or as a batch of
site chunks that Celery workers check while this process follows it.

The run lifecycle itself (start, claim, execute, finish) is on `ChecklistRun`. Pacing is not
done here: every request passes `connections.issuetrak.site_limits` inside the client, so runs
in this process, other processes and other hosts share one budget per site.
"""

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed

from django.conf import settings
from django.db import connection as db_connection
from django.utils import timezone

from connections import site_chunks
from connections.checklist.registry import SiteShare
from connections.choices import DONE_STATES
from connections.issuetrak import site_limits
from connections.models import CheckBatch, ChecklistRun, Connection
from connections.models.run import takeable, timed_checklist


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


def check_batch_chunk(run_ids: list[int], anchor_id: int | None = None,
                      budget_s: float | None = None) -> list[int]:
    """Claim and check one site's chunk of a batch, each run stored as it ends (the batch's
    progress moves); the run ids left for a later task once `budget_s` is spent."""
    runs = ChecklistRun.claim_many(run_ids)
    deadline = None if budget_s is None else time.monotonic() + budget_s
    _outcomes, left = site_chunks.check_site(runs, site_chunks.share_from(anchor_id), deadline,
                                             on_outcome=lambda outcome: outcome[0].finish(*outcome[1:]))
    site_chunks.requeue(left)
    return [r.pk for r in left]


class BatchFollower:
    """Waits for a batch the workers check, reporting each run as it ends.

    Runs nobody has taken for `pickup_s` while nothing moved (no worker consumes the queue, or
    the one that claimed them died) are taken over and checked here, so the wait always ends.
    """

    def __init__(self, batch: CheckBatch, on_finished: Callable[[ChecklistRun], None] | None = None,
                 *, pickup_s: float | None = None, poll_s: float = 0.5):
        self.batch, self.on_finished, self.poll_s = batch, on_finished, poll_s
        self.pickup_s = settings.CHECK_ALL_PICKUP_S if pickup_s is None else pickup_s
        self.taken_over = 0
        self._reported: set[int] = set()
        self._since: dt.datetime | None = None

    def follow(self) -> list[ChecklistRun]:
        """Block until every run of the batch has ended; the runs, in the batch's order."""
        runs = ChecklistRun.objects.filter(batch=self.batch)
        moved_at, last = time.monotonic(), None
        while True:
            self._report(runs)
            progress = (runs.filter(state__in=DONE_STATES).count(),
                        runs.filter(started_at__isnull=False).count())
            if progress[0] >= self.batch.total:
                break
            if progress != last:
                moved_at, last = time.monotonic(), progress
            elif time.monotonic() - moved_at >= self.pickup_s:
                self._take_over(runs)
                moved_at = time.monotonic()
                continue
            time.sleep(self.poll_s)
        self._report(runs)
        return list(runs.select_related("connection").order_by("pk"))

    def _report(self, runs) -> None:
        """Call `on_finished` once for each run that ended since the last look."""
        if self.on_finished is None:
            return
        ended = runs.filter(state__in=DONE_STATES)
        if self._since is not None:
            # A margin: a run stamped before another may commit after it.
            ended = ended.filter(finished_at__gte=self._since - dt.timedelta(seconds=60))
        for run in ended.only("pk", "state", "overall", "finished_at").order_by("finished_at", "pk"):
            self._since = max(self._since or run.finished_at, run.finished_at)
            if run.pk not in self._reported:
                self._reported.add(run.pk)
                self.on_finished(run)

    def _take_over(self, runs) -> None:
        """Check here what no worker has taken (or whose worker died), site by site."""
        ids = list(runs.filter(takeable(timezone.now())).values_list("pk", flat=True))
        claimed = ChecklistRun.claim_many(ids)
        self.taken_over += len(claimed)
        by_site: dict[str, list[ChecklistRun]] = defaultdict(list)
        for run in claimed:
            by_site[site_limits.site_key(run.connection.base_url)].append(run)

        def check(site_runs):
            try:
                site_chunks.check_site(site_runs, SiteShare(),
                                       on_outcome=lambda outcome: outcome[0].finish(*outcome[1:]))
            finally:
                db_connection.close()

        workers = max(1, min(settings.CHECK_CONCURRENCY, len(by_site) or 1))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="takeover") as pool:
            list(pool.map(check, by_site.values()))
