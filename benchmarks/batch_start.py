"""Starting a "Check all": the batch's runs inserted and claimed in bulk vs one at a time.

Bar: starting 1,000 runs takes a fraction of a second (before: ~4.4 s, one start, audit event
and claim per run). Usage: .venv/bin/python benchmarks/batch_start.py [CONNECTIONS]
"""

import sys
import time

from _setup import django_in_temp_dir


def main(total: int) -> None:
    django_in_temp_dir()
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    from connections.models import CheckBatch, ChecklistRun, Connection

    Connection.objects.bulk_create([Connection(label=f"c{n}", base_url=f"https://s{n % 50}.example.com")
                                    for n in range(total)])
    connections = list(Connection.objects.active())

    started = time.perf_counter()
    for connection in connections:
        ChecklistRun.start(connection, trigger="cli").claim()
    one_by_one = time.perf_counter() - started

    with CaptureQueriesContext(db) as queries:
        started = time.perf_counter()
        CheckBatch.start(connections, trigger="cli", claim=True)
        bulk = time.perf_counter() - started
    print(f"one at a time: {one_by_one:.2f} s for {total} runs")
    print(f"batch start: {bulk:.3f} s for {total} runs in {len(queries)} queries "
          f"({one_by_one / bulk:.0f}× faster)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
