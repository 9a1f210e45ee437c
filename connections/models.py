"""Connections to Issuetrak sites: label, Application URL and an encrypted API v2 token."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from connections import secrets


class Hosting(models.TextChoices):
    SELF_HOSTED = "self_hosted", "Self-hosted"
    CLOUD = "cloud", "Issuetrak cloud"


class StepStatus(models.TextChoices):
    """A checklist step's (and a run's overall) result; the CSS badge class is the value."""

    PASS = "pass", "Pass"
    WARN = "warn", "Warning"
    FAIL = "fail", "Fail"
    SKIP = "skip", "Skipped"
    ERROR = "error", "Error"


class RunState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    CRASHED = "crashed", "Crashed"


class Trigger(models.TextChoices):
    BROWSER = "browser", "Browser"
    CLI = "cli", "Command line"
    SCHEDULE = "schedule", "Schedule"
    ROTATION = "rotation", "Rotation check"


class ConnectionQuerySet(models.QuerySet):
    def active(self):
        """Connections that are not archived."""
        return self.filter(archived_at__isnull=True)

    def with_label(self, label: str):
        """Active connections with this label, ignoring case (labels are unique that way)."""
        return self.active().filter(label__iexact=label.strip())


class Connection(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    label = models.CharField("Connection Label", max_length=100)
    base_url = models.CharField("Base URL", max_length=500)
    # Blank until a sysadmin stores the token (onboarding staff add connections without one).
    token_ciphertext = models.TextField(editable=False, blank=True, default="")
    token_fingerprint = models.CharField(max_length=8, editable=False, blank=True, default="")
    token_set_at = models.DateTimeField(editable=False, null=True, blank=True)
    token_name = models.CharField("Token Name", max_length=100, blank=True)
    expires_on = models.DateField("Expiration Date", null=True, blank=True, db_index=True)
    token_user = models.CharField("Token User", max_length=100, blank=True)
    hosting = models.CharField(max_length=20, choices=Hosting.choices, default=Hosting.SELF_HOSTED)
    notify = models.JSONField("Notify", default=list, blank=True)
    issuetrak_version = models.CharField("Issuetrak version", max_length=20, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_overall = models.CharField(
        max_length=10, choices=StepStatus.choices, blank=True, editable=False
    )
    # Overrides EXPIRY_THRESHOLDS_DAYS for tokens that need a longer lead time, e.g. "60,30,14,7".
    expiry_thresholds = models.CharField("Warn days before expiry", max_length=100, blank=True)
    # Site health (the site steps only) of the latest scheduled run, and whether a
    # "connection broken" notice is open; drives broken/recovered notices.
    site_health = models.CharField(max_length=10, blank=True, editable=False)
    alert_open = models.BooleanField(default=False, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True, editable=False)
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    objects = ConnectionQuerySet.as_manager()

    class Meta:
        ordering = [Lower("label")]
        constraints = [
            models.UniqueConstraint(
                Lower("label"),
                condition=models.Q(archived_at__isnull=True),
                name="connection_unique_active_label",
                violation_error_message="A connection with this label already exists.",
            )
        ]

    def __str__(self):
        return self.label

    def __repr__(self):
        return f"<Connection {self.label!r} token={self.token_fingerprint}>"

    def get_absolute_url(self):
        return reverse("connections:detail", args=[self.public_id])

    def set_token(self, raw_token: str) -> None:
        """Store a cleaned token encrypted; only its fingerprint stays readable."""
        self.token_ciphertext = secrets.encrypt_token(raw_token)
        self.token_fingerprint = secrets.fingerprint(raw_token)
        self.token_set_at = timezone.now()

    def reveal_token(self) -> str:
        """The plaintext token, for the Issuetrak client only: never render or log it."""
        return secrets.decrypt_token(self.token_ciphertext) if self.token_ciphertext else ""

    @property
    def has_token(self) -> bool:
        return bool(self.token_ciphertext)

    def run_checklist(self, *, by=None, trigger: str = "cli"):
        """Run the setup checklist now, in this process; returns the stored run."""
        from connections.runs import check_now

        return check_now(self, trigger=trigger, by=by)

    def queue_checklist(self, *, by=None):
        """Queue the setup checklist for a Celery worker; returns the queued run."""
        from connections.runs import queue_run

        return queue_run(self, by=by)

    @property
    def thresholds(self) -> list[int]:
        """Days before expiry to warn, largest first (the override, else the settings)."""
        if self.expiry_thresholds:
            return sorted({int(d) for d in self.expiry_thresholds.split(",")}, reverse=True)
        return list(settings.EXPIRY_THRESHOLDS_DAYS)

    def days_left(self, today=None) -> int | None:
        if self.expires_on is None:
            return None
        return (self.expires_on - (today or timezone.localdate())).days

    def expiry_badge(self, today=None) -> tuple[str, str]:
        """(CSS status, text) for days to expiry, coloured by the warning thresholds."""
        days = self.days_left(today)
        if days is None:
            return "skip", "never"
        if days < 0:
            return "fail", f"expired {-days} d ago"
        thresholds = self.thresholds
        urgent = sorted(t for t in thresholds if t > 0)[:2]  # the two nearest, e.g. 1 and 3 days
        if days <= max(urgent or [0]) or days == 0:
            return "fail", f"{days} d"
        if days <= max(thresholds):
            return "warn", f"{days} d"
        return "pass", f"{days} d"

    def archive(self, by=None, via: str = "") -> None:
        """Hide the connection from checks and notices; its label becomes free again."""
        from connections import audit

        self.archived_at = timezone.now()
        self.archived_by = by
        self.save(update_fields=["archived_at", "archived_by", "updated_at"])
        audit.record(AuditAction.CONNECTION_ARCHIVED, actor=by, via=via, connection=self,
                     summary=f"Archived “{self.label}”")

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def is_cloud(self) -> bool:
        return self.hosting == Hosting.CLOUD


class ChecklistRun(models.Model):
    """One run of the setup checklist against a connection's site, written before it starts."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=10, choices=RunState.choices, default=RunState.QUEUED)
    overall = models.CharField(max_length=10, choices=StepStatus.choices, blank=True)
    # [{"key", "status", "message", "fix"}] in checklist order, filled in as steps finish.
    steps = models.JSONField(default=list, blank=True)
    token_fingerprint = models.CharField(max_length=8)
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
    def started_by_text(self) -> str:
        if self.started_by:
            return self.started_by.get_username()
        return self.get_trigger_display()


class NoticeKind(models.TextChoices):
    EXPIRING = "expiring", "Token expiring"
    EXPIRED = "expired", "Token expired"
    NEVER_EXPIRES = "never_expires", "Token never expires"
    BROKEN = "broken", "Connection broken"
    REVOKED = "revoked", "Token stopped working early"
    RECOVERED = "recovered", "Connection recovered"


EXPIRY_KINDS = (NoticeKind.EXPIRING, NoticeKind.EXPIRED, NoticeKind.NEVER_EXPIRES)
HEALTH_KINDS = (NoticeKind.BROKEN, NoticeKind.REVOKED, NoticeKind.RECOVERED)


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"


class Notice(models.Model):
    """One notice about one token, through one channel: claimed, then sent, exactly once."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="notices")
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


class NotifierJob(models.TextChoices):
    EXPIRY_SCAN = "expiry_scan", "Expiry scan"
    REVALIDATION = "revalidation", "Re-validation"


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


class TokenHistory(models.Model):
    """A token that was replaced: only its fingerprint, when it was set and retired, and by whom."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="token_history")
    token_fingerprint = models.CharField(max_length=8)
    token_name = models.CharField(max_length=100, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    set_at = models.DateTimeField()
    retired_at = models.DateTimeField(default=timezone.now)
    retired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_confirmed_at = models.DateTimeField(null=True, blank=True)
    revoked_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-retired_at", "-pk"]
        verbose_name_plural = "token history"

    def __str__(self):
        return f"{self.connection.label} {self.token_fingerprint} retired {self.retired_at:%Y-%m-%d}"


class AuditAction(models.TextChoices):
    CONNECTION_CREATED = "connection_created", "Connection created"
    CONNECTION_EDITED = "connection_edited", "Connection edited"
    CONNECTION_ARCHIVED = "connection_archived", "Connection archived"
    TOKEN_ROTATED = "token_rotated", "Token rotated"
    CHECKLIST_STARTED = "checklist_started", "Checklist run started"
    NOTICE_ACKNOWLEDGED = "notice_acknowledged", "Notice acknowledged"
    ONBOARDING_CONFIRMED = "onboarding_confirmed", "Onboarding step confirmed"
    ROLE_CHANGED = "role_changed", "Role changed"
    LOGIN_FAILED = "login_failed", "Failed sign-in"


class AuditEvent(models.Model):
    """Who did what, when, to which object. Append-only: the app never edits or deletes one."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150)  # kept when the user is deleted; "cli" etc.
    action = models.CharField(max_length=30, choices=AuditAction.choices, db_index=True)
    connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    object_repr = models.CharField(max_length=200, blank=True)
    summary = models.CharField(max_length=500)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.get_action_display()}"


class OnboardingConfirmation(models.Model):
    """A person confirmed an onboarding step only a person can tell (who and when)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="confirmations")
    step = models.CharField(max_length=40)
    value = models.CharField(max_length=100, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "step"],
                                               name="one_confirmation_per_step")]

    def __str__(self):
        return f"{self.connection.label}: {self.step}"
