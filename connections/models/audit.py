"""The audit trail's rows, and onboarding confirmations (who confirmed a step, and when)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from connections.choices import AuditAction


class AuditEventManager(models.Manager):
    def record(self, action: str, *, actor=None, via: str = "", connection=None, summary: str = "",
               object_repr: str = "") -> "AuditEvent":
        """Append an event (never a token); `via` names a non-person actor ("cli", "schedule")."""
        event = self.event(action, actor=actor, via=via, connection=connection, summary=summary,
                           object_repr=object_repr)
        event.save(force_insert=True)
        return event

    def event(self, action: str, *, actor=None, via: str = "", connection=None, summary: str = "",
              object_repr: str = "") -> "AuditEvent":
        """An unsaved event as `record` would append it (for one bulk insert of many)."""
        name = actor.get_username() if actor is not None else (via or "system")
        return self.model(
            actor=actor, actor_name=name[:150], action=action, connection=connection,
            object_repr=(object_repr or (connection.label if connection else ""))[:200],
            summary=summary[:500],
        )


class AuditEvent(models.Model):
    """Who did what, when, to which object. Append-only: the app never edits or deletes one."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150)  # kept when the user is deleted; "cli" etc.
    action = models.CharField(max_length=30, choices=AuditAction.choices, db_index=True)
    connection = models.ForeignKey(
        "connections.Connection", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="audit_events",
    )
    object_repr = models.CharField(max_length=200, blank=True)
    summary = models.CharField(max_length=500)

    objects = AuditEventManager()

    class Meta:
        app_label = "connections"
        ordering = ["-created_at", "-pk"]
        indexes = [  # the trail's keyset pages, unfiltered and filtered by action
            models.Index(fields=["created_at", "id"], name="audit_keyset"),
            models.Index(fields=["action", "created_at", "id"], name="audit_action_keyset"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.get_action_display()}"


class OnboardingConfirmation(models.Model):
    """A person confirmed an onboarding step only a person can tell (who and when)."""

    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE,
                                   related_name="confirmations")
    step = models.CharField(max_length=40)
    value = models.CharField(max_length=100, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "connections"
        constraints = [models.UniqueConstraint(fields=["connection", "step"],
                                               name="one_confirmation_per_step")]

    def __str__(self):
        return f"{self.connection.label}: {self.step}"
