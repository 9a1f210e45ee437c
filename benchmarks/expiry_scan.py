"""The expiry scan over many connections: wall time, SQL queries, and the ratio to raw SQL.

Bar: recording the due notices takes at most 3× the raw indexed SQL that selects the same due
rows (measured side by side, medians); the whole scan (digests rendered and "sent" to locmem)
is reported too, as are its queries (a constant plus one per batch of 1,000 inserted notices).
Usage: .venv/bin/python benchmarks/expiry_scan.py [CONNECTIONS] [--postgres URL] [--memory]
(--postgres runs against that throw-away database, dropped and created again; --memory traces
Python allocations: the peak is exact, the seconds are slower.)
"""

import argparse
import datetime as dt
import statistics
import time
import tracemalloc

from _setup import django_in_temp_dir

RUNS = 5


def raw_due_rows(today: dt.date) -> list[tuple]:
    """The same due rows by hand-written SQL on the expires_on index (default thresholds only)."""
    from django.conf import settings
    from django.db import connection as db

    window_end = today + dt.timedelta(days=max(settings.EXPIRY_THRESHOLDS_DAYS))
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT c.id, c.label, c.token_fingerprint, c.expires_on, c.expiry_thresholds, "
            "c.recipients FROM connections_connection c WHERE c.archived_at IS NULL "
            "AND c.token_ciphertext <> '' AND (c.expires_on <= %s OR (c.expires_on IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM connections_notice n WHERE n.connection_id = c.id "
            "AND n.kind = 'never_expires' AND n.token_fingerprint = c.token_fingerprint)))",
            [window_end])
        return cursor.fetchall()


def timed(fn, between=lambda: None) -> tuple[float, object]:
    timings, result = [], None
    for _ in range(RUNS):
        between()
        started = time.perf_counter()
        result = fn()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings), result


def main(total: int, postgres: str | None, trace_memory: bool) -> None:
    django_in_temp_dir(postgres)
    from django.conf import settings
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from connections import expiry
    from connections.models import Connection, Notice

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DEBUG = False  # as deployed: no query log except where queries are counted
    today = timezone.localdate()
    template = Connection(label="t", base_url="https://x.example.com")
    template.set_token("benchmark-token")
    rows = (Connection(label=f"c{n}", base_url=f"https://site{n % 500}.example.com",
                       token_ciphertext=template.token_ciphertext,
                       token_fingerprint=template.token_fingerprint,
                       token_set_at=template.token_set_at,
                       expires_on=today + dt.timedelta(days=n % 730) if n % 10 else None,
                       recipients=[f"owner{n % 200}@example.com"]) for n in range(total))
    Connection.objects.bulk_create(rows, batch_size=2000)
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute("ANALYZE")

    def forget_notices():
        Notice.objects.all().delete()

    raw_s, raw = timed(lambda: raw_due_rows(today))
    record_s, recorded = timed(lambda: expiry.record_due(today), between=forget_notices)
    assert len(raw) == len(recorded) == Notice.objects.count(), (len(raw), len(recorded))

    forget_notices()
    if trace_memory:
        tracemalloc.start()
    started = time.perf_counter()
    with CaptureQueriesContext(db) as queries:
        report = expiry.scan()
    seconds = time.perf_counter() - started
    memory = (f", peak Python allocations {tracemalloc.get_traced_memory()[1] / 2**20:.0f} MiB"
              if trace_memory else "")
    print(f"{db.vendor}: whole scan over {total} connections: {len(report.due)} notices due, "
          f"{report.emails} digest e-mails, {len(queries)} SQL queries, {seconds:.2f} s{memory}")
    started = time.perf_counter()
    with CaptureQueriesContext(db) as again:
        expiry.scan()
    print(f"{db.vendor}: second scan the same day: {len(again)} SQL queries, "
          f"{time.perf_counter() - started:.2f} s, nothing sent")
    print(f"{db.vendor}: {total} connections, {len(raw)} due: raw indexed SQL {raw_s * 1000:.0f} ms; "
          f"recording the due notices {record_s * 1000:.0f} ms = {record_s / raw_s:.1f}x the raw SQL "
          f"(bar 3x; medians of {RUNS})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("connections", nargs="?", type=int, default=100_000)
    parser.add_argument("--postgres", metavar="URL")
    parser.add_argument("--memory", action="store_true")
    args = parser.parse_args()
    main(args.connections, args.postgres, args.memory)
