"""Celery tasks: thin wrappers that load a row and call the same code as the CLI."""

from celery import shared_task

from connections.models import ChecklistRun
from connections.runs import execute_run


@shared_task(ignore_result=True, soft_time_limit=120, time_limit=150)
def run_checklist(run_id: int) -> None:
    """Execute a queued checklist run (started from the connection page)."""
    run = ChecklistRun.objects.select_related("connection").filter(pk=run_id).first()
    if run is not None:
        execute_run(run)
