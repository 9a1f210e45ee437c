"""Checklist runs as stored rows: created before the site is called, filled in step by step.

`execute_run` is what the Celery task, the CLI and the periodic re-validation call. The
network part (`run_checklist`) touches no database, so many can run in threads while one
thread writes the results.
"""

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from connections import audit
from connections.checklist import StepResult, Subject, overall_of, run_checklist
from connections.models import AuditAction, ChecklistRun, Connection, RunState, StepStatus, Trigger

logger = logging.getLogger(__name__)


def create_run(connection: Connection, *, trigger: str, by=None) -> ChecklistRun:
    """A queued run row, written before anything is sent to the site."""
    run = ChecklistRun.objects.create(
        connection=connection, trigger=trigger, started_by=by,
        token_fingerprint=connection.token_fingerprint,
    )
    if trigger != Trigger.SCHEDULE:  # scheduled rounds are recorded as NotifierRun heartbeats
        audit.record(AuditAction.CHECKLIST_STARTED, actor=by, via=trigger, connection=connection,
                     summary=f"Checklist run started ({run.get_trigger_display().lower()})")
    return run


def claim_run(run: ChecklistRun) -> bool:
    """Move a queued run to running; False when another worker already took it."""
    now = timezone.now()
    claimed = ChecklistRun.objects.filter(pk=run.pk, state=RunState.QUEUED).update(
        state=RunState.RUNNING, started_at=now
    )
    run.state, run.started_at = RunState.RUNNING, now
    return claimed == 1


def execute_run(run: ChecklistRun) -> ChecklistRun:
    """Claim a queued run, check the site, saving each step as it finishes."""
    if not claim_run(run):
        return run
    steps: list[dict] = []

    def save_step(result: StepResult) -> None:
        steps.append(result.as_dict())
        ChecklistRun.objects.filter(pk=run.pk).update(steps=steps)

    return finish_run(run, *_timed_checklist(run.connection, on_step=save_step))


@transaction.atomic
def finish_run(run: ChecklistRun, results: list[StepResult] | None, duration_ms: int) -> ChecklistRun:
    """Store the outcome on the run and, for the list page, on its connection."""
    run.finished_at = timezone.now()
    run.duration_ms = duration_ms
    if results is None:
        run.state, run.overall = RunState.CRASHED, StepStatus.FAIL
    else:
        run.state, run.overall = RunState.FINISHED, overall_of(results)
        run.steps = [r.as_dict() for r in results]
    run.save(update_fields=["state", "overall", "steps", "finished_at", "duration_ms"])
    Connection.objects.filter(pk=run.connection_id).update(
        last_checked_at=run.finished_at, last_overall=run.overall
    )
    logger.info("checklist run %s: %s in %d ms", run.public_id, run.overall, run.duration_ms)
    return run


def queue_run(connection: Connection, *, by=None, trigger: str = Trigger.BROWSER,
              countdown: float | None = None) -> ChecklistRun:
    """A queued run, handed to a Celery worker once the row is committed."""
    from connections.tasks import run_checklist as run_checklist_task

    run = create_run(connection, trigger=trigger, by=by)

    def enqueue():
        try:
            run_checklist_task.apply_async((run.pk,), countdown=countdown)
        except Exception:  # broker down: say so on the run instead of leaving it queued forever
            logger.exception("could not queue checklist run %s", run.public_id)
            finish_run(run, None, 0)

    transaction.on_commit(enqueue)
    return run


def check_now(connection: Connection, *, trigger: str = Trigger.CLI, by=None) -> ChecklistRun:
    """Run the checklist in this process and return the finished run."""
    return execute_run(create_run(connection, trigger=trigger, by=by))


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
    runs = [create_run(c, trigger=trigger, by=by) for c in connections]
    runs = [run for run in runs if claim_run(run)]
    pacer = SitePacer() if pace else None
    workers = max(1, min(concurrency or settings.CHECK_CONCURRENCY, len(runs) or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="checklist") as pool:
        futures = {pool.submit(_timed_checklist, r.connection, pacer=pacer): r for r in runs}
        for future in as_completed(futures):
            finish_run(futures[future], *future.result())
    return runs


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _timed_checklist(connection: Connection, *, pacer: SitePacer | None = None,
                     on_step=None) -> tuple[list[StepResult] | None, int]:
    """Check one site; a crash (even an undecryptable token) becomes a crashed run, not an error.

    Touches no database (the connection is already loaded), so it can run in a pool thread.
    """
    if pacer:
        pacer.wait(_site(connection))
    started = time.monotonic()
    try:
        return run_checklist(Subject.from_connection(connection), on_step=on_step), _ms_since(started)
    except Exception:
        logger.exception("checklist for connection %s crashed", connection.public_id)
        return None, _ms_since(started)
