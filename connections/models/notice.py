"""Notices (one per token, kind, threshold and channel) and the notifier's heartbeat rows."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from connections.choices import AuditAction, Channel, NoticeKind, NotifierJob
from connections.models.audit import AuditEvent


class Notice(models.Model):
    """One notice about one token, through one channel: claimed, then sent, exactly once."""

    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE,
                                   related_name="notices")
    token_fingerprint = models.CharField(max_length=8)
    kind = models.CharField(max_length=20, choices=NoticeKind.choices)
    threshold = models.IntegerField(default=0)  # days-before-expiry threshold that fired
    episode = models.BigIntegerField(default=0)  # the run that saw a break/recovery
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipients = models.JSONField(default=list, blank=True)
    summary = models.CharField(max_length=500)
    fix = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    # Not claimed again before this (a recipient's retry is not due yet).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Every recipient failed NOTICE_MAX_ATTEMPTS times: nobody got it, nothing more is tried.
    failed_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    planned_on = models.DateField("Rotation planned for", null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "token_fingerprint", "kind", "threshold", "episode", "channel"],
                name="notice_once_per_token_threshold_channel",
            )
        ]
        indexes = [
            models.Index(fields=["sent_at", "claimed_at"], name="notice_pending"),
            models.Index(fields=["claim_token"], name="notice_claim"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.connection.label} · {self.channel}"

    @property
    def is_sent(self) -> bool:
        return self.sent_at is not None

    @property
    def message_key(self) -> str:
        """What identifies this notice anywhere (its unique key, with the connection's public id)."""
        return (f"{self.connection.public_id}/{self.token_fingerprint}/{self.kind}/"
                f"{self.threshold}/{self.episode}")

    @property
    def is_expiring(self) -> bool:
        return self.kind == NoticeKind.EXPIRING

    def acknowledge(self, *, by, planned_on=None) -> None:
        """A sysadmin notes that rotation is planned (for `planned_on`); recorded in the trail."""
        self.acknowledged_at, self.acknowledged_by, self.planned_on = timezone.now(), by, planned_on
        self.save(update_fields=["acknowledged_at", "acknowledged_by", "planned_on"])
        planned = f", rotation planned for {planned_on:%Y-%m-%d}" if planned_on else ""
        AuditEvent.objects.record(AuditAction.NOTICE_ACKNOWLEDGED, actor=by, connection=self.connection,
                                  summary=f"Acknowledged “{self.summary}”{planned}")


class NoticeRecipient(models.Model):
    """One address an e-mail notice goes to: sent once, or retried with backoff, then failed."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="deliveries")
    address = models.CharField(max_length=254)
    attempts = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)  # gave up: NOTICE_MAX_ATTEMPTS failed
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["address"]
        constraints = [models.UniqueConstraint(fields=["notice", "address"],
                                               name="notice_recipient_once")]
        indexes = [models.Index(fields=["failed_at"], name="notice_recipient_failed")]

    def __str__(self):
        return f"{self.address}: {self.status_text}"

    @property
    def status_text(self) -> str:
        if self.sent_at:
            return "sent"
        if self.failed_at:
            return f"bounces ({self.attempts} attempts)"
        return f"retrying ({self.attempts} failed)" if self.attempts else "pending"


class NotifierRun(models.Model):
    """When a scan or re-validation round ran and what it did: the notifier's heartbeat."""

    job = models.CharField(max_length=20, choices=NotifierJob.choices)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    as_of = models.DateField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["job", "-finished_at"], name="notifier_latest")]

    def __str__(self):
        return f"{self.get_job_display()} {self.started_at:%Y-%m-%d %H:%M}"

    @classmethod
    def latest_finished(cls, job: str):
        return cls.objects.filter(job=job, finished_at__isnull=False).order_by("-finished_at").first()
