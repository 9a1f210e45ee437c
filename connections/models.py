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
    token_ciphertext = models.TextField(editable=False)
    token_fingerprint = models.CharField(max_length=8, editable=False)
    token_set_at = models.DateTimeField(editable=False)
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
        return secrets.decrypt_token(self.token_ciphertext)

    def run_checklist(self, *, by=None, trigger: str = "cli"):
        """Run the setup checklist now, in this process; returns the stored run."""
        from connections.runs import check_now

        return check_now(self, trigger=trigger, by=by)

    def queue_checklist(self, *, by=None):
        """Queue the setup checklist for a Celery worker; returns the queued run."""
        from connections.runs import queue_run

        return queue_run(self, by=by)

    def archive(self, by=None) -> None:
        """Hide the connection from checks and notices; its label becomes free again."""
        self.archived_at = timezone.now()
        self.archived_by = by
        self.save(update_fields=["archived_at", "archived_by", "updated_at"])

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
