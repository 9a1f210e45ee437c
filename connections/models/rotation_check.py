"""A rotation's candidate token checked by a worker, so the web request never waits for the site.

The page polls the row's steps as they fill in, like a checklist run. The candidate token is
held only encrypted, and only until the check is decided; when it passes with warnings it is
kept (encrypted, for ACCEPT_WINDOW) so "Accept the warnings" needs no second paste. The swap
itself is `Connection.swap_token` (row lock and fingerprint check), as in a direct rotation.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from connections import secrets
from connections.checklist import STEPS, StepResult, overall_of, result_from, run_checklist
from connections.choices import RunState, StepStatus
from connections.models.rotation import Candidate, RotationRefused

logger = logging.getLogger("connections.rotation")

# How long a candidate that passed with warnings waits for "Accept the warnings".
ACCEPT_WINDOW = dt.timedelta(hours=1)


class CheckOutcome(models.TextChoices):
    ROTATED = "rotated", "Rotated"
    WARNINGS = "warnings", "Waiting for the warnings to be accepted"
    REFUSED = "refused", "Refused"
    CRASHED = "crashed", "Crashed"


class RotationCheck(models.Model):
    """One candidate token being proved on its site before it replaces the stored one."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE,
                                   related_name="rotation_checks")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    via = models.CharField(max_length=20, blank=True)
    storing = models.BooleanField(default=False)  # the connection's first token
    state = models.CharField(max_length=12, choices=RunState.choices, default=RunState.QUEUED)
    steps = models.JSONField(default=list, blank=True)
    overall = models.CharField(max_length=10, choices=StepStatus.choices, blank=True)
    outcome = models.CharField(max_length=10, choices=CheckOutcome.choices, blank=True)
    message = models.TextField(blank=True)
    # The candidate. The token is Fernet-encrypted like a stored one, and emptied once decided.
    token_ciphertext = models.TextField(blank=True)
    token_fingerprint = models.CharField(max_length=8)
    base_url = models.CharField(max_length=2000)
    token_name = models.CharField(max_length=100, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    expected_fingerprint = models.CharField(max_length=8, blank=True)
    keeps_token = models.BooleanField(default=False)
    accept_warnings = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        when = f"{self.created_at:%Y-%m-%d %H:%M}"
        return f"{self.connection.label} rotation {when} {self.outcome or self.state}"

    def __repr__(self):
        return f"<RotationCheck {self.public_id} {self.outcome or self.state} token={self.token_fingerprint}>"

    # --- start → claim → execute → (accept) ---

    @classmethod
    @sensitive_variables()
    def start(cls, connection, candidate: Candidate, *, by=None, via: str = "",
              accept_warnings: bool = False) -> RotationCheck:
        """A queued check holding the candidate encrypted; earlier undecided candidates are dropped."""
        cls.objects.filter(connection=connection).exclude(token_ciphertext="").update(token_ciphertext="")
        return cls.objects.create(
            connection=connection, requested_by=by, via=via, storing=not connection.has_token,
            token_ciphertext=secrets.encrypt_token(candidate.token),
            token_fingerprint=secrets.fingerprint(candidate.token), base_url=candidate.base_url,
            token_name=candidate.token_name, expires_on=candidate.expires_on,
            expected_fingerprint=candidate.expected_fingerprint, keeps_token=candidate.keeps_token,
            accept_warnings=accept_warnings)

    @property
    def is_done(self) -> bool:
        return self.state in (RunState.FINISHED, RunState.CRASHED, RunState.INTERRUPTED)

    @property
    def awaits_acceptance(self) -> bool:
        return self.outcome == CheckOutcome.WARNINGS and bool(self.token_ciphertext) and not self._too_old()

    def _too_old(self) -> bool:
        return self.finished_at is not None and timezone.now() - self.finished_at > ACCEPT_WINDOW

    def claim(self) -> bool:
        """Move a queued check to running; False when another worker already took it."""
        claimed = RotationCheck.objects.filter(pk=self.pk, state=RunState.QUEUED).update(
            state=RunState.RUNNING)
        self.state = RunState.RUNNING
        return claimed == 1

    @sensitive_variables()
    def candidate(self) -> Candidate:
        return Candidate(secrets.decrypt_token(self.token_ciphertext), self.base_url, self.token_name,
                         self.expires_on, self.expected_fingerprint, self.keeps_token)

    @sensitive_variables()
    def execute(self) -> RotationCheck:
        """Check the candidate on its site, saving each step; swap it in when it may go."""
        if not self.claim():
            return self
        started, steps = time.monotonic(), []

        def save_step(result: StepResult) -> None:
            steps.append(result.as_dict())
            RotationCheck.objects.filter(pk=self.pk).update(steps=steps)

        try:
            candidate = self.candidate()
            results = run_checklist(candidate.subject(self.connection), on_step=save_step)
            overall = overall_of(results)
            if overall == StepStatus.FAIL or (overall == StepStatus.WARN and not self.accept_warnings):
                refused = RotationRefused(overall, results, storing=self.storing)
                outcome = CheckOutcome.WARNINGS if refused.only_warnings else CheckOutcome.REFUSED
                return self._decide(outcome, str(refused), results, started)
            return self._swap(candidate, results, started)
        except Exception:  # the check or the swap failed: say so, never leave it "running"
            logger.exception("rotation check %s crashed", self.public_id)
            return self._decide(CheckOutcome.CRASHED, "The check stopped unexpectedly; the error was "
                                "logged. Nothing changed.", None, started)

    @sensitive_variables()
    def accept(self, *, by=None) -> RotationCheck:
        """Swap in a candidate that passed with warnings, without pasting it again."""
        with transaction.atomic():
            locked = RotationCheck.objects.select_for_update().get(pk=self.pk)
            if not locked.awaits_acceptance:
                raise RotationRefused.because(
                    "This check no longer holds a token to accept: rotate again with the token.")
            candidate, results = locked.candidate(), [result_from(s) for s in locked.steps]
            locked.requested_by = by or locked.requested_by
            return locked._swap(candidate, results, time.monotonic())

    def _swap(self, candidate: Candidate, results: list[StepResult], started: float) -> RotationCheck:
        try:
            rotation = self.connection.swap_token(
                candidate, overall_of(results), results, by=self.requested_by, via=self.via,
                duration_ms=int((time.monotonic() - started) * 1000))
        except RotationRefused as refused:
            return self._decide(CheckOutcome.REFUSED, str(refused), results, started)
        return self._decide(CheckOutcome.ROTATED, rotation.message(), results, started)

    def _decide(self, outcome: str, message: str, results: list[StepResult] | None,
                started: float) -> RotationCheck:
        """Record the outcome; the token goes unless it waits for the warnings to be accepted."""
        self.outcome, self.message = outcome, message
        self.state = RunState.CRASHED if outcome == CheckOutcome.CRASHED else RunState.FINISHED
        if results is not None:
            self.steps, self.overall = [r.as_dict() for r in results], overall_of(results)
        else:
            self.overall = StepStatus.FAIL
        if outcome != CheckOutcome.WARNINGS:
            self.token_ciphertext = ""
        self.finished_at = timezone.now()
        self.duration_ms = int((time.monotonic() - started) * 1000)
        self.save()
        return self

    def fail_to_queue(self) -> None:
        """The broker refused the check: nothing was sent to the site, and the token goes."""
        self._decide(CheckOutcome.CRASHED, "The check could not be queued (is the broker "
                     "running?). Nothing changed.", None, time.monotonic())

    # --- reading it back for the page ---

    def refusal(self) -> RotationRefused:
        """A decided check that changed nothing, as the refusal the token page shows."""
        results = [result_from(stored) for stored in self.steps]
        return RotationRefused(StepStatus(self.overall or StepStatus.FAIL), results, message=self.message)

    def rows(self) -> list[StepResult]:
        """Every registered step: its result, or a placeholder while the check goes on."""
        done = {stored["key"]: result_from(stored) for stored in self.steps}
        pending = RunState.QUEUED if self.state == RunState.QUEUED else RunState.RUNNING
        status, message = (StepStatus.SKIP, "Not run.") if self.is_done else (pending, "Waiting…")
        return [done.get(step.key) or StepResult(step.key, step.title, status, message) for step in STEPS]
