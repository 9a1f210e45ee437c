"""A "check all": many checklist runs started together as one batch, counted as they finish."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from connections.choices import AuditAction, RunState, Trigger
from connections.models.audit import AuditEvent
from connections.models.run import ChecklistRun


class CheckBatch(models.Model):
    """Runs started at once (the list's "Check all", `connections check --all`): done/total, failures."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    scope = models.CharField(max_length=200, blank=True)  # which list, in words ("failing only")
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)  # finished with "fail", or crashed
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"Check of {self.total} connection(s) {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_done(self) -> bool:
        return self.done >= self.total

    @property
    def percent(self) -> int:
        return 100 if not self.total else self.done * 100 // self.total

    @property
    def started_by_text(self) -> str:
        return self.created_by.get_username() if self.created_by else self.get_trigger_display()

    @classmethod
    @transaction.atomic
    def start(cls, connections, *, trigger: str, by=None, scope: str = "",
              claim: bool = False) -> tuple[CheckBatch, list[ChecklistRun]]:
        """The batch and its runs, inserted in bulk (claimed too when `claim`: this process runs
        them); one audit event for the batch instead of one per run."""
        connections = list(connections)
        now = timezone.now()
        batch = cls.objects.create(created_by=by, trigger=trigger, scope=scope[:200],
                                   total=len(connections), finished_at=None if connections else now)
        state = RunState.RUNNING if claim else RunState.QUEUED
        runs = ChecklistRun.objects.bulk_create(
            [ChecklistRun(connection=c, trigger=trigger, started_by=by, batch=batch, state=state,
                          token_fingerprint=c.token_fingerprint, started_at=now if claim else None)
             for c in connections], batch_size=500)
        AuditEvent.objects.record(
            AuditAction.CHECK_ALL_STARTED, actor=by, via=trigger, object_repr=scope,
            summary=f"Checklist started for {len(connections)} connection(s) at once"
            + (f" ({scope})" if scope else "") + f" ({batch.get_trigger_display().lower()})")
        return batch, runs

    @classmethod
    def count_finished(cls, batch_id: int, *, failed: bool) -> None:
        """One run of the batch ended: count it, and close the batch with its last run."""
        cls.objects.filter(pk=batch_id).update(done=F("done") + 1,
                                               failed=F("failed") + (1 if failed else 0))
        cls.objects.filter(pk=batch_id, finished_at__isnull=True, done__gte=F("total")).update(
            finished_at=timezone.now())
