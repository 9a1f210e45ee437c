"""Is the notifier alive? When each job last finished, when it is next due, and if it is late."""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, CharField, OuterRef, Subquery, Value, When
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
    last_finished_at: dt.datetime | None
    next_due: dt.datetime | None
    overdue: bool


def _schedules():
    """Each job's schedule row, annotated with the job's latest finish and the oldest active
    connection's creation: everything the status needs, in one query."""
    job_of = Case(*(When(task=task, then=Value(job)) for job, task in TASKS.items()),
                  output_field=CharField())
    latest = (NotifierRun.objects.filter(job=OuterRef("job"), finished_at__isnull=False)
              .order_by("-finished_at").values("finished_at")[:1])
    oldest = Connection.objects.active().order_by("created_at").values("created_at")[:1]
    return (PeriodicTask.objects.filter(task__in=TASKS.values())
            .select_related("interval", "crontab", "solar", "clocked")
            .annotate(job=job_of, last_finished_at=Subquery(latest),
                      oldest_active=Subquery(oldest))
            .order_by("-enabled", "name"))


def _fallback(job: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(latest finish, oldest active connection) for a job whose schedule row was deleted."""
    last = NotifierRun.latest_finished(job)
    oldest = Connection.objects.active().order_by("created_at").values_list("created_at", flat=True)
    return (last.finished_at if last else None), oldest.first()


def notifier_status(*, with_next: bool = True, now: dt.datetime | None = None) -> list[JobStatus]:
    """Each job's latest finish, next due time and whether it is overdue (one query)."""
    now = now or timezone.now()
    rows: dict[str, PeriodicTask] = {}
    for task in _schedules():
        rows.setdefault(task.job, task)
    statuses = []
    for job in TASKS:
        task = rows.get(job)
        last, oldest = ((task.last_finished_at, task.oldest_active) if task else _fallback(job))
        limit = now - _overdue_after(job)
        # Never ran: late only once there has been something to watch for that long.
        overdue = last < limit if last is not None else (oldest is not None and oldest < limit)
        next_due = None
        if with_next and task is not None and task.enabled:
            remaining = task.schedule.remaining_estimate(task.last_run_at or now)
            next_due = now + max(remaining, dt.timedelta(0))
        statuses.append(JobStatus(job, NotifierJob(job).label, last, next_due, overdue))
    return statuses


def notifier_status_for(request) -> list[JobStatus]:
    """The statuses for this request, computed once (banner and dashboard share them)."""
    if not hasattr(request, "_notifier_status"):
        request._notifier_status = notifier_status()
    return request._notifier_status
