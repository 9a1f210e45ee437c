"""Connections to Issuetrak sites (label, Application URL, encrypted API v2 token), their token
history, and the verbs a reader looks for on them: rotate_token, archive."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass, replace

from django.conf import settings
from django.db import models, transaction
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from connections import secrets
from connections.checklist import StepResult, Subject, overall_of, run_checklist
from connections.choices import AuditAction, Hosting, RunState, SiteHealth, StepStatus, Trigger
from connections.models.audit import AuditEvent
from connections.models.run import ChecklistRun


class RotationRefused(Exception):
    """The new token did not pass the checklist (or has unaccepted warnings): nothing changed."""

    def __init__(self, overall: StepStatus, results: list[StepResult]):
        self.overall, self.results = overall, results
        problem = next((r for r in results if r.status.is_failure), None)
        if problem:
            message = f"The new token was not saved: {problem.title} — {problem.message}"
        else:
            message = "The new token passes with warnings: accept them to rotate."
        super().__init__(message)

    @property
    def only_warnings(self) -> bool:
        """Accepting the warnings would let the rotation through."""
        return self.overall == StepStatus.WARN


@dataclass
class Rotation:
    connection: Connection
    retired: TokenHistory | None
    overall: StepStatus
    results: list[StepResult]


class ConnectionQuerySet(models.QuerySet):
    def active(self):
        """Connections that are not archived."""
        return self.filter(archived_at__isnull=True)

    def with_token(self):
        """Connections that have a token stored (onboarding staff add some without one)."""
        return self.exclude(token_ciphertext="")

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
    # The addresses warned about this connection (the form field and CLI option say "notify").
    recipients = models.JSONField("Notify", default=list, blank=True)
    issuetrak_version = models.CharField("Issuetrak version", max_length=20, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_overall = models.CharField(
        max_length=10, choices=StepStatus.choices, blank=True, editable=False
    )
    # Overrides EXPIRY_THRESHOLDS_DAYS for tokens that need a longer lead time, e.g. "60,30,14,7".
    expiry_thresholds = models.CharField("Warn days before expiry", max_length=100, blank=True)
    # Site health (the site steps only) of the latest scheduled run, and whether a
    # "connection broken" notice is open; drives broken/recovered notices.
    site_health = models.CharField(max_length=10, choices=SiteHealth.choices, blank=True,
                                   editable=False)
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

    def rotate_token(self, raw_token: str, *, token_name: str, expires_on: dt.date | None, by=None,
                     accept_warnings: bool = False, via: str = "") -> Rotation:
        """Prove the new token on the site, then make it current; raise RotationRefused.

        If the checklist fails for the new token nothing changes. If it passes (or its warnings
        are accepted) the swap happens in one transaction; the old token is kept only as a
        fingerprint in the history. Any error before the commit leaves the old token in place.
        """
        token = secrets.clean_token(raw_token)
        started = time.monotonic()
        subject = replace(Subject.from_connection(self, token=token),
                          token_name=token_name, expires_on=expires_on)
        results = run_checklist(subject)
        overall = overall_of(results)
        if overall == StepStatus.FAIL or (overall == StepStatus.WARN and not accept_warnings):
            raise RotationRefused(overall, results)
        duration_ms = int((time.monotonic() - started) * 1000)
        with transaction.atomic():
            return Connection.objects.select_for_update().get(pk=self.pk)._swap(
                token, token_name, expires_on, by, via, overall, results, duration_ms)

    def _swap(self, token, token_name, expires_on, by, via, overall, results, duration_ms) -> Rotation:
        retired = None
        if self.has_token:
            retired = self.token_history.create(
                token_fingerprint=self.token_fingerprint, token_name=self.token_name,
                expires_on=self.expires_on, set_at=self.token_set_at, retired_by=by)
        self.set_token(token)
        self.token_name, self.expires_on = token_name, expires_on
        # A new token is a new start: its health and notices count afresh.
        self.alert_open, self.site_health = False, ""
        self.last_overall, self.last_checked_at = overall, timezone.now()
        self.save()
        ChecklistRun.objects.create(
            connection=self, trigger=Trigger.ROTATION, started_by=by, state=RunState.FINISHED,
            overall=overall, steps=[r.as_dict() for r in results],
            token_fingerprint=self.token_fingerprint, started_at=timezone.now(),
            finished_at=timezone.now(), duration_ms=duration_ms)
        old = retired.token_fingerprint if retired else "(none)"
        AuditEvent.objects.record(
            AuditAction.TOKEN_ROTATED, actor=by, via=via, connection=self,
            summary=f"Token {old} replaced by {self.token_fingerprint} (checklist: {overall})")
        return Rotation(self, retired, overall, results)

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

    def expiry_badge(self, today=None) -> tuple[StepStatus, str]:
        """(CSS status, text) for days to expiry, coloured by the warning thresholds."""
        days = self.days_left(today)
        if days is None:
            return StepStatus.SKIP, "never"
        if days < 0:
            return StepStatus.FAIL, f"expired {-days} d ago"
        thresholds = self.thresholds
        urgent = sorted(t for t in thresholds if t > 0)[:2]  # the two nearest, e.g. 1 and 3 days
        if days <= max(urgent or [0]) or days == 0:
            return StepStatus.FAIL, f"{days} d"
        if days <= max(thresholds):
            return StepStatus.WARN, f"{days} d"
        return StepStatus.PASS, f"{days} d"

    def archive(self, by=None, via: str = "") -> None:
        """Hide the connection from checks and notices; its label becomes free again."""
        self.archived_at = timezone.now()
        self.archived_by = by
        self.save(update_fields=["archived_at", "archived_by", "updated_at"])
        AuditEvent.objects.record(AuditAction.CONNECTION_ARCHIVED, actor=by, via=via, connection=self,
                                  summary=f"Archived “{self.label}”")

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def is_cloud(self) -> bool:
        return self.hosting == Hosting.CLOUD


class TokenHistory(models.Model):
    """A token that was replaced: only its fingerprint, when it was set and retired, and by whom."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE,
                                   related_name="token_history")
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
