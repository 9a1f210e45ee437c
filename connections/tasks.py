"""Celery tasks and queueing: thin wrappers that load a row and call the same code as the CLI."""

import logging

from celery import shared_task
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from connections import expiry, revalidation
from connections.choices import Trigger
from connections.models import ChecklistRun, Connection, RotationCheck

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

    def enqueue():
        try:
            execute_checklist_run.apply_async((run.pk,), countdown=countdown)
        except Exception:  # broker down: say so on the run instead of leaving it queued forever
            logger.exception("could not queue checklist run %s", run.public_id)
            run.finish(None, 0)

    transaction.on_commit(enqueue)
    return run


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


@shared_task(ignore_result=True, soft_time_limit=600, time_limit=660)
def expiry_scan() -> None:
    """Daily: warn owners before tokens expire, once per threshold (beat schedule)."""
    expiry.scan()


@shared_task(ignore_result=True, soft_time_limit=3000, time_limit=3300)
def revalidate_connections() -> None:
    """Every 6 hours: re-run the checklist everywhere and notice breaks and recoveries."""
    revalidation.revalidate_all()
