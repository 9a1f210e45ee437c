"""Checking many connections at once: bounded threads, paced per site (Issuetrak's rate limits).

The run lifecycle itself (start, claim, execute, finish) is on `ChecklistRun`. The network part
touches no database, so many checks run in threads while one thread writes the results.
"""

import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from urllib.parse import urlsplit

from django.conf import settings

from connections.models import ChecklistRun, Connection
from connections.models.run import timed_checklist


class SitePacer:
    """Spaces checklist runs per site so none exceeds Issuetrak's default rate limits.

    A run makes at most REQUESTS_PER_RUN calls; Issuetrak allows 20 a second and 100 a minute
    by default, so runs against one site start at least `spacing` seconds apart.
    """

    REQUESTS_PER_RUN = 8

    def __init__(self, per_second: int = 20, per_minute: int = 100):
        per_run = self.REQUESTS_PER_RUN
        self.spacing = max(60 * per_run / per_minute, per_run / per_second)
        self._next_start: dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()

    def wait(self, site: str) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start[site])
            self._next_start[site] = start + self.spacing
        if start > now:
            time.sleep(start - now)


def _site(connection: Connection) -> str:
    return urlsplit(connection.base_url).netloc


def interleave_by_site(connections: Iterable[Connection]) -> list[Connection]:
    """Round-robin over sites, so paced runs on one site do not hold up the others."""
    queues: dict[str, list[Connection]] = defaultdict(list)
    for connection in connections:
        queues[_site(connection)].append(connection)
    ordered, depth = [], max((len(q) for q in queues.values()), default=0)
    for i in range(depth):
        ordered += [q[i] for q in queues.values() if i < len(q)]
    return ordered


def start_many(connections: Iterable[Connection], *, trigger: str, by=None,
               pace: bool = False) -> list[ChecklistRun]:
    """A queued run row for each connection (site-interleaved when paced), nothing sent yet."""
    connections = interleave_by_site(connections) if pace else list(connections)
    return [ChecklistRun.start(c, trigger=trigger, by=by) for c in connections]


def execute_many(runs: list[ChecklistRun], *, concurrency: int | None = None,
                 pace: bool = False) -> list[ChecklistRun]:
    """Execute queued runs, a bounded number at a time; those this call ran (others held them).

    Each run is claimed only when a thread is free for it, so a run is "running" for as long
    as its own checks take (the sweep's limit), however long the queue ahead of it.
    """
    pacer = SitePacer() if pace else None
    workers = max(1, min(concurrency or settings.CHECK_CONCURRENCY, len(runs) or 1))
    waiting = iter(runs)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="checklist")
    futures: dict = {}
    claimed: list[ChecklistRun] = []

    def submit_next() -> None:
        for run in waiting:
            if run.claim():
                claimed.append(run)
                futures[pool.submit(_paced_checklist, run.connection, pacer)] = run
                return

    try:
        for _ in range(workers):
            submit_next()
        while futures:
            done, _ = wait(futures, return_when=FIRST_COMPLETED)
            for future in done:
                futures.pop(future).finish(*future.result())
                submit_next()
    except BaseException:
        # Ctrl-C or a lost database: do not wait for the rest of the queue.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return claimed


def check_many(connections: Iterable[Connection], *, trigger: str, by=None,
               concurrency: int | None = None, pace: bool = False) -> list[ChecklistRun]:
    """Check many connections: start a run for each, then execute them."""
    runs = start_many(connections, trigger=trigger, by=by, pace=pace)
    return execute_many(runs, concurrency=concurrency, pace=pace)


def _paced_checklist(connection: Connection, pacer: SitePacer | None):
    if pacer:
        pacer.wait(_site(connection))
    return timed_checklist(connection)
