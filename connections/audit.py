"""The audit trail's helpers: which fields a form changed, and failed sign-ins (never a token).

Rows are written with `AuditEvent.objects.record(...)`.
"""

from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from connections.choices import AuditAction
from connections.models import AuditEvent


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
    AuditEvent.objects.record(
        AuditAction.LOGIN_FAILED, via="anonymous", object_repr=username,
        summary=f"Failed sign-in as “{username}”" + (f" from {address}" if address else ""))
