"""Checking many connections at once: in this process (bounded threads), or as a batch of
site chunks that Celery workers check while this process follows it.

The run lifecycle itself (start, claim, execute, finish) is on `ChecklistRun`. Pacing is not
done here: every request passes `connections.issuetrak.site_limits` inside the client, so runs
in this process, other processes and other hosts share one budget per site.
"""

import queue
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connection as db_connection

from connections import site_chunks
from connections.checklist.registry import SiteShare
from connections.choices import RunState
from connections.issuetrak import site_limits
from connections.models import CheckBatch, ChecklistRun, Connection


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
    return site_chunks.check_chunk(run_ids, anchor_id, budget_s,
                                   on_outcome=lambda outcome: outcome[0].finish(*outcome[1:]))[1]


class BatchFollower:
    """Waits for a batch the workers check, telling `on_progress(done, failed)` as runs end.

    Runs nobody has taken for `pickup_s` while nothing moved (no worker consumes the queue, or
    the one that claimed them died) are taken over and checked here, so the wait always ends.
    """

    def __init__(self, batch: CheckBatch, on_progress: Callable[[int, int], None] | None = None,
                 *, pickup_s: float | None = None, poll_s: float = 0.5):
        self.batch, self.on_progress, self.poll_s = batch, on_progress, poll_s
        self.pickup_s = settings.CHECK_ALL_PICKUP_S if pickup_s is None else pickup_s
        self.taken_over = 0

    def follow(self) -> list[ChecklistRun]:
        """Block until every run of the batch has ended; the runs, in the batch's order."""
        runs = ChecklistRun.objects.filter(batch=self.batch)
        counters = CheckBatch.objects.filter(pk=self.batch.pk).values_list("done", "failed")
        moved_at, last = time.monotonic(), None
        while True:
            done, failed = counters.get()  # kept by each run as it ends
            if self.on_progress:
                self.on_progress(done, failed)
            if done >= self.batch.total:
                break
            progress = (done, runs.filter(state=RunState.QUEUED).count())
            if progress != last:
                moved_at, last = time.monotonic(), progress
            elif time.monotonic() - moved_at >= self.pickup_s:
                self._take_over(runs)
                moved_at = time.monotonic()
                continue
            time.sleep(self.poll_s)
        return list(runs.select_related("connection").order_by("pk"))

    def _take_over(self, runs) -> None:
        """Check here what no worker has taken (or whose worker died), site by site."""
        claimed = ChecklistRun.claim_where(runs)
        self.taken_over += len(claimed)
        check_here(claimed)
