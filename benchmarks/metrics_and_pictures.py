"""A /metrics scrape and the dashboard's expiry timeline over many connections: queries, seconds.

Bar: a constant number of queries whatever the number of connections; a scrape of 10,000
connections (each with a finished 11-step run) in well under Prometheus' 10 s scrape timeout.
Usage: .venv/bin/python benchmarks/metrics_and_pictures.py [CONNECTIONS]
"""

import datetime as dt
import sys
import time

from _setup import django_in_temp_dir


def main(total: int) -> None:
    django_in_temp_dir()
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from prometheus_client import generate_latest

    from connections import metrics, timeline
    from connections.checklist import STEP_KEYS
    from connections.models import ChecklistRun, Connection

    today, now = timezone.localdate(), timezone.now()
    Connection.objects.bulk_create(
        (Connection(label=f"c{n}", base_url=f"https://site{n % 500}.example.com",
                    expires_on=today + dt.timedelta(days=n % 400 - 10), last_overall="pass",
                    last_checked_at=now) for n in range(total)), batch_size=2000)
    steps = [{"key": key, "status": "pass", "message": "ok", "fix": ""} for key in STEP_KEYS]
    ChecklistRun.objects.bulk_create(
        (ChecklistRun(connection_id=pk, trigger="schedule", state="finished", overall="pass",
                      steps=steps, token_fingerprint="", finished_at=now)
         for pk in Connection.objects.values_list("pk", flat=True)), batch_size=2000)

    registry = metrics.registry()
    started = time.perf_counter()
    with CaptureQueriesContext(db) as queries:
        body = generate_latest(registry)
    print(f"/metrics over {total} connections: {len(body) / 2**20:.1f} MiB of text, "
          f"{len(queries)} SQL queries, {time.perf_counter() - started:.2f} s")
    started = time.perf_counter()
    with CaptureQueriesContext(db) as queries:
        marks = timeline.expiry_timeline().marks
    print(f"expiry timeline over {total} connections: {len(marks)} marks, "
          f"{len(queries)} SQL query, {time.perf_counter() - started:.3f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
