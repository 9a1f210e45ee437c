"""The expiry scan over many connections: SQL queries, peak memory, seconds.

Bar: 100,000 connections in a constant number of queries, bounded memory, a few seconds.
Usage: .venv/bin/python benchmarks/expiry_scan.py [CONNECTIONS] [--memory]
(--memory traces Python allocations: the peak is exact, the seconds are slower.)
"""

import datetime as dt
import sys
import time
import tracemalloc

from _setup import django_in_temp_dir


def main(total: int, trace_memory: bool) -> None:
    django_in_temp_dir()
    from django.conf import settings
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from connections import expiry
    from connections.models import Connection

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
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

    if trace_memory:
        tracemalloc.start()
    started = time.perf_counter()
    with CaptureQueriesContext(db) as queries:
        report = expiry.scan()
    seconds = time.perf_counter() - started
    memory = (f", peak Python allocations {tracemalloc.get_traced_memory()[1] / 2**20:.0f} MiB"
              if trace_memory else "")
    print(f"expiry scan over {total} connections: {len(report.due)} notices due, "
          f"{report.emails} digest e-mails, {len(queries)} SQL queries, {seconds:.2f} s{memory}")
    started = time.perf_counter()
    with CaptureQueriesContext(db) as queries:
        expiry.scan()
    print(f"second scan the same day: {len(queries)} SQL queries, "
          f"{time.perf_counter() - started:.2f} s, nothing sent")


if __name__ == "__main__":
    numbers = [a for a in sys.argv[1:] if a.isdigit()]
    main(int(numbers[0]) if numbers else 100_000, "--memory" in sys.argv)
