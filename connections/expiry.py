"""The expiry scan: which tokens are due a warning today, recorded once and sent as digests.

One query over the indexed expiration dates finds the connections inside the warning window
(streamed, never the whole table, unordered); the due notices are inserted in multi-row batches
in one transaction; delivery claims and sends them. Queries grow by one per 1,000 due notices.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple

from django.conf import settings
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
             "status": row.get("status") or ("dry-run" if self.dry_run else "already sent")}
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
    """One notice row per due connection and channel, streamed from the database."""
    now, default_thresholds = timezone.now(), list(settings.EXPIRY_THRESHOLDS_DAYS)
    for values in candidates(today).iterator(chunk_size=2000):
        connection = Candidate(*values)
        override = connection.expiry_thresholds
        due = due_notice(connection.expires_on, today,
                         thresholds_of(override) if override else default_thresholds)
        if due is None:
            continue
        kind, threshold = due
        yield from notices.rows_for(connection, kind=kind, threshold=threshold, created_at=now,
                                    summary=summary_for(connection, kind, today),
                                    label=connection.label)


def summary_for(connection: Candidate, kind: str, today: dt.date) -> str:
    if kind == NoticeKind.NEVER_EXPIRES:
        return "The token has no expiration date: it works until someone revokes it."
    days = (connection.expires_on - today).days
    if kind == NoticeKind.EXPIRED:
        return f"The token expired on {connection.expires_on:%Y-%m-%d}."
    if days == 0:
        return "The token expires today."
    return f"The token expires in {days} day{'s' if days != 1 else ''} ({connection.expires_on:%Y-%m-%d})."


def scan(as_of: dt.date | None = None, *, dry_run: bool = False) -> ScanReport:
    """Run the expiry scan: record due notices once, then send each recipient one digest."""
    today = as_of or timezone.localdate()
    report = ScanReport(as_of=today, dry_run=dry_run)
    if dry_run:
        report.due = list(due_rows(today))
        _mark_already_sent(report.due)
        return report
    heartbeat = NotifierRun.objects.create(job=NotifierJob.EXPIRY_SCAN, as_of=today)
    rows = record_due(today)
    delivery = notices.deliver(EXPIRY_KINDS, digest=True)
    outcome = {(n.connection_id, n.kind, n.threshold, n.channel): "sent" for n in delivery.sent}
    outcome |= {(n.connection_id, n.kind, n.threshold, n.channel): "failed" for n in delivery.failed}
    for row in rows:
        row["status"] = outcome.get((row["connection"], row["kind"], row["threshold"], row["channel"]))
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


def _mark_already_sent(rows: list[dict]) -> None:
    keys = ("connection_id", "token_fingerprint", "kind", "threshold", "channel")
    sent = set(Notice.objects.filter(
        connection_id__in={row["connection"] for row in rows}, sent_at__isnull=False,
    ).values_list(*keys))
    for row in rows:
        if (row["connection"], row["token_fingerprint"], row["kind"], row["threshold"],
                row["channel"]) in sent:
            row["status"] = "already sent"
