"""Notices: recorded as rows first (a unique constraint keeps them once), then claimed, then sent.

Exactly once: `record()` inserts with ON CONFLICT DO NOTHING, so a retried task, two workers or
beat firing twice cannot make a second row. `deliver()` claims unsent rows with one conditional
UPDATE on the notice table itself (two workers never claim the same row), sends, and marks them
sent. A worker that dies after claiming leaves the claim to expire (NOTICE_CLAIM_LEASE_MINUTES),
and the next run sends what it did not.
"""

import datetime as dt
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection as db
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from connections import emails, webhook
from connections.choices import Channel
from connections.models import Notice

logger = logging.getLogger(__name__)

_INSERT_FIELDS = ("connection", "token_fingerprint", "kind", "threshold", "episode", "channel",
                  "recipients", "summary", "fix", "created_at", "attempts", "last_error")
# Rows per INSERT statement (fewer where the database caps the parameters of one statement).
RECORD_BATCH = 1000


@dataclass
class Delivery:
    """What one `deliver()` call sent, and what failed (to be retried on the next run)."""

    sent: list[Notice] = field(default_factory=list)
    failed: list[Notice] = field(default_factory=list)
    cancelled: int = 0
    emails: int = 0


def channels() -> list[str]:
    """The channels notices go out on: e-mail always, the webhook when one is configured."""
    return [Channel.EMAIL] + ([Channel.WEBHOOK] if settings.EXPIRY_WEBHOOK_URL else [])


def rows_for(connection, *, kind: str, summary: str, fix: str = "", threshold: int = 0,
             episode: int = 0, created_at=None, **extra) -> list[dict]:
    """One notice about a connection's current token as rows for `record()`, one per channel.

    The only place a notice row is built (expiry scan and re-validation alike): e-mail rows
    carry the connection's addresses, webhook rows none (the webhook has its own URL).
    """
    created_at = created_at or timezone.now()
    return [{"connection": connection.pk, "token_fingerprint": connection.token_fingerprint,
             "kind": kind, "threshold": threshold, "episode": episode, "channel": channel,
             "recipients": connection.recipients if channel == Channel.EMAIL else [],
             "summary": summary[:500], "fix": fix, "created_at": created_at, **extra}
            for channel in channels()]


def record(rows: Iterable[dict]) -> None:
    """Insert notice rows, silently skipping any that already exist.

    Multi-row ``INSERT … ON CONFLICT DO NOTHING`` of up to RECORD_BATCH rows each, in one
    transaction: 100,000 connections are a handful of statements and one commit. Written by
    hand because bulk_create's compiler spends five times the database's own time on the values.
    """
    fields = [Notice._meta.get_field(name) for name in _INSERT_FIELDS]
    # (name, default, how to adapt it or None), worked out once rather than per value.
    plan = [(f.name, f.get_default(), _preparer(f)) for f in fields]
    values = [[row.get(name, default) if prep is None else prep(row.get(name, default))
               for name, default, prep in plan] for row in rows]
    if not values:
        return
    columns = ", ".join(db.ops.quote_name(f.column) for f in fields)
    one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = min(RECORD_BATCH, _max_params() // len(fields))
    with transaction.atomic(savepoint=False), db.cursor() as cursor:
        for start in range(0, len(values), per_statement):
            batch = values[start:start + per_statement]
            cursor.execute(
                f"INSERT INTO {db.ops.quote_name(Notice._meta.db_table)} ({columns}) VALUES "
                + ", ".join([one_row] * len(batch)) + " ON CONFLICT DO NOTHING",
                [value for row in batch for value in row])


def _preparer(field):
    """How a value of `field` goes to the database: JSON and datetimes adapted, once per value."""
    if field.get_internal_type() not in ("JSONField", "DateTimeField"):
        return None  # str and int values go as they are
    seen: dict = {}

    def prepare(value):
        key = repr(value)  # rows of one call share their created_at and most of their recipients
        if key not in seen:
            seen[key] = field.get_db_prep_save(value, db)
        return seen[key]
    return prepare


def _max_params() -> int:
    """Bound parameters one statement may carry (SQLite's is a compile-time limit)."""
    if db.vendor == "sqlite":
        import sqlite3

        db.ensure_connection()
        return db.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return 65535  # PostgreSQL's protocol limit


def claim(kinds: Iterable[str]) -> uuid.UUID:
    """Claim every unsent, uncancelled notice of these kinds not claimed by a live worker."""
    token, now = uuid.uuid4(), timezone.now()
    lease = now - dt.timedelta(minutes=settings.NOTICE_CLAIM_LEASE_MINUTES)
    Notice.objects.filter(
        kind__in=list(kinds), sent_at__isnull=True, cancelled_at__isnull=True
    ).filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=lease)).update(
        claim_token=token, claimed_at=now
    )
    return token


def deliver(kinds: Iterable[str], *, digest: bool) -> Delivery:
    """Send the claimable notices of these kinds: per recipient one digest, or one mail each."""
    token = claim(kinds)
    claimed = Notice.objects.filter(claim_token=token).select_related("connection")
    current, stale = [], []
    for notice in claimed.iterator(chunk_size=2000):
        owner = notice.connection
        gone = owner.is_archived or owner.token_fingerprint != notice.token_fingerprint
        (stale if gone else current).append(notice)
    delivery = Delivery(cancelled=len(stale))
    if stale:  # archived, or the token was rotated: the notice no longer applies
        Notice.objects.filter(pk__in=[n.pk for n in stale]).update(cancelled_at=timezone.now())
    by_channel = defaultdict(list)
    for notice in current:
        by_channel[notice.channel].append(notice)
    _send_emails(by_channel[Channel.EMAIL], digest, delivery)
    _send_webhook(by_channel[Channel.WEBHOOK], delivery)
    _settle(token, delivery)
    return delivery


def _send_emails(notices: list[Notice], digest: bool, delivery: Delivery) -> None:
    if digest:
        per_recipient = defaultdict(list)
        for notice in notices:
            for address in notice.recipients:
                per_recipient[address].append(notice)
        batches = [([address], items) for address, items in sorted(per_recipient.items())]
    else:
        batches = [(notice.recipients, [notice]) for notice in notices]
    failed: set[int] = set()
    for recipients, items in batches:
        try:
            (emails.send_expiry_digest if digest else emails.send_health_notice)(recipients, items)
            delivery.emails += 1
        except Exception as exc:  # one bad mailbox or a down SMTP server must not stop the rest
            logger.warning("notice e-mail to %d recipient(s) failed: %s", len(recipients),
                           type(exc).__name__)
            failed.update(n.pk for n in items)
    for notice in notices:
        (delivery.failed if notice.pk in failed else delivery.sent).append(notice)


def _send_webhook(notices: list[Notice], delivery: Delivery) -> None:
    if not notices:
        return
    try:
        webhook.post_notices(notices)
        delivery.sent.extend(notices)
    except webhook.WebhookError as exc:
        logger.warning("notice webhook failed: %s", exc)
        delivery.failed.extend(notices)


def _settle(token: uuid.UUID, delivery: Delivery) -> None:
    """Mark what went out as sent; release what failed so the next run retries it."""
    now = timezone.now()
    failed_ids = [n.pk for n in delivery.failed]
    Notice.objects.filter(claim_token=token, cancelled_at__isnull=True).exclude(
        pk__in=failed_ids).update(sent_at=now, attempts=F("attempts") + 1)
    if failed_ids:
        Notice.objects.filter(pk__in=failed_ids).update(
            claim_token=None, claimed_at=None, attempts=F("attempts") + 1,
            last_error="delivery failed; retried on the next run",
        )
