"""Checking many connections at once: bounded threads, paced per site (Issuetrak's rate limits).

The run lifecycle itself (start, claim, execute, finish) is on `ChecklistRun`. The network part
touches no database, so many checks run in threads while one thread writes the results.
"""

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from urllib.parse import urlsplit

from django.conf import settings

from connections.models import CheckBatch, ChecklistRun, Connection
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


def check_many(connections: Iterable[Connection], *, trigger: str, by=None,
               concurrency: int | None = None, pace: bool = False) -> list[ChecklistRun]:
    """Check many connections, a bounded number at a time; a dead site costs only its timeout."""
    connections = interleave_by_site(connections) if pace else list(connections)
    runs = [ChecklistRun.start(c, trigger=trigger, by=by) for c in connections]
    runs = [run for run in runs if run.claim()]
    pacer = SitePacer() if pace else None
    workers = max(1, min(concurrency or settings.CHECK_CONCURRENCY, len(runs) or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="checklist") as pool:
        futures = {pool.submit(_paced_checklist, r.connection, pacer): r for r in runs}
        for future in as_completed(futures):
            futures[future].finish(*future.result())
    return runs


def check_batch(connections: Iterable[Connection], *, trigger: str, by=None, scope: str = "",
                concurrency: int | None = None, on_finished: Callable[[ChecklistRun], None] | None = None,
                ) -> tuple[CheckBatch, list[ChecklistRun]]:
    """Check many connections in this process as one batch (the same batch as the list's
    "Check all"): runs inserted and claimed in bulk, `on_finished` called as each one ends."""
    batch, runs = CheckBatch.start(connections, trigger=trigger, by=by, scope=scope, claim=True)
    workers = max(1, min(concurrency or settings.CHECK_CONCURRENCY, len(runs) or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="checklist") as pool:
        futures = {pool.submit(timed_checklist, run.connection): run for run in runs}
        for future in as_completed(futures):
            run = futures[future].finish(*future.result())
            if on_finished:
                on_finished(run)
    batch.refresh_from_db()
    return batch, runs


def _paced_checklist(connection: Connection, pacer: SitePacer | None):
    if pacer:
        pacer.wait(_site(connection))
    return timed_checklist(connection)
