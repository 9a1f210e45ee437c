"""Celery tasks: thin wrappers that load a row and call the same code as the CLI."""

from celery import shared_task

from connections import expiry, revalidation
from connections.models import ChecklistRun
from connections.runs import execute_run


@shared_task(ignore_result=True, soft_time_limit=120, time_limit=150)
def run_checklist(run_id: int) -> None:
    """Execute a queued checklist run (started from the connection page)."""
    run = ChecklistRun.objects.select_related("connection").filter(pk=run_id).first()
    if run is not None:
        execute_run(run)


@shared_task(ignore_result=True, soft_time_limit=600, time_limit=660)
def expiry_scan() -> None:
    """Daily: warn owners before tokens expire, once per threshold (beat schedule)."""
    expiry.scan()


@shared_task(ignore_result=True, soft_time_limit=3000, time_limit=3300)
def revalidate_connections() -> None:
    """Every 6 hours: re-run the checklist everywhere and notice breaks and recoveries."""
    revalidation.revalidate_all()
