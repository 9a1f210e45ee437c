"""The app's own fault alert: sysadmins (never a connection's owners) hear when a checklist run or
a background job crashed, or when stored tokens cannot be decrypted with TOKEN_ENCRYPTION_KEYS.

A crash e-mails every active sysadmin with an address, at most once an hour (the banner on every
page keeps counting); the undecryptable-token test is bounded (SAMPLE oldest and newest tokens),
so the system check, /health/ and the banner can afford it.
"""

import datetime as dt
import logging

from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import send_mail
from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone

from connections import secrets
from connections.access import SYSADMIN
from connections.choices import RunState
from connections.models import ChecklistRun, Connection
from connections.models.run import run_crashed as run_crashed_signal

logger = logging.getLogger(__name__)

SAMPLE = 5  # oldest and newest stored tokens: an old key dropped too early shows in the oldest
MAIL_AT_MOST_EVERY = dt.timedelta(hours=1)
BANNER_WINDOW = dt.timedelta(hours=24)
KEY_PROBLEM = ("A stored API token cannot be decrypted with any key in TOKEN_ENCRYPTION_KEYS "
               "({labels}): the key is wrong, or a retired key was removed before "
               "`manage.py reencrypt_tokens` ran. Put the key that encrypted them back into "
               "TOKEN_ENCRYPTION_KEYS (newest first), then run `manage.py reencrypt_tokens`.")


def undecryptable_labels() -> list[str]:
    """Labels of sampled connections whose stored token no configured key decrypts."""
    stored = Connection.objects.with_token().only("label", "token_ciphertext")
    sample = {c.pk: c for c in [*stored.order_by("token_set_at", "pk")[:SAMPLE],
                                *stored.order_by("-token_set_at", "-pk")[:SAMPLE]]}
    bad = []
    for connection in sample.values():
        try:
            secrets.decrypt_token(connection.token_ciphertext)
        except ImproperlyConfigured:
            bad.append(connection.label)
    return sorted(bad)


def token_key_problem() -> str:
    """The message naming TOKEN_ENCRYPTION_KEYS when sampled tokens cannot be decrypted, else ""."""
    labels = undecryptable_labels()
    return KEY_PROBLEM.format(labels=", ".join(labels)) if labels else ""


def crash_reason(connection) -> str:
    try:
        connection.reveal_token()
    except ImproperlyConfigured:
        return KEY_PROBLEM.format(labels=connection.label)
    return ("An unexpected error stopped the checklist; the worker's log has the traceback "
            f"(“checklist for connection {connection.public_id} crashed”).")


def sysadmin_addresses() -> list[str]:
    users = get_user_model().objects.filter(Q(is_superuser=True) | Q(groups__name=SYSADMIN),
                                            is_active=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def alert_sysadmins(subject: str, body: str) -> None:
    """E-mail the fault to every sysadmin; a mail failure is logged, never raised."""
    recipients = sysadmin_addresses()
    logger.error("fault alert: %s", subject)
    if not recipients:
        return
    try:
        send_mail(f"[issuetrak-admin] {subject}", body, None, recipients)
    except Exception:
        logger.exception("could not e-mail the fault alert to sysadmins")


@receiver(run_crashed_signal)
def _on_crash(sender, run, **kwargs):
    run_crashed(run)


def run_crashed(run) -> None:
    """A checklist run crashed: tell sysadmins (unless another run crashed within the hour)."""
    since = timezone.now() - MAIL_AT_MOST_EVERY
    if recent_crashes(since).exclude(pk=run.pk).exists():
        return
    connection = run.connection
    alert_sysadmins(
        f"A checklist run crashed ({connection.label})",
        f"The checklist run on “{connection.label}” started {run.created_at:%Y-%m-%d %H:%M %Z} "
        f"({run.get_trigger_display().lower()}) crashed instead of finishing.\n\n"
        f"{crash_reason(connection)}\n\nIts owners were not told the connection is broken: it is "
        "this installation that needs a fix. Further crashes within the hour are not mailed; "
        "the banner on every page counts them.")


def job_failed(job: str, exc: BaseException) -> None:
    """A background job (Celery task) raised."""
    alert_sysadmins(f"The background job {job} failed",
                    f"The job {job} stopped with {type(exc).__name__}. The worker's log has the "
                    "traceback. Expiry notices or re-validation may not have gone out.")


def recent_crashes(since=None):
    since = since or timezone.now() - BANNER_WINDOW
    return ChecklistRun.objects.filter(state=RunState.CRASHED, finished_at__gte=since)


def banner() -> dict | None:
    """What the sysadmin banner says about crashed runs in the last 24 hours (None: nothing)."""
    crashes = recent_crashes()
    latest = crashes.select_related("connection").order_by("-finished_at").first()
    if latest is None:
        return None
    return {"count": crashes.count(), "latest": latest, "key_problem": token_key_problem()}
