"""Checklist runs as stored rows: started before the site is called, filled in step by step.

The lifecycle (start, claim, execute, finish) lives here; `results` reads the stored steps back
as typed StepResults, and `site_health()` / `first_problem()` sum them up for re-validation.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid

from django.conf import settings
from django.db import models, transaction
from django.dispatch import Signal
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from connections.checklist import (
    SITE_STEP_KEYS,
    STEPS,
    StepResult,
    Subject,
    overall_of,
    result_from,
    run_checklist,
)
from connections.choices import (
    DONE_STATES,
    UNFINISHED_STATES,
    AuditAction,
    RunState,
    SiteHealth,
    StepStatus,
    Trigger,
)
from connections.issuetrak import site_limits
from connections.models.audit import AuditEvent

logger = logging.getLogger("connections.runs")

BULK_BATCH = 500  # rows per bulk INSERT/UPDATE statement
# Sent (after commit) when a run crashed instead of finishing; `connections.faults` alerts sysadmins.
run_crashed = Signal()


def running_limit() -> dt.timedelta:
    return dt.timedelta(seconds=settings.RUN_RUNNING_LIMIT_S)


def queued_limit() -> dt.timedelta:
    return dt.timedelta(seconds=settings.RUN_QUEUED_LIMIT_S)


def round_queued_limit() -> dt.timedelta:
    """A round's runs wait for their chunk, spread over REVALIDATION_SPREAD_MINUTES."""
    return queued_limit() + dt.timedelta(minutes=settings.REVALIDATION_SPREAD_MINUTES)


def takeable(now: dt.datetime) -> models.Q:
    """A run a worker may claim: queued, or running past its limit (its worker died)."""
    return models.Q(state=RunState.QUEUED) | models.Q(
        state=RunState.RUNNING, started_at__lt=now - running_limit())


class RunQuerySet(models.QuerySet):
    def stale(self, now: dt.datetime | None = None) -> RunQuerySet:
        """Runs nobody will finish: running past RUN_RUNNING_LIMIT_S, queued past RUN_QUEUED_LIMIT_S
        (a round's: past the round's spread as well)."""
        now = now or timezone.now()
        return self.filter(
            models.Q(state=RunState.RUNNING, started_at__lt=now - running_limit())
            | models.Q(state=RunState.QUEUED, round__isnull=True, created_at__lt=now - queued_limit())
            | models.Q(state=RunState.QUEUED, round__isnull=False,
                       created_at__lt=now - round_queued_limit()))

    def interrupt(self, reason: str) -> list[int]:
        """Mark the unfinished runs among these interrupted, saying why; their ids.

        Each row is updated only while still unfinished, so a run that finished meanwhile keeps
        its result and two sweeps never both claim one.
        """
        now, interrupted = timezone.now(), []
        for pk, batch_id in self.filter(state__in=UNFINISHED_STATES).values_list("pk", "batch_id"):
            changed = ChecklistRun.objects.filter(pk=pk, state__in=UNFINISHED_STATES).update(
                state=RunState.INTERRUPTED, overall=StepStatus.ERROR, finished_at=now,
                interrupted_reason=reason[:300])
            if changed:
                interrupted.append(pk)
                if batch_id:  # its "Check all" counts it as ended (and failed)
                    ChecklistRun._meta.get_field("batch").related_model.count_finished(
                        batch_id, failed=True)
        if interrupted:
            logger.warning("%d checklist run(s) interrupted: %s", len(interrupted), reason)
        return interrupted


class ChecklistRun(models.Model):
    """One run of the setup checklist against a connection's site, written before it starts."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE,
                                   related_name="runs")
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    batch = models.ForeignKey("connections.CheckBatch", null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="runs")
    state = models.CharField(max_length=12, choices=RunState.choices, default=RunState.QUEUED)
    overall = models.CharField(max_length=10, choices=StepStatus.choices, blank=True)
    # [{"key", "status", "message", "fix"}] in checklist order, filled in as steps finish.
    steps = models.JSONField(default=list, blank=True)
    # What the site's rate limit is doing to this run ("queued behind …", a 429 back-off); blank: nothing.
    rate_note = models.CharField(max_length=200, blank=True)
    token_fingerprint = models.CharField(max_length=8)
    # The re-validation round (its heartbeat row) this run belongs to; None outside rounds.
    round = models.ForeignKey("connections.NotifierRun", null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="runs")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    interrupted_reason = models.CharField(max_length=300, blank=True)
    # A scheduled run the sweep interrupted is retried once: the retry points back at it.
    retry_of = models.OneToOneField("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="retry")

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["connection", "-created_at"], name="run_connection_recent"),
                   # the sysadmins' fault banner and alert: crashed runs, newest first
                   models.Index(fields=["-finished_at"], name="run_crashed_recent",
                                condition=models.Q(state=RunState.CRASHED))]

    def __str__(self):
        return f"{self.connection.label} {self.created_at:%Y-%m-%d %H:%M} {self.overall or self.state}"

    @property
    def is_done(self) -> bool:
        return self.state in DONE_STATES

    @property
    def crashed(self) -> bool:
        return self.state == RunState.CRASHED

    @property
    def interrupted(self) -> bool:
        return self.state == RunState.INTERRUPTED

    @property
    def started_by_text(self) -> str:
        if self.started_by:
            return self.started_by.get_username()
        return self.get_trigger_display()

    # --- the lifecycle: start → claim → finish (execute does all three in this process) ---

    @classmethod
    def start(cls, connection, *, trigger: str, by=None) -> ChecklistRun:
        """A queued run row, written (and audited) before anything is sent to the site."""
        run = cls.objects.create(connection=connection, trigger=trigger, started_by=by,
                                 token_fingerprint=connection.token_fingerprint)
        if trigger != Trigger.SCHEDULE:  # scheduled rounds are recorded as NotifierRun heartbeats
            AuditEvent.objects.record(
                AuditAction.CHECKLIST_STARTED, actor=by, via=trigger, connection=connection,
                summary=f"Checklist run started ({run.get_trigger_display().lower()})")
        return run

    @classmethod
    def start_many(cls, connections, *, trigger: str, by=None, round=None) -> list[ChecklistRun]:
        """Queued runs for many connections: one bulk insert, and one batch of audit events."""
        runs = [cls(connection=c, trigger=trigger, started_by=by, round=round,
                    token_fingerprint=c.token_fingerprint) for c in connections]
        cls.objects.bulk_create(runs, batch_size=BULK_BATCH)
        if trigger != Trigger.SCHEDULE and runs:
            label = runs[0].get_trigger_display().lower()
            AuditEvent.objects.bulk_create(
                [AuditEvent.objects.event(AuditAction.CHECKLIST_STARTED, actor=by, via=trigger,
                                          connection=run.connection,
                                          summary=f"Checklist run started ({label})")
                 for run in runs], batch_size=BULK_BATCH)
        return runs

    @classmethod
    def claim_many(cls, run_ids) -> list[ChecklistRun]:
        """Move these queued runs to running in one UPDATE; the ones this worker got, loaded.

        A run another worker claimed first (a redelivered task) is not returned, unless that
        claim is stale (running past RUN_RUNNING_LIMIT_S: its worker died).
        """
        return cls.claim_where(cls.objects.filter(pk__in=list(run_ids)))

    @classmethod
    def claim_where(cls, runs: models.QuerySet) -> list[ChecklistRun]:
        """Move the takeable runs among `runs` to running in one UPDATE; those claimed, loaded."""
        now = timezone.now()
        runs.filter(takeable(now)).update(state=RunState.RUNNING, started_at=now)
        return list(runs.filter(state=RunState.RUNNING, started_at=now)
                    .select_related("connection").order_by("pk"))

    @classmethod
    def finish_many(cls, outcomes) -> list[ChecklistRun]:
        """Store many (run, results or None, duration_ms) at once: one UPDATE per batch of runs.

        The connections' own columns (last checked, latest result) are the caller's to store.
        """
        outcomes = list(outcomes)
        # A run the sweep interrupted meanwhile keeps that state: its late result is dropped.
        running = set(cls.objects.filter(pk__in=[run.pk for run, *_ in outcomes],
                                         state=RunState.RUNNING).values_list("pk", flat=True))
        runs = [run._outcome(results, duration_ms) for run, results, duration_ms in outcomes
                if run.pk in running]
        cls.objects.bulk_update(runs, ["state", "overall", "steps", "finished_at", "duration_ms"],
                                batch_size=BULK_BATCH)
        return runs

    def _outcome(self, results: list[StepResult] | None, duration_ms: int) -> ChecklistRun:
        """Set (not save) the finished state: None means the run crashed."""
        self.finished_at, self.duration_ms = timezone.now(), duration_ms
        if results is None:
            self.state, self.overall = RunState.CRASHED, StepStatus.FAIL
            transaction.on_commit(lambda: run_crashed.send(ChecklistRun, run=self))
        else:
            self.state, self.overall = RunState.FINISHED, overall_of(results)
            self.steps = [r.as_dict() for r in results]
        return self

    @classmethod
    def check_now(cls, connection, *, trigger: str = Trigger.CLI, by=None) -> ChecklistRun:
        """Run the checklist in this process and return the finished run."""
        return cls.start(connection, trigger=trigger, by=by).execute(live=False)

    def claim(self) -> bool:
        """Move a queued run (or one whose worker died: running past its limit) to running.

        False when another worker holds it or it is over; a redelivered task may so take over
        the claim of a worker that was killed mid-run.
        """
        now = timezone.now()
        claimed = ChecklistRun.objects.filter(takeable(now), pk=self.pk).update(
            state=RunState.RUNNING, started_at=now)
        if claimed:
            self.state, self.started_at = RunState.RUNNING, now
        return claimed == 1

    def execute(self, *, live: bool = True) -> ChecklistRun:
        """Claim this queued run and check the site; `live` saves each step as it finishes.

        Only a run page watched while it fills in needs `live`; otherwise the steps are stored
        once, at the end (not one rewrite of the whole list per step).
        """
        if not self.claim():
            return self
        steps: list[dict] = []

        def save_step(result: StepResult) -> None:
            steps.append(result.as_dict())
            ChecklistRun.objects.filter(pk=self.pk).update(steps=steps)

        with site_limits.reporting(self.note_rate):
            return self.finish(*timed_checklist(self.connection, on_step=save_step if live else None))

    def note_rate(self, note: str) -> None:
        """Show what the site's rate limit does to this run; "" ends a wait (a 429 note stays)."""
        if not note and not site_limits.is_queued_note(self.rate_note):
            return
        self.rate_note = note[:200]
        ChecklistRun.objects.filter(pk=self.pk).update(rate_note=self.rate_note)

    @transaction.atomic
    def finish(self, results: list[StepResult] | None, duration_ms: int) -> ChecklistRun:
        """Store the outcome (None: crashed) on the run and, for the list page, on its connection.

        Only an unfinished run takes a result: one already interrupted (the sweep gave up on
        it) stays interrupted, and the late result is dropped.
        """
        self._outcome(results, duration_ms)
        stored = ChecklistRun.objects.filter(pk=self.pk, state__in=UNFINISHED_STATES).update(
            state=self.state, overall=self.overall, steps=self.steps, finished_at=self.finished_at,
            duration_ms=self.duration_ms)
        if not stored:
            logger.warning("checklist run %s was over before its result arrived; result dropped",
                           self.public_id)
            self.refresh_from_db()
            return self
        connections = self._meta.get_field("connection").related_model.objects
        connections.filter(pk=self.connection_id).update(
            last_checked_at=self.finished_at, last_overall=self.overall)
        if self.batch_id:
            self._meta.get_field("batch").related_model.count_finished(
                self.batch_id, failed=self.overall == StepStatus.FAIL)
        logger.info("checklist run %s: %s in %d ms", self.public_id, self.overall, self.duration_ms)
        return self

    # --- reading the stored steps ---

    @property
    def results(self) -> list[StepResult]:
        """The stored steps as typed results, in checklist order."""
        return [result_from(stored) for stored in self.steps]

    def rows(self) -> list[StepResult]:
        """Every registered step for the run page: its result, or a placeholder while pending."""
        done = {result.key: result for result in self.results}
        pending = RunState.QUEUED if self.state == RunState.QUEUED else RunState.RUNNING
        status, message = (StepStatus.SKIP, "Not run.") if self.is_done else (pending, "Waiting…")
        return [done.get(step.key) or StepResult(step.key, step.title, status, message)
                for step in STEPS]

    def site_health(self) -> SiteHealth:
        """Health over the site steps (a run that did not finish counts as broken)."""
        if self.state != RunState.FINISHED:
            return SiteHealth.FAIL
        health = [SiteHealth.of(r.status) for r in self.results if r.key in SITE_STEP_KEYS]
        return max(health, key=lambda h: h.rank, default=SiteHealth.PASS)

    def first_problem(self) -> StepResult:
        """The first site step needing a fix, or what stopped the run."""
        for result in self.results:
            if result.key in SITE_STEP_KEYS and result.status.is_problem:
                return result
        return StepResult("run", "Checklist run", StepStatus.ERROR,
                          "The checklist run stopped unexpectedly.")

    def result_of(self, key: str) -> StepResult | None:
        return next((r for r in self.results if r.key == key), None)


@sensitive_variables()  # the frames below hold the decrypted token
def timed_checklist(connection, *, on_step=None, share=None) -> tuple[list[StepResult] | None, int]:
    """Check one site; a crash (even an undecryptable token) becomes None, not an error.

    Touches no database (the connection is already loaded), so it can run in a pool thread.
    """
    started = time.monotonic()
    try:
        results = run_checklist(Subject.from_connection(connection), on_step=on_step, share=share)
    except Exception:
        logger.exception("checklist for connection %s crashed", connection.public_id)
        results = None
    return results, int((time.monotonic() - started) * 1000)
