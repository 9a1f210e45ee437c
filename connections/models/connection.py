"""Connections to Issuetrak sites (label, Application URL, encrypted API v2 token), their token
history, and the verbs a reader looks for on them: rotate_token, archive."""

from __future__ import annotations

import datetime as dt
import hmac
import time
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce, Lower
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from connections import secrets
from connections.base_url import normalize_base_url
from connections.checklist import StepResult, overall_of, run_checklist
from connections.choices import AuditAction, Hosting, RunState, SiteHealth, StepStatus, Trigger
from connections.issuetrak.rules import origin_text, same_origin
from connections.models.audit import AuditEvent
from connections.models.rotation import Candidate, RotatedMeanwhile, Rotation, RotationRefused
from connections.models.run import ChecklistRun

__all__ = ["Connection", "ConnectionQuerySet", "OriginChangeRefused", "RestoreRefused", "Rotation",
           "RotationRefused", "RotatedMeanwhile", "TokenHistory"]

ARCHIVED_REFUSAL = ("“{label}” is archived: it cannot be edited, rotated or checked. "
                    "A sysadmin can restore it first.")
SAME_TOKEN_REFUSAL = (
    "That is the token already stored for this site. Create a new token in Issuetrak and paste "
    "that one (to change only the path of the Base URL, use Edit).")


def thresholds_of(override: str) -> list[int]:
    """Days before expiry to warn, largest first: the "60,30,14,7" override, else the settings."""
    if override:
        return sorted({int(d) for d in override.split(",")}, reverse=True)
    return list(settings.EXPIRY_THRESHOLDS_DAYS)


class OriginChangeRefused(ValueError):
    """A save would send the stored token to another site without the checked rotation."""


class RestoreRefused(ValueError):
    """An archived connection cannot come back as it is (its label is taken, or it is not archived)."""


# Sort keys the list pages walk with keyset pagination: never NULL, so one index serves both
# directions. "Never expires" sorts after every date; "never checked" before every check.
NEVER_EXPIRES = dt.date(9999, 12, 31)
NEVER_CHECKED = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


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
    # Kept current by the database itself (stored generated columns), whichever code path
    # writes expires_on / last_overall / last_checked_at: the list sorts and pages on these.
    expires_key = models.GeneratedField(
        expression=Coalesce(F("expires_on"), Value(NEVER_EXPIRES)),
        output_field=models.DateField(), db_persist=True)
    health_rank = models.GeneratedField(  # worst first: fail, warn, pass, never checked
        expression=Case(When(last_overall=StepStatus.FAIL, then=Value(0)),
                        When(last_overall=StepStatus.WARN, then=Value(1)),
                        When(last_overall=StepStatus.PASS, then=Value(2)),
                        default=Value(3)),
        output_field=models.SmallIntegerField(), db_persist=True)
    checked_key = models.GeneratedField(
        expression=Coalesce(F("last_checked_at"), Value(NEVER_CHECKED)),
        output_field=models.DateTimeField(), db_persist=True)

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
        indexes = [  # one per list sort: (key, lower(label), id) walks either direction
            models.Index(Lower("label"), F("id"), name="connection_sort_label"),
            models.Index(F("expires_key"), Lower("label"), F("id"), name="connection_sort_expires"),
            models.Index(F("health_rank"), Lower("label"), F("id"), name="connection_sort_health"),
            models.Index(F("checked_key"), Lower("label"), F("id"), name="connection_sort_checked"),
            models.Index(fields=["created_at"], name="connection_created"),  # notifier status
        ]

    def __str__(self):
        return self.label

    def __repr__(self):
        return f"<Connection {self.label!r} token={self.token_fingerprint}>"

    def get_absolute_url(self):
        return reverse("connections:detail", args=[self.public_id])

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        if "base_url" in field_names:
            instance._bound_base_url = instance.base_url  # the site the stored token is for
        return instance

    def _origin_change(self) -> str:
        """Why this unsaved Base URL may not be saved with the stored token, or ""."""
        bound = getattr(self, "_bound_base_url", None)
        if self.has_token and bound and not same_origin(bound, self.base_url):
            return (f"The token of “{self.label}” is bound to {origin_text(bound)}; only a "
                    f"rotation checked against {origin_text(self.base_url)} may move it there.")
        return ""

    def clean(self):
        if problem := self._origin_change():  # model forms anywhere (Django admin too)
            raise ValidationError({"base_url": problem})

    def save(self, *args, **kwargs):
        """Refuse to send a stored token to another origin (only swap_token may rebind it)."""
        if problem := self._origin_change():
            raise OriginChangeRefused(problem)
        super().save(*args, **kwargs)
        self._bound_base_url = self.base_url

    def refresh_from_db(self, using=None, fields=None, from_queryset=None):
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)
        if fields is None or "base_url" in fields:
            self._bound_base_url = self.base_url

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

    @sensitive_variables()  # every frame below holds the candidate token
    def rotate_token(self, raw_token: str, *, token_name: str, expires_on: dt.date | None,
                     base_url: str = "", expected_fingerprint: str | None = None, by=None,
                     accept_warnings: bool = False, via: str = "") -> Rotation:
        """Prove the new token (at the new Base URL, if given) on the site, then make it current.

        Raises RotationRefused: when the checklist fails or warns unaccepted, when it is the
        stored token on the same site, or when the token changed since `expected_fingerprint`
        (default: the one this instance was loaded with). Nothing changes then.
        """
        candidate = self.rotation_candidate(raw_token, token_name=token_name, expires_on=expires_on,
                                            base_url=base_url, expected_fingerprint=expected_fingerprint)
        started = time.monotonic()
        results = run_checklist(candidate.subject(self))
        overall = overall_of(results)
        if overall == StepStatus.FAIL or (overall == StepStatus.WARN and not accept_warnings):
            raise RotationRefused(overall, results, storing=not self.has_token)
        duration_ms = int((time.monotonic() - started) * 1000)
        return self.swap_token(candidate, overall, results, by=by, via=via, duration_ms=duration_ms)

    @sensitive_variables()
    def rotation_candidate(self, raw_token: str, *, token_name: str, expires_on: dt.date | None,
                           base_url: str = "", expected_fingerprint: str | None = None) -> Candidate:
        """The cleaned candidate, or RotationRefused for what no check can make right."""
        if self.is_archived:
            raise RotationRefused.because(ARCHIVED_REFUSAL.format(label=self.label))
        token = secrets.clean_token(raw_token)
        new_url = normalize_base_url(base_url) if base_url else self.base_url
        same_token = self.has_token and hmac.compare_digest(token, self.reveal_token())
        moves = not same_origin(new_url, self.base_url)
        if same_token and not moves:
            raise RotationRefused.because(SAME_TOKEN_REFUSAL)
        expected = self.token_fingerprint if expected_fingerprint is None else expected_fingerprint
        return Candidate(token, new_url, token_name, expires_on, expected, keeps_token=same_token)

    @sensitive_variables()
    def swap_token(self, candidate: Candidate, overall: StepStatus, results: list[StepResult], *,
                   by=None, via: str = "", duration_ms: int = 0) -> Rotation:
        """Make a checked candidate current in one transaction, unless the token (or archive
        state) changed since the candidate was made: then RotationRefused, nothing changed."""
        with transaction.atomic():
            # The row lock makes a concurrent swap wait here, then see the token it replaced.
            locked = Connection.objects.select_for_update().get(pk=self.pk)
            if locked.is_archived:
                raise RotationRefused.because(ARCHIVED_REFUSAL.format(label=locked.label))
            if locked.token_fingerprint != candidate.expected_fingerprint:
                raise locked._rotated_meanwhile()
            return locked._swap(candidate, by, via, overall, results, duration_ms)

    def _rotated_meanwhile(self) -> RotatedMeanwhile:
        last = self.audit_events.filter(action=AuditAction.TOKEN_ROTATED).first()
        return RotatedMeanwhile(last.actor_name if last else "someone",
                                last.created_at if last else self.token_set_at,
                                self.token_fingerprint)

    def _swap(self, candidate, by, via, overall, results, duration_ms) -> Rotation:
        retired, previous_url = None, self.base_url
        kind = "moved" if candidate.keeps_token else ("rotated" if self.has_token else "stored")
        if not candidate.keeps_token:
            if self.has_token:
                retired = self.token_history.create(
                    token_fingerprint=self.token_fingerprint, token_name=self.token_name,
                    expires_on=self.expires_on, set_at=self.token_set_at, retired_by=by)
            self.set_token(candidate.token)
        self.base_url = self._bound_base_url = candidate.base_url  # checked: may change origin
        self.token_name, self.expires_on = candidate.token_name, candidate.expires_on
        # A new token (or site) is a new start: its health and notices count afresh.
        self.alert_open, self.site_health = False, ""
        self.last_overall, self.last_checked_at = overall, timezone.now()
        self.save()
        ChecklistRun.objects.create(
            connection=self, trigger=Trigger.ROTATION, started_by=by, state=RunState.FINISHED,
            overall=overall, steps=[r.as_dict() for r in results],
            token_fingerprint=self.token_fingerprint, started_at=timezone.now(),
            finished_at=timezone.now(), duration_ms=duration_ms)
        rotation = Rotation(self, retired, overall, results, previous_url, kind)
        AuditEvent.objects.record(AuditAction.TOKEN_ROTATED, actor=by, via=via, connection=self,
                                  summary=_audit_summary(rotation))
        return rotation

    @property
    def thresholds(self) -> list[int]:
        """Days before expiry to warn, largest first (the override, else the settings)."""
        return thresholds_of(self.expiry_thresholds)

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

    def restore(self, by=None, via: str = "") -> None:
        """Bring an archived connection back; refused (RestoreRefused) when its label is taken."""
        if not self.is_archived:
            raise RestoreRefused(f"“{self.label}” is not archived.")
        clash = (f"“{self.label}” cannot be restored: another connection already uses that label. "
                 "Rename or archive that one first.")
        if Connection.objects.with_label(self.label).exists():
            raise RestoreRefused(clash)
        try:
            with transaction.atomic():  # the unique constraint settles a race with an Add
                self.archived_at, self.archived_by = None, None
                self.save(update_fields=["archived_at", "archived_by", "updated_at"])
                AuditEvent.objects.record(AuditAction.CONNECTION_RESTORED, actor=by, via=via,
                                          connection=self, summary=f"Restored “{self.label}”")
        except IntegrityError:
            self.refresh_from_db(fields=["archived_at", "archived_by"])
            raise RestoreRefused(clash) from None

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def is_cloud(self) -> bool:
        return self.hosting == Hosting.CLOUD


def _audit_summary(rotation: Rotation) -> str:
    connection, checked = rotation.connection, f"(checklist: {rotation.overall})"
    moved = (f"; Base URL {rotation.previous_base_url} → {connection.base_url}"
             if connection.base_url != rotation.previous_base_url else "")
    if rotation.kind == "stored":
        return f"Token {connection.token_fingerprint} stored {checked}"
    if rotation.kind == "moved":
        return f"Same token {connection.token_fingerprint} moved{moved} {checked}"
    old = rotation.retired.token_fingerprint
    return f"Token {old} replaced by {connection.token_fingerprint}{moved} {checked}"


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
