"""Notices: recorded as rows first (a unique constraint keeps them once), then claimed, then sent.

Exactly once: `record()` inserts with ON CONFLICT DO NOTHING, so a retried task, two workers or
beat firing twice cannot make a second row. `deliver()` claims unsent rows with one conditional
UPDATE on the notice table itself (two workers never claim the same row), sends, and marks them
sent. A worker that dies after claiming leaves the claim to expire (NOTICE_CLAIM_LEASE_MINUTES),
and the next run sends what it did not.

E-mail is tracked per recipient (NoticeRecipient): each address is marked sent right after the
mail server accepts its mail, so an address that got a notice never gets it again, except
across a crash between those two moments (the repeat carries the same Message-ID). An address
the server refuses is retried after NOTICE_RETRY_DELAYS_S, NOTICE_MAX_ATTEMPTS times in all,
then marked failed.
"""

import datetime as dt
import json
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
from connections.choices import EXPIRY_KINDS, HEALTH_KINDS, Channel
from connections.models import Notice, NoticeRecipient

logger = logging.getLogger(__name__)

_INSERT_FIELDS = ("connection", "token_fingerprint", "kind", "threshold", "episode", "channel",
                  "recipients", "summary", "fix", "created_at", "attempts", "last_error")
# Rows per INSERT statement.
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
             episode: int = 0, created_at=None, via: list[str] | None = None, **extra) -> list[dict]:
    """One notice about a connection's current token as rows for `record()`, one per channel.

    The only place a notice row is built (expiry scan and re-validation alike): e-mail rows
    carry the connection's addresses, webhook rows none (the webhook has its own URL). `via`:
    the channels, when the caller has read them once for many rows.
    """
    created_at = created_at or timezone.now()
    return [{"connection": connection.pk, "token_fingerprint": connection.token_fingerprint,
             "kind": kind, "threshold": threshold, "episode": episode, "channel": channel,
             "recipients": connection.recipients if channel == Channel.EMAIL else [],
             "summary": summary[:500], "fix": fix, "created_at": created_at, **extra}
            for channel in via or channels()]


def record(rows: Iterable[dict]) -> None:
    """Insert notice rows, silently skipping any that already exist.

    ``INSERT … SELECT … ON CONFLICT DO NOTHING`` of up to RECORD_BATCH rows each, in one
    transaction, each batch one JSON parameter the database unpacks: one placeholder per value
    would cost more in Python (bulk_create's compiler, psycopg's client-side binding) than the
    database spends inserting.
    """
    fields = [Notice._meta.get_field(name) for name in _INSERT_FIELDS]
    # (name, default, how to adapt it or None), worked out once rather than per value.
    plan = [(f.name, f.get_default(), _preparer(f)) for f in fields]
    values = [[row.get(name, default) if prep is None else prep(row.get(name, default))
               for name, default, prep in plan] for row in rows]
    if not values:
        return
    columns = ", ".join(db.ops.quote_name(f.column) for f in fields)
    with transaction.atomic(savepoint=False), db.cursor() as cursor:
        for start in range(0, len(values), RECORD_BATCH):
            cursor.execute(
                f"INSERT INTO {db.ops.quote_name(Notice._meta.db_table)} ({columns}) "
                f"{_unpacking(fields)} ON CONFLICT DO NOTHING",
                [json.dumps(values[start:start + RECORD_BATCH])])


def _unpacking(fields) -> str:
    """SELECT the columns out of a JSON array of rows (each an array of values in field order)."""
    if db.vendor == "postgresql":  # text goes as text, so an overlong one fails as it would anyway
        return "SELECT " + ", ".join(
            f"value->>{i}" if f.get_internal_type() in ("CharField", "TextField")
            else f"CAST(value->>{i} AS {f.db_type(db)})" for i, f in enumerate(fields)
        ) + " FROM jsonb_array_elements(%s::jsonb)"
    # SQLite: "WHERE true" tells its parser the ON CONFLICT that follows belongs to the INSERT.
    return "SELECT " + ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(fields))) \
        + " FROM json_each(%s) WHERE true"


def _preparer(field):
    """How a value of `field` goes into the JSON batch: JSON as its text, datetimes as the
    database's text for them, worked out once per distinct value."""
    if field.get_internal_type() not in ("JSONField", "DateTimeField"):
        return None  # str and int values go as they are
    seen: dict = {}

    def prepare(value):
        # Rows of one call share their created_at and most of their recipients lists; keyed by
        # identity, the value kept alongside so that its id cannot be reused during the call.
        if id(value) not in seen:
            if field.get_internal_type() == "JSONField":
                seen[id(value)] = value, json.dumps(value, cls=field.encoder)
            else:
                seen[id(value)] = value, str(db.ops.adapt_datetimefield_value(value))
        return seen[id(value)][1]
    return prepare


def _insert_ignoring(model, names: tuple[str, ...], rows: list[dict]) -> None:
    """INSERT … ON CONFLICT DO NOTHING for a few rows (a claim's recipients) in one call."""
    if not rows:
        return
    fields = [model._meta.get_field(name) for name in names]
    columns = ", ".join(db.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = (f"INSERT INTO {db.ops.quote_name(model._meta.db_table)} ({columns}) "
           f"VALUES ({marks}) ON CONFLICT DO NOTHING")
    # Model defaults are not database defaults: fill them in here.
    params = [[f.get_db_prep_save(row.get(f.name, f.get_default()), db) for f in fields]
              for row in rows]
    with db.cursor() as cursor:
        cursor.executemany(sql, params)


def claim(kinds: Iterable[str]) -> uuid.UUID:
    """Claim every unsent, unsettled notice of these kinds that is due and not claimed by a live worker."""
    token, now = uuid.uuid4(), timezone.now()
    lease = now - dt.timedelta(minutes=settings.NOTICE_CLAIM_LEASE_MINUTES)
    Notice.objects.filter(
        kind__in=list(kinds), sent_at__isnull=True, cancelled_at__isnull=True, failed_at__isnull=True,
    ).filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=lease)).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    ).update(claim_token=token, claimed_at=now)
    return token


def deliver_due() -> list["Delivery"]:
    """Send whatever is due: retries whose delay has passed, notices a crashed run left."""
    return [deliver(EXPIRY_KINDS, digest=True), deliver(HEALTH_KINDS, digest=False)]


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


def bouncing_addresses(days: int = 30) -> list[str]:
    """Addresses notices gave up on lately that an active connection still sends to."""
    since = timezone.now() - dt.timedelta(days=days)
    # Two small queries, not one join: on every page for a sysadmin, and a join let SQLite walk
    # every notice (failed_at's index unused) when few or no recipients had failed.
    failed = list(NoticeRecipient.objects.filter(failed_at__gte=since).order_by()
                  .values_list("address", "notice_id"))
    if not failed:
        return []
    current = dict(Notice.objects.filter(
        pk__in={notice_id for _, notice_id in failed}, connection__archived_at__isnull=True,
    ).values_list("pk", "connection__recipients"))
    return sorted({address for address, notice_id in failed if address in current.get(notice_id, ())})


def retry_delay(attempts: int) -> dt.timedelta:
    """How long after its `attempts`-th failure a recipient is tried again (the last delay repeats)."""
    delays = settings.NOTICE_RETRY_DELAYS_S or [0]
    return dt.timedelta(seconds=delays[min(attempts, len(delays)) - 1])


def _due_recipients(notices: list[Notice]) -> list[NoticeRecipient]:
    """Each claimed e-mail notice's addresses as rows (made once), those still due a mail."""
    _insert_ignoring(NoticeRecipient, ("notice", "address", "attempts", "last_error"), [
        {"notice": n.pk, "address": address} for n in notices for address in n.recipients])
    now = timezone.now()
    due = NoticeRecipient.objects.filter(
        notice__in=[n.pk for n in notices], sent_at__isnull=True, failed_at__isnull=True,
    ).filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    by_pk = {n.pk: n for n in notices}
    rows = list(due)
    for row in rows:  # the claimed notice, its connection already loaded
        row.notice = by_pk[row.notice_id]
    return rows


def _send_emails(notices: list[Notice], digest: bool, delivery: Delivery) -> None:
    """One mail per address: a digest of its notices, or each health notice on its own."""
    if not notices:
        return
    rows = _due_recipients(notices)
    if digest:
        per_address = defaultdict(list)
        for row in rows:
            per_address[row.address].append(row)
        batches = [per_address[address] for address in sorted(per_address)]
    else:
        batches = [[row] for row in sorted(rows, key=lambda r: (r.notice_id, r.address))]
    failed: set[int] = set()
    for batch in batches:
        address, items = batch[0].address, [row.notice for row in batch]
        try:
            (emails.send_expiry_digest if digest else emails.send_health_notice)([address], items)
        except Exception as exc:  # one bad mailbox or a down SMTP server must not stop the rest
            logger.warning("notice e-mail to one recipient failed: %s", type(exc).__name__)
            _failed_attempt(batch, exc)
            failed.update(n.pk for n in items)
            continue
        # Recorded at once: from here on this address never gets these notices again.
        NoticeRecipient.objects.filter(pk__in=[row.pk for row in batch]).update(
            sent_at=timezone.now(), attempts=F("attempts") + 1, next_attempt_at=None)
        delivery.emails += 1
    for notice in notices:
        (delivery.failed if notice.pk in failed else delivery.sent).append(notice)


def _failed_attempt(rows: list[NoticeRecipient], exc: Exception) -> None:
    now, attempts = timezone.now(), rows[0].attempts + 1
    error = _error_text(exc)
    for row in rows:
        row.attempts += 1
        if row.attempts >= settings.NOTICE_MAX_ATTEMPTS:
            row.failed_at, row.next_attempt_at = now, None
            logger.warning("giving up on a notice for one recipient after %d attempts", attempts)
        else:
            row.next_attempt_at = now + retry_delay(row.attempts)
        row.last_error = error
    NoticeRecipient.objects.bulk_update(rows, ["attempts", "failed_at", "next_attempt_at", "last_error"])


def _error_text(exc: Exception) -> str:
    """The mail server's answer for this address (never the message itself)."""
    refused = getattr(exc, "recipients", None)
    if isinstance(refused, dict) and refused:
        code, answer = next(iter(refused.values()))
        text = answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)
        return f"{code} {text}"[:300]
    return f"{type(exc).__name__}: {exc}"[:300]


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
    """Close what is done; release the rest until its next recipient's retry is due."""
    now = timezone.now()
    claimed = Notice.objects.filter(claim_token=token, cancelled_at__isnull=True)
    webhook_sent = [n.pk for n in delivery.sent if n.channel == Channel.WEBHOOK]
    webhook_failed = [n.pk for n in delivery.failed if n.channel == Channel.WEBHOOK]
    if webhook_sent:
        Notice.objects.filter(pk__in=webhook_sent).update(sent_at=now, attempts=F("attempts") + 1)
    if webhook_failed:
        Notice.objects.filter(pk__in=webhook_failed).update(
            claim_token=None, claimed_at=None, attempts=F("attempts") + 1,
            last_error="delivery failed; retried on the next run")
    _settle_emails(claimed.filter(channel=Channel.EMAIL), now)


def _settle_emails(claimed, now: dt.datetime) -> None:
    """Per notice: sent once every address is sent or failed (failed if none got it)."""
    open_rows = NoticeRecipient.objects.filter(notice__in=claimed, sent_at__isnull=True,
                                               failed_at__isnull=True)
    waiting = defaultdict(list)
    for notice_id, due in open_rows.values_list("notice_id", "next_attempt_at"):
        waiting[notice_id].append(due or now)
    next_due = {notice_id: min(times) for notice_id, times in waiting.items()}
    got_it = NoticeRecipient.objects.filter(notice__in=claimed, sent_at__isnull=False)
    closed = claimed.exclude(pk__in=list(next_due))
    closed.filter(Q(recipients=[]) | Q(pk__in=got_it.values("notice_id"))).update(
        sent_at=now, attempts=F("attempts") + 1, last_error="")
    closed.filter(sent_at__isnull=True).update(failed_at=now, attempts=F("attempts") + 1,
                                               last_error="every recipient refused it")
    by_time = defaultdict(list)
    for notice_id, due in next_due.items():
        by_time[due].append(notice_id)
    for due, ids in by_time.items():
        Notice.objects.filter(pk__in=ids).update(
            claim_token=None, claimed_at=None, next_attempt_at=due, attempts=F("attempts") + 1,
            last_error="delivery failed for some recipients; retried later")
