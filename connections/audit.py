"""The audit trail: one row per change, with actor, time, object and a summary (never a token)."""

import logging

from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from connections.models import AuditAction, AuditEvent

logger = logging.getLogger(__name__)


def record(action: str, *, actor=None, via: str = "", connection=None, summary: str = "",
           object_repr: str = "") -> AuditEvent:
    """Append an event; `via` names a non-person actor ("cli", "schedule")."""
    name = actor.get_username() if actor is not None else (via or "system")
    return AuditEvent.objects.create(
        actor=actor, actor_name=name[:150], action=action, connection=connection,
        object_repr=(object_repr or (connection.label if connection else ""))[:200],
        summary=summary[:500],
    )


def changed_fields(form) -> str:
    """Names of the fields a form changed; for the token only that it changed, never its value."""
    names = [form.fields[name].label or name for name in form.changed_data
             if name != "token" or form.cleaned_data.get("token")]
    return ", ".join(str(n) for n in names) or "nothing"


@receiver(user_login_failed)
def _failed_login(sender, credentials, request=None, **kwargs):
    # Django already masks the password in `credentials`; keep only the user name tried.
    username = str(credentials.get("username", ""))[:150]
    address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    record(AuditAction.LOGIN_FAILED, via="anonymous", object_repr=username,
           summary=f"Failed sign-in as “{username}”" + (f" from {address}" if address else ""))
