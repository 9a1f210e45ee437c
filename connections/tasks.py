"""Celery tasks and queueing: thin wrappers that load a row and call the same code as the CLI."""

import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from connections import expiry, revalidation
from connections.choices import Trigger
from connections.models import CheckBatch, ChecklistRun, Connection

logger = logging.getLogger(__name__)


# The task keeps its registered name so runs queued before an upgrade still execute.
@shared_task(name="connections.tasks.run_checklist", ignore_result=True, soft_time_limit=120,
             time_limit=150)
@sensitive_variables()  # the checklist decrypts the token in the frames below
def execute_checklist_run(run_id: int) -> None:
    """Execute a queued checklist run (started from the connection page)."""
    run = ChecklistRun.objects.select_related("connection").filter(pk=run_id).first()
    if run is not None:
        run.execute()


def queue_run(connection: Connection, *, by=None, trigger: str = Trigger.BROWSER,
              countdown: float | None = None) -> ChecklistRun:
    """A queued run, handed to a Celery worker once the row is committed."""
    run = ChecklistRun.start(connection, trigger=trigger, by=by)
    transaction.on_commit(lambda: _enqueue(run, countdown))
    return run


def queue_batch(connections, *, by=None, trigger: str = Trigger.BROWSER, scope: str = "") -> CheckBatch:
    """One batch of queued runs (inserted in bulk), one Celery task per run once committed."""
    batch, runs = CheckBatch.start(connections, trigger=trigger, by=by, scope=scope)
    transaction.on_commit(lambda: [_enqueue(run) for run in runs])
    return batch


def _enqueue(run: ChecklistRun, countdown: float | None = None) -> None:
    try:
        execute_checklist_run.apply_async((run.pk,), countdown=countdown)
    except Exception:  # broker down: say so on the run instead of leaving it queued forever
        logger.exception("could not queue checklist run %s", run.public_id)
        run.finish(None, 0)


@shared_task(ignore_result=True, soft_time_limit=600, time_limit=660)
def expiry_scan() -> None:
    """Daily: warn owners before tokens expire, once per threshold (beat schedule)."""
    expiry.scan()


@shared_task(ignore_result=True, soft_time_limit=240, time_limit=300)
def revalidate_connections() -> None:
    """Every 6 hours: create the round's runs in bulk and fan them out, one task per site chunk.

    A site's chunks are spread over REVALIDATION_SPREAD_MINUTES (a countdown each), so a site
    with many connections is checked bit by bit across the interval, never in one burst.
    """
    heartbeat, chunks = revalidation.start_round()
    for chunk in chunks:
        revalidate_chunk.apply_async(chunk.as_args(heartbeat.pk), countdown=chunk.countdown)


# Each chunk stops starting checks after REVALIDATION_CHUNK_SECONDS; one check ends within its
# calls' deadlines, so the limits below are never reached by design.
@shared_task(ignore_result=True, soft_time_limit=420, time_limit=480)
@sensitive_variables()  # the checklist decrypts tokens in the frames below
def revalidate_chunk(round_id: int, run_ids: list[int], anchor_id: int | None = None) -> None:
    """Check one chunk of a site's connections; what the time budget left goes back to the queue."""
    left = revalidation.check_chunk(round_id, run_ids, anchor_id,
                                    budget_s=settings.REVALIDATION_CHUNK_SECONDS)
    if left:
        revalidate_chunk.apply_async((round_id, left, anchor_id), countdown=5)
