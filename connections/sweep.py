"""No run is left behind: runs nobody will finish are marked interrupted, with the reason.

A worker killed mid-run, a broker that dropped the message or a stopped command leave a run
"queued" or "running" for good. `sweep_runs()` (on beat every few minutes, at worker start and
as `connections sweep-runs`) interrupts every run past its limit and starts one retry of each
interrupted scheduled run; the caller hands the retries to a worker. A rotation check nobody
finished is interrupted too, and the candidate token it held is dropped (nothing changed).
"""

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from connections.choices import UNFINISHED_STATES, RunState, StepStatus, Trigger
from connections.models import ChecklistRun, RotationCheck
from connections.models.rotation_check import CheckOutcome
from connections.models.run import queued_limit, running_limit
from connections.revalidation import finish_round_if_done

CTRL_C_REASON = "Stopped with Ctrl-C (SIGINT) while `connections check` was running it."


@dataclass
class SweepReport:
    interrupted: list[ChecklistRun] = field(default_factory=list)
    retries: list[ChecklistRun] = field(default_factory=list)
    rotation_checks: list[str] = field(default_factory=list)  # public ids of interrupted checks

    def as_dict(self) -> dict:
        return {"interrupted": [str(r.public_id) for r in self.interrupted],
                "retries": [str(r.public_id) for r in self.retries],
                "rotation_checks": self.rotation_checks}


def _duration(seconds: int) -> str:
    return f"{seconds // 60} min" if seconds >= 120 else f"{seconds} s"


def running_reason() -> str:
    return (f"No result {_duration(settings.RUN_RUNNING_LIMIT_S)} after it started: the process "
            "running it stopped (killed, restarted or lost its connection).")


def queued_reason() -> str:
    return (f"No worker started it within {_duration(settings.RUN_QUEUED_LIMIT_S)}: the queue lost "
            "it, or no worker is running.")


def sweep_runs(now: dt.datetime | None = None) -> SweepReport:
    """Interrupt every stale run; queue one retry (not yet sent to a worker) per scheduled one."""
    stale = ChecklistRun.objects.stale(now)
    ids = stale.filter(state=RunState.RUNNING).interrupt(running_reason())
    ids += stale.filter(state=RunState.QUEUED).interrupt(queued_reason())
    report = SweepReport(interrupted=list(
        ChecklistRun.objects.filter(pk__in=ids).select_related("connection")))
    report.retries = [retry for run in report.interrupted if (retry := _retry(run))]
    for round_id in {run.round_id for run in report.interrupted if run.round_id}:
        finish_round_if_done(round_id)  # a round waits for its retries, not for the dead runs
    report.rotation_checks = interrupt_rotation_checks(now)
    return report


def interrupt_rotation_checks(now: dt.datetime | None = None) -> list[str]:
    """Rotation checks unfinished past both run limits: interrupted, their candidate dropped.

    Past the task's hard time limit no worker can still be swapping the token in, so "nothing
    changed" is true; the person rotates again with the token.
    """
    now = now or timezone.now()
    stale = RotationCheck.objects.filter(state__in=UNFINISHED_STATES,
                                         created_at__lt=now - queued_limit() - running_limit())
    ids = [str(public_id) for public_id in stale.values_list("public_id", flat=True)]
    RotationCheck.objects.filter(public_id__in=ids, state__in=UNFINISHED_STATES).update(
        state=RunState.INTERRUPTED, outcome=CheckOutcome.CRASHED, overall=StepStatus.FAIL,
        token_ciphertext="", finished_at=now,
        message="The check got no result: the process running it stopped (killed, restarted or "
        "lost its connection). Nothing changed; rotate again with the token.")
    return ids


def _retry(run: ChecklistRun) -> ChecklistRun | None:
    """A queued retry of an interrupted scheduled run: once (never a retry's retry)."""
    if run.trigger != Trigger.SCHEDULE or run.retry_of_id or run.connection.is_archived:
        return None
    try:
        with transaction.atomic():
            retry = ChecklistRun.start(run.connection, trigger=Trigger.SCHEDULE)
            retry.retry_of, retry.round_id = run, run.round_id
            retry.save(update_fields=["retry_of", "round"])
    except IntegrityError:  # another sweep retried it first (retry_of is unique)
        return None
    return retry

