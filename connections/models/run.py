"""Checklist runs as stored rows: started before the site is called, filled in step by step.

The lifecycle (start, claim, execute, finish) lives here; `results` reads the stored steps back
as typed StepResults, and `site_health()` / `first_problem()` sum them up for re-validation.
"""

from __future__ import annotations

import logging
import time
import uuid

from django.conf import settings
from django.db import models, transaction
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
from connections.choices import AuditAction, RunState, SiteHealth, StepStatus, Trigger
from connections.issuetrak import site_limits
from connections.models.audit import AuditEvent

logger = logging.getLogger("connections.runs")

BULK_BATCH = 500  # rows per bulk INSERT/UPDATE statement


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
    state = models.CharField(max_length=10, choices=RunState.choices, default=RunState.QUEUED)
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

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["connection", "-created_at"], name="run_connection_recent")]

    def __str__(self):
        return f"{self.connection.label} {self.created_at:%Y-%m-%d %H:%M} {self.overall or self.state}"

    @property
    def is_done(self) -> bool:
        return self.state in (RunState.FINISHED, RunState.CRASHED)

    @property
    def crashed(self) -> bool:
        return self.state == RunState.CRASHED

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

        A run another worker claimed first (a redelivered task) is not returned.
        """
        now = timezone.now()
        cls.objects.filter(pk__in=list(run_ids), state=RunState.QUEUED).update(
            state=RunState.RUNNING, started_at=now)
        return list(cls.objects.filter(pk__in=list(run_ids), state=RunState.RUNNING, started_at=now)
                    .select_related("connection").order_by("pk"))

    @classmethod
    def finish_many(cls, outcomes) -> list[ChecklistRun]:
        """Store many (run, results or None, duration_ms) at once: one UPDATE per batch of runs.

        The connections' own columns (last checked, latest result) are the caller's to store.
        """
        runs = [run._outcome(results, duration_ms) for run, results, duration_ms in outcomes]
        cls.objects.bulk_update(runs, ["state", "overall", "steps", "finished_at", "duration_ms"],
                                batch_size=BULK_BATCH)
        return runs

    def _outcome(self, results: list[StepResult] | None, duration_ms: int) -> ChecklistRun:
        """Set (not save) the finished state: None means the run crashed."""
        self.finished_at, self.duration_ms = timezone.now(), duration_ms
        if results is None:
            self.state, self.overall = RunState.CRASHED, StepStatus.FAIL
        else:
            self.state, self.overall = RunState.FINISHED, overall_of(results)
            self.steps = [r.as_dict() for r in results]
        return self

    @classmethod
    def check_now(cls, connection, *, trigger: str = Trigger.CLI, by=None) -> ChecklistRun:
        """Run the checklist in this process and return the finished run."""
        return cls.start(connection, trigger=trigger, by=by).execute()

    def claim(self) -> bool:
        """Move a queued run to running; False when another worker already took it."""
        now = timezone.now()
        claimed = ChecklistRun.objects.filter(pk=self.pk, state=RunState.QUEUED).update(
            state=RunState.RUNNING, started_at=now)
        self.state, self.started_at = RunState.RUNNING, now
        return claimed == 1

    def execute(self) -> ChecklistRun:
        """Claim this queued run, check the site, saving each step as it finishes."""
        if not self.claim():
            return self
        steps: list[dict] = []

        def save_step(result: StepResult) -> None:
            steps.append(result.as_dict())
            ChecklistRun.objects.filter(pk=self.pk).update(steps=steps)

        with site_limits.reporting(self.note_rate):
            return self.finish(*timed_checklist(self.connection, on_step=save_step))

    def note_rate(self, note: str) -> None:
        """Show what the site's rate limit does to this run; "" ends a wait (a 429 note stays)."""
        if not note and not site_limits.is_queued_note(self.rate_note):
            return
        self.rate_note = note[:200]
        ChecklistRun.objects.filter(pk=self.pk).update(rate_note=self.rate_note)

    @transaction.atomic
    def finish(self, results: list[StepResult] | None, duration_ms: int) -> ChecklistRun:
        """Store the outcome (None: crashed) on the run and, for the list page, on its connection."""
        self._outcome(results, duration_ms)
        self.save(update_fields=["state", "overall", "steps", "finished_at", "duration_ms"])
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
