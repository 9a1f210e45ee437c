"""The expiry scan: which tokens are due a warning today, recorded once and sent as digests.

One query over the indexed expiration dates finds the connections inside the warning window
(streamed, never the whole table, unordered); the due notices are inserted in multi-row batches
in one transaction; delivery claims and sends them. Queries grow by one per 1,000 due notices.
"""

import datetime as dt
import functools
import json
from dataclasses import dataclass, field
from typing import NamedTuple

from django.conf import settings
from django.db import connection as db
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from connections import notices
from connections.choices import EXPIRY_KINDS, NoticeKind, NotifierJob
from connections.models import Connection, Notice, NotifierRun
from connections.models.connection import thresholds_of

# A connection's own thresholds may reach further ahead than the settings' largest.
MAX_OVERRIDE_DAYS = 365


@dataclass
class ScanReport:
    as_of: dt.date
    dry_run: bool
    due: list[dict] = field(default_factory=list)
    emails: int = 0
    failed: int = 0

    def as_json(self) -> list[dict]:
        return [
            {"label": row["label"], "threshold": row["threshold"], "kind": row["kind"],
             "recipients": row["recipients"], "channel": row["channel"],
             "status": row.get("status") or "dry-run"}
            for row in self.due
        ]


def due_notice(expires_on: dt.date | None, today: dt.date, thresholds: list[int]):
    """(kind, threshold) due for a token today, or None: the smallest threshold reached."""
    if expires_on is None:
        return NoticeKind.NEVER_EXPIRES, 0
    days_left = (expires_on - today).days
    if days_left < 0:
        return NoticeKind.EXPIRED, 0
    reached = [t for t in thresholds if days_left <= t]
    return (NoticeKind.EXPIRING, min(reached)) if reached else None


class Candidate(NamedTuple):
    """What the scan reads of a connection (plain tuples: no model instance per row)."""

    pk: int
    label: str
    token_fingerprint: str
    expires_on: dt.date | None
    expiry_thresholds: str
    recipients: list


def candidates(today: dt.date):
    """Active connections inside any warning window, or without a date and not yet advised."""
    window_end = today + dt.timedelta(days=max(settings.EXPIRY_THRESHOLDS_DAYS))
    advised = Notice.objects.filter(
        connection=OuterRef("pk"), kind=NoticeKind.NEVER_EXPIRES,
        token_fingerprint=OuterRef("token_fingerprint"),
    )
    in_window = Q(expires_on__lte=window_end) | Q(
        expires_on__lte=today + dt.timedelta(days=MAX_OVERRIDE_DAYS), expiry_thresholds__gt=""
    )
    never = Q(expires_on__isnull=True) & ~Exists(advised)
    # A connection still waiting for its token has nothing to expire yet. No ORDER BY: the
    # model's ordering (by label) would make the database walk the label index, not expires_on.
    return Connection.objects.active().with_token().filter(in_window | never).order_by().values_list(
        *Candidate._fields)


def due_rows(today: dt.date):
    """One notice row per due connection and channel, streamed from the database.

    Read as plain database values (Django's per-row converters cost more than the query itself);
    the notice depends only on the date and thresholds, and many connections share their
    recipients, so each is worked out once per distinct value.
    """
    now, default_thresholds = timezone.now(), ",".join(map(str, settings.EXPIRY_THRESHOLDS_DAYS))
    notice_for = functools.cache(functools.partial(_notice_for, today))
    recipients_of = functools.cache(json.loads)  # the stored JSON text (per call: lists are mutable)
    via = notices.channels()
    sql, params = candidates(today).query.sql_with_params()
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(2000):
            for pk, label, fingerprint, expires_on, override, recipients in chunk:
                due = notice_for(expires_on, override or default_thresholds)
                if due is None:
                    continue
                kind, threshold, summary = due
                connection = Candidate(pk, label, fingerprint, expires_on, override,
                                       recipients_of(recipients))
                yield from notices.rows_for(connection, kind=kind, threshold=threshold, created_at=now,
                                            summary=summary, via=via, label=label)


def _notice_for(today: dt.date, expires_on: dt.date | None, thresholds: str):
    """(kind, threshold, summary) due today for a token expiring on `expires_on`, or None."""
    due = due_notice(expires_on, today, thresholds_of(thresholds))
    if due is None:
        return None
    return *due, summary_for(expires_on, due[0], today)


def summary_for(expires_on: dt.date | None, kind: str, today: dt.date) -> str:
    if kind == NoticeKind.NEVER_EXPIRES:
        return "The token has no expiration date: it works until someone revokes it."
    days = (expires_on - today).days
    if kind == NoticeKind.EXPIRED:
        return f"The token expired on {expires_on:%Y-%m-%d}."
    if days == 0:
        return "The token expires today."
    return f"The token expires in {days} day{'s' if days != 1 else ''} ({expires_on:%Y-%m-%d})."


def scan(as_of: dt.date | None = None, *, dry_run: bool = False) -> ScanReport:
    """Run the expiry scan: record due notices once, then send each recipient one digest."""
    today = as_of or timezone.localdate()
    report = ScanReport(as_of=today, dry_run=dry_run)
    if dry_run:
        report.due = list(due_rows(today))
        _status_from_records(report.due, dry_run=True)
        return report
    heartbeat = NotifierRun.objects.create(job=NotifierJob.EXPIRY_SCAN, as_of=today)
    rows = record_due(today)
    delivery = notices.deliver(EXPIRY_KINDS, digest=True)
    outcome = {(n.connection_id, n.kind, n.threshold, n.channel): "sent" for n in delivery.sent}
    outcome |= {(n.connection_id, n.kind, n.threshold, n.channel): "failed" for n in delivery.failed}
    for row in rows:
        row["status"] = outcome.get((row["connection"], row["kind"], row["threshold"], row["channel"]))
    _status_from_records([row for row in rows if not row["status"]])
    report.due, report.emails, report.failed = rows, delivery.emails, len(delivery.failed)
    heartbeat.finished_at = timezone.now()
    heartbeat.summary = {"due": len(rows), "sent": len(delivery.sent), "emails": delivery.emails,
                         "failed": len(delivery.failed), "cancelled": delivery.cancelled}
    heartbeat.save(update_fields=["finished_at", "summary"])
    return report


def record_due(today: dt.date) -> list[dict]:
    """Find today's due notices and record them (once), in one transaction; the rows found."""
    with transaction.atomic(savepoint=False):  # one commit for the whole scan, not one per notice
        rows = list(due_rows(today))
        notices.record(rows)
    return rows


def _status_from_records(rows: list[dict], *, dry_run: bool = False) -> None:
    """What the notice rows say about notices this scan did not send: "already sent" only
    when recorded as sent (a notice claimed by another run or waiting for a retry is pending)."""
    if not rows:
        return
    keys = ("connection_id", "token_fingerprint", "kind", "threshold", "channel")
    recorded = {tuple(values[:5]): values[5:] for values in Notice.objects.filter(
        connection_id__in={row["connection"] for row in rows}).values_list(
        *keys, "sent_at", "failed_at", "cancelled_at")}
    for row in rows:
        key = (row["connection"], row["token_fingerprint"], row["kind"], row["threshold"], row["channel"])
        sent_at, failed_at, cancelled_at = recorded.get(key, (None, None, None))
        if sent_at:
            row["status"] = "already sent"
        elif failed_at:
            row["status"] = "failed (every recipient refused it)"
        elif cancelled_at:
            row["status"] = "cancelled"
        elif not dry_run:
            row["status"] = "pending (another run is sending it, or a retry is due later)"
