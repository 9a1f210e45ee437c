"""Checking many connections at once: in this process (bounded threads), or as a batch of
site chunks that Celery workers check while this process follows it.

The run lifecycle itself (start, claim, execute, finish) is on `ChecklistRun`. Pacing is not
done here: every request passes `connections.issuetrak.site_limits` inside the client, so runs
in this process, other processes and other hosts share one budget per site.
"""

import datetime as dt
import queue
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connection as db_connection
from django.utils import timezone

from connections import site_chunks
from connections.checklist.registry import SiteShare
from connections.choices import DONE_STATES, RunState
from connections.issuetrak import site_limits
from connections.models import CheckBatch, ChecklistRun, Connection
from connections.models.run import takeable


def check_batch(connections: Iterable[Connection], *, trigger: str, by=None, scope: str = "",
                concurrency: int | None = None, on_finished: Callable[[ChecklistRun], None] | None = None,
                ) -> tuple[CheckBatch, list[ChecklistRun]]:
    """Check many connections in this process as one batch (the same batch as the list's
    "Check all"): runs inserted and claimed in bulk, `on_finished` called as each one ends."""
    batch, runs = CheckBatch.start(connections, trigger=trigger, by=by, scope=scope, claim=True)
    check_here(runs, concurrency=concurrency, on_finished=on_finished)
    batch.refresh_from_db()
    return batch, runs


def check_here(runs: list[ChecklistRun], *, concurrency: int | None = None,
               on_finished: Callable[[ChecklistRun], None] | None = None) -> None:
    """Check claimed runs in this process: each site's runs in order, sharing the site's answer
    (a dead site costs one timeout), CHECK_CONCURRENCY sites at a time; each stored as it ends.

    The pool threads only talk to the sites; this thread stores every outcome, so a caller
    inside a transaction (or SQLite's single writer) is never competed with.
    """
    by_site: dict[str, list[ChecklistRun]] = defaultdict(list)
    for run in runs:
        by_site[site_limits.site_key(run.connection.base_url)].append(run)
    outcomes: queue.SimpleQueue = queue.SimpleQueue()

    def check(site_runs: list[ChecklistRun]) -> None:
        reported = 0

        def hand_over(outcome) -> None:
            nonlocal reported
            reported += 1
            outcomes.put(outcome)

        try:
            site_chunks.check_site(site_runs, SiteShare(), on_outcome=hand_over)
        finally:
            for run in site_runs[reported:]:  # stopped early: crashed, never waited for
                outcomes.put((run, None, 0))
            db_connection.close()  # Django would not close a pool thread's connection

    workers = max(1, min(concurrency or settings.CHECK_CONCURRENCY, len(by_site) or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="checklist") as pool:
        for site_runs in by_site.values():
            pool.submit(check, site_runs)
        for _ in runs:
            run, results, duration_ms = outcomes.get()
            run.finish(results, duration_ms)
            if on_finished:
                on_finished(run)


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
        now = timezone.now()
        runs.filter(takeable(now)).update(state=RunState.RUNNING, started_at=now)  # one claim, no id list
        claimed = list(runs.filter(state=RunState.RUNNING, started_at=now).select_related("connection"))
        self.taken_over += len(claimed)
        check_here(claimed)
