"""Celery tasks and queueing: thin wrappers that load a row and call the same code as the CLI."""

import logging

from celery import shared_task
from celery.signals import task_failure, worker_ready
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db import connection as db
from django.views.decorators.debug import sensitive_variables

from connections import expiry, faults, notices, revalidation, runs, site_chunks, sweep
from connections.choices import Trigger
from connections.models import CheckBatch, ChecklistRun, Connection, RotationCheck

logger = logging.getLogger(__name__)

# A database blip (a restart, a dropped connection) is retried with backoff within the hour:
# 60 s, 120 s, 240 s, 480 s, 900 s, about 30 minutes in all, instead of waiting a whole day.
DB_BLIPS = (OperationalError, InterfaceError)
BLIP_RETRY = {"autoretry_for": DB_BLIPS, "retry_backoff": 60, "retry_backoff_max": 900,
              "retry_jitter": False, "max_retries": 5}


def _fresh_database_connection() -> None:
    """Drop a connection a blip broke, so a retried task does not reuse it."""
    if not db.in_atomic_block:
        db.close_if_unusable_or_obsolete()


@task_failure.connect
def _alert_on_failure(sender=None, exception=None, **kwargs):
    """Any task that raises reaches the sysadmins through the fault alert."""
    faults.job_failed(getattr(sender, "name", str(sender)), exception)


# The task keeps its registered name so runs queued before an upgrade still execute.
@shared_task(name="connections.tasks.run_checklist", ignore_result=True, soft_time_limit=120,
             time_limit=150)
@sensitive_variables()  # the checklist decrypts the token in the frames below
def execute_checklist_run(run_id: int) -> None:
    """Execute a queued checklist run (the page's, or a retried scheduled one)."""
    run = ChecklistRun.objects.select_related("connection").filter(pk=run_id).first()
    if run is None:
        return
    if run.trigger == Trigger.SCHEDULE:  # a retried round run: concluded like its round's runs
        revalidation.check_retry(run)
    else:
        run.execute()


def _enqueue(run: ChecklistRun, countdown: float | None = None) -> None:
    try:
        execute_checklist_run.apply_async((run.pk,), countdown=countdown)
    except Exception:  # broker down: say so on the run instead of leaving it queued forever
        logger.exception("could not queue checklist run %s", run.public_id)
        run.finish(None, 0)


def queue_run(connection: Connection, *, by=None, trigger: str = Trigger.BROWSER,
              countdown: float | None = None) -> ChecklistRun:
    """A queued run, handed to a Celery worker once the row is committed."""
    run = ChecklistRun.start(connection, trigger=trigger, by=by)
    transaction.on_commit(lambda: _enqueue(run, countdown))
    return run


def queue_batch(connections, *, by=None, trigger: str = Trigger.BROWSER, scope: str = "") -> CheckBatch:
    """One batch of queued runs (inserted in bulk), one Celery task per chunk of a site's
    connections once committed: any number of workers share them, each site decided once a chunk."""
    batch, runs = CheckBatch.start(connections, trigger=trigger, by=by, scope=scope)
    chunks = site_chunks.plan(runs, settings.REVALIDATION_CHUNK_SIZE)
    transaction.on_commit(lambda: [_enqueue_chunk(chunk, runs) for chunk in chunks])
    return batch


def _enqueue_chunk(chunk: site_chunks.Chunk, runs: list[ChecklistRun]) -> None:
    try:
        check_batch_chunk.apply_async((chunk.run_ids, chunk.anchor))
    except Exception:  # broker down: say so on the runs instead of leaving them queued forever
        logger.exception("could not queue a chunk of %d checklist runs", len(chunk.run_ids))
        for run in runs:
            if run.pk in chunk.run_ids:
                run.finish(None, 0)


def workers_answer(timeout_s: float = 1.0) -> int:
    """How many Celery workers answer a ping on the broker (0 when tasks run inline)."""
    from issuetrak_admin.celery import app

    if app.conf.task_always_eager or app.conf.broker_url.startswith("memory://"):
        return 0  # no other process can share an in-memory broker
    try:
        return len(app.control.ping(timeout=timeout_s))
    except Exception:  # broker unreachable: nobody to hand the work to
        logger.warning("no Celery broker to ping", exc_info=True)
        return 0


# A chunk stops starting checks after REVALIDATION_CHUNK_SECONDS and queues the rest.
@shared_task(ignore_result=True, soft_time_limit=420, time_limit=480, **BLIP_RETRY)
@sensitive_variables()  # the checklist decrypts tokens in the frames below
def check_batch_chunk(run_ids: list[int], anchor_id: int | None = None) -> None:
    """Check one chunk of a "check all" batch (one site's runs); the rest goes back to the queue."""
    _fresh_database_connection()
    left = runs.check_batch_chunk(run_ids, anchor_id, budget_s=settings.REVALIDATION_CHUNK_SECONDS)
    if left:
        check_batch_chunk.apply_async((left, anchor_id), countdown=5)



def sweep_and_requeue() -> sweep.SweepReport:
    """Interrupt stale runs and hand the retries of scheduled ones to a worker."""
    report = sweep.sweep_runs()
    for retry in report.retries:
        transaction.on_commit(lambda retry=retry: _enqueue(retry))
    return report


@shared_task(ignore_result=True, soft_time_limit=240, time_limit=300, **BLIP_RETRY)
def sweep_runs() -> None:
    """Every 5 minutes (beat): no run left behind, and notices whose retry is due go out."""
    _fresh_database_connection()
    sweep_and_requeue()
    notices.deliver_due()


@worker_ready.connect
def _sweep_at_worker_start(sender=None, **kwargs) -> None:
    # A worker that starts after a crash finds the runs the dead one left "running".
    try:
        sweep_and_requeue()
    except Exception:  # a worker must start even when the database is down
        logger.exception("sweeping unfinished runs at worker start failed")
    finally:
        db.close()


@shared_task(name="connections.tasks.check_rotation", ignore_result=True, soft_time_limit=120,
             time_limit=150)
@sensitive_variables()  # the check decrypts the candidate token in the frames below
def execute_rotation_check(check_id: int) -> None:
    """Prove a rotation's candidate token on its site and, when it may, swap it in."""
    check = RotationCheck.objects.select_related("connection", "requested_by").filter(pk=check_id).first()
    if check is not None:
        check.execute()


def queue_rotation_check(check: RotationCheck) -> RotationCheck:
    """Hand a started rotation check to a worker (the row is already committed: autocommit)."""
    try:
        execute_rotation_check.apply_async((check.pk,))
    except Exception:  # broker down: say so on the check instead of leaving it queued forever
        logger.exception("could not queue rotation check %s", check.public_id)
        check.fail_to_queue()
    check.refresh_from_db()
    return check


@shared_task(ignore_result=True, soft_time_limit=600, time_limit=660, **BLIP_RETRY)
def expiry_scan() -> None:
    """Daily: warn owners before tokens expire, once per threshold (beat schedule)."""
    _fresh_database_connection()
    expiry.scan()


@shared_task(ignore_result=True, soft_time_limit=240, time_limit=300, **BLIP_RETRY)
def revalidate_connections() -> None:
    """Every 6 hours: create the round's runs in bulk and fan them out, one task per site chunk.

    A site's chunks are spread over REVALIDATION_SPREAD_MINUTES (a countdown each), so a site
    with many connections is checked bit by bit across the interval, never in one burst.
    """
    _fresh_database_connection()
    heartbeat, chunks = revalidation.start_round()
    for chunk in chunks:
        revalidate_chunk.apply_async((heartbeat.pk, chunk.run_ids, chunk.anchor), countdown=chunk.countdown)


# Each chunk stops starting checks after REVALIDATION_CHUNK_SECONDS; one check ends within its
# calls' deadlines, so the limits below are never reached by design.
@shared_task(ignore_result=True, soft_time_limit=420, time_limit=480, **BLIP_RETRY)
@sensitive_variables()  # the checklist decrypts tokens in the frames below
def revalidate_chunk(round_id: int, run_ids: list[int], anchor_id: int | None = None) -> None:
    """Check one chunk of a site's connections; what the time budget left goes back to the queue."""
    _fresh_database_connection()
    left = revalidation.check_chunk(round_id, run_ids, anchor_id,
                                    budget_s=settings.REVALIDATION_CHUNK_SECONDS)
    if left:
        revalidate_chunk.apply_async((round_id, left, anchor_id), countdown=5)
