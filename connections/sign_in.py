"""Sign-in safety: failed and locked-out sign-ins in the audit trail (bounded), and the
password-reset throttle. The lockout itself is django-axes (settings: AXES_*).

Per username and address, at most AXES_FAILURE_LIMIT "failed sign-in" rows and one "sign-in
locked" row are written per lockout; attempts refused while locked write none. An address that
sprays many user names stops being audited after AUDIT_ROWS_PER_ADDRESS failures in a cool-off.
"""

import datetime as dt
import unicodedata

from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db.models import Sum
from django.dispatch import receiver
from django.utils import timezone

from connections.choices import AuditAction
from connections.client_ip import client_ip
from connections.models import AuditEvent

AUDIT_ROWS_PER_ADDRESS = 50
SHOWN_LENGTH = 64


def shown_text(value, length: int = SHOWN_LENGTH) -> str:
    """Attacker-typed text made safe to store and show: control, format (bidi) and other
    invisible characters become "?", and it is cut to `length` characters."""
    text = "".join("?" if unicodedata.category(c).startswith(("C", "Z")) and c != " " else c
                   for c in str(value))
    return text if len(text) <= length else text[:length - 1] + "…"


def _refused_while_locked(request) -> bool:
    # axes marks a request it refused before checking the password; one it counted as a new
    # failure also gets axes_failures_since_start, whatever order the receivers run in.
    return bool(getattr(request, "axes_locked_out", False)
                and getattr(request, "axes_failures_since_start", None) is None)


def _address_over_budget(address: str) -> bool:
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    tried = AccessAttempt.objects.filter(ip_address=address, attempt_time__gte=since).aggregate(
        n=Sum("failures_since_start"))["n"] or 0
    return tried > AUDIT_ROWS_PER_ADDRESS


@receiver(user_login_failed)
def _failed_sign_in(sender, credentials, request=None, **kwargs):
    # Django masks the password in `credentials`; only the user name tried is kept.
    if request is not None and _refused_while_locked(request):
        return
    address = client_ip(request) if request is not None else ""
    if address and _address_over_budget(address):
        return
    username = shown_text(credentials.get("username", ""))
    AuditEvent.objects.record(
        AuditAction.LOGIN_FAILED, via="anonymous", object_repr=username,
        summary=f"Failed sign-in as “{username}”" + (f" from {address}" if address else ""))


@receiver(user_locked_out)
def _locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    if request is None or getattr(request, "axes_failures_since_start", None) is None:
        return  # axes repeats the signal for every attempt refused while locked
    shown, minutes = shown_text(username or ""), int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    AuditEvent.objects.record(
        AuditAction.LOGIN_LOCKED, via="anonymous", object_repr=shown,
        summary=f"Sign-in as “{shown}” from {ip_address} locked for {minutes} minutes after "
                f"{settings.AXES_FAILURE_LIMIT} failures")


def reset_throttled(request, address: str) -> bool:
    """True when this address or this client asked for too many reset mails in the last hour."""
    since = timezone.now() - dt.timedelta(hours=1)
    asked = AuditEvent.objects.filter(action=AuditAction.PASSWORD_RESET_REQUESTED, created_at__gte=since)
    shown = shown_text(address.strip().lower(), 200)
    return (asked.filter(object_repr=shown).count() >= settings.PASSWORD_RESET_PER_ADDRESS_PER_HOUR
            or asked.filter(summary__endswith=f" from {client_ip(request)}").count()
            >= settings.PASSWORD_RESET_PER_IP_PER_HOUR)


def record_reset_request(request, address: str) -> None:
    """Audit a reset mail asked for (whether or not the address has an account)."""
    shown = shown_text(address.strip().lower(), 200)
    AuditEvent.objects.record(AuditAction.PASSWORD_RESET_REQUESTED, via="anonymous", object_repr=shown,
                              summary=f"Password reset asked for “{shown}” from {client_ip(request)}")
