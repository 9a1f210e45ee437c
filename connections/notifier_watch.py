"""Is the notifier alive? When each job last finished, when it is next due, and if it is late."""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from connections.choices import NotifierJob
from connections.models import Connection, NotifierRun

TASKS = {
    NotifierJob.EXPIRY_SCAN: "connections.tasks.expiry_scan",
    NotifierJob.REVALIDATION: "connections.tasks.revalidate_connections",
}


def _overdue_after(job: str) -> dt.timedelta:
    hours = (settings.EXPIRY_SCAN_OVERDUE_HOURS if job == NotifierJob.EXPIRY_SCAN
             else settings.REVALIDATION_OVERDUE_HOURS)
    return dt.timedelta(hours=hours)


@dataclass
class JobStatus:
    job: str
    label: str
    last: NotifierRun | None
    next_due: dt.datetime | None
    overdue: bool


def _next_due(job: str, now: dt.datetime) -> dt.datetime | None:
    task = PeriodicTask.objects.filter(task=TASKS[job], enabled=True).first()
    if task is None:
        return None
    remaining = task.schedule.remaining_estimate(task.last_run_at or now)
    return now + max(remaining, dt.timedelta(0))


def job_status(job: str, now: dt.datetime | None = None, *, with_next: bool = True) -> JobStatus:
    """The job's latest finished run, next due time and whether it is overdue."""
    now = now or timezone.now()
    last = NotifierRun.latest_finished(job)
    limit = now - _overdue_after(job)
    if last is not None:
        overdue = last.finished_at < limit
    else:  # never ran: late only once there has been something to watch for that long
        overdue = Connection.objects.active().filter(created_at__lt=limit).exists()
    return JobStatus(job, NotifierJob(job).label, last,
                     _next_due(job, now) if with_next else None, overdue)


def notifier_status(*, with_next: bool = True) -> list[JobStatus]:
    return [job_status(job, with_next=with_next) for job in TASKS]


def notifier_status_for(request) -> list[JobStatus]:
    """The statuses for this request, computed once (banner and dashboard share them)."""
    if not hasattr(request, "_notifier_status"):
        request._notifier_status = notifier_status()
    return request._notifier_status
