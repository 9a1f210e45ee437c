"""The list pages at 1,000, 10,000 and 100,000 rows: the connection list (every sort, a filter,
a search, the last page) and the audit trail (filters, a deep page, the last page).

Each page is fetched through Django's test client as a signed-in sysadmin (whole request:
queries, template, middleware). Prints median and p95 ms and queries per page at each size,
then the ratio 100k / 1k per page; the figure printed last is the worst ratio (target: ≤ 2×).

SQLite (a throw-away file) by default; with DATABASE_URL=postgres://… it creates and drops a
throw-away database `<name>_listbench` on that server instead.
Usage: .venv/bin/python benchmarks/list_pages.py [--repeat N] [--sizes 1000,10000,100000]
"""

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from urllib.parse import urlsplit, urlunsplit

from _setup import django_in_temp_dir

LIST_PAGES = {
    **{f"sort={s}": {"sort": s} for s in ("label", "-label", "expires", "-expires", "health",
                                          "-health", "checked", "-checked")},
    "filter failing": {"failing": "1"},
    "filter expiring 14 d, -expires": {"expiring": "14", "sort": "-expires"},
    "search host": {"q": "site0042.example"},
    "search token user": {"q": "svc-0042"},
    "last page": {"page": "last"},
    "last page -expires": {"page": "last", "sort": "-expires"},
}
AUDIT_PAGES = {
    "audit first": {},
    "audit action": {"action": "token_rotated"},
    "audit who": {"actor": "user-0042"},
    "audit object": {"connection": "conn-00042"},
    "audit last page": {"page": "last"},
}


def _maintenance_url(url: str) -> str:
    """The server's `postgres` database: DATABASE_URL's own database need not exist."""
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def postgres_bench_database(url: str) -> str:
    """Create a fresh database next to DATABASE_URL's; return its URL."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/") + "_listbench"
    with psycopg.connect(_maintenance_url(url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path="/" + name))


def drop_postgres(url: str, bench_url: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(_maintenance_url(url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{urlsplit(bench_url).path.lstrip("/")}"')


def setup(database_url: str | None) -> str | None:
    """Django on a throw-away database; returns the PostgreSQL one's URL (to drop it after)."""
    bench_url = postgres_bench_database(database_url) if database_url else None
    django_in_temp_dir(bench_url)
    return bench_url


def grow(start: int, stop: int, rng: random.Random) -> None:
    """Add connections, sent notices and audit events numbered start..stop-1."""
    from django.utils import timezone

    from connections.choices import AuditAction
    from connections.models import AuditEvent, Connection, Notice

    now, today = timezone.now(), timezone.localdate()
    template = Connection(label="t", base_url="https://x.example.com")
    template.set_token("benchmark-token")
    overall = ["fail"] * 10 + ["warn"] * 10 + ["pass"] * 60 + [""] * 20
    connections = []
    for n in range(start, stop):
        result = rng.choice(overall)
        connections.append(Connection(
            label=f"conn-{n:05d} {rng.choice(['Helpdesk', 'Zapier', 'Reports', 'Intranet'])}",
            base_url=f"https://site{n % 500:04d}.example.com/issuetrak",
            token_ciphertext=template.token_ciphertext, token_fingerprint=template.token_fingerprint,
            token_set_at=now, token_name=f"Zapier token {n}", token_user=f"svc-{n % 700:04d}",
            expires_on=today + dt.timedelta(days=rng.randrange(-30, 700)) if n % 10 else None,
            last_overall=result,
            last_checked_at=now - dt.timedelta(minutes=rng.randrange(0, 5000)) if result else None,
            archived_at=now if n % 50 == 0 else None))
    created = Connection.objects.bulk_create(connections, batch_size=2000)
    Notice.objects.bulk_create([
        Notice(connection=c, token_fingerprint=c.token_fingerprint, kind="expiring", threshold=t,
               channel="email", summary="x", sent_at=now)
        for c in created[::3] for t in (30, 14)], batch_size=2000)
    actions = list(AuditAction.values)
    AuditEvent.objects.bulk_create([
        AuditEvent(created_at=now - dt.timedelta(seconds=stop - n), actor_name=f"user-{n % 300:04d}",
                   action=rng.choice(actions), connection=c, object_repr=c.label, summary="benchmark")
        for n, c in zip(range(start, stop), created, strict=True)], batch_size=2000)


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def measure(client, url: str, params: dict, repeat: int) -> tuple[float, float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):  # warm caches (templates, the database's pages)
        assert client.get(url, params).status_code == 200
    times, cpu = [], []
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(url, params)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(url, params)
    times.sort()
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    return statistics.median(times), p95, statistics.median(cpu), len(queries)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--sizes", default="1000,10000,100000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    database_url = os.environ.get("DATABASE_URL")
    bench_url = setup(database_url)
    try:
        run(sizes, args.repeat)
    finally:
        if bench_url:
            drop_postgres(database_url, bench_url)


def run(sizes: list[int], repeat: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from connections.access import SYSADMIN, set_role

    admin = get_user_model().objects.create_user("bench", password="x")
    set_role(admin, SYSADMIN, by=None)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(admin)
    pages = [(name, reverse("connections:list"), p) for name, p in LIST_PAGES.items()]
    pages += [(name, reverse("connections:audit"), p) for name, p in AUDIT_PAGES.items()]
    rng, have, results, cpu_results = random.Random(42), 0, {}, {}
    print(f"database: {connection.vendor}; {repeat} requests per page after 2 warm-ups; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (cpu ms: this process "
          "only, steadier than wall time on a busy machine; PostgreSQL's own time is not in it)")
    for size in sizes:
        grow(have, size, rng)
        have = size
        analyze()
        print(f"\n{size:,} connections and {size:,} audit events")
        print(f"{'page':34} {'median ms':>10} {'p95 ms':>8} {'cpu ms':>7} {'queries':>8}")
        for name, url, params in pages:
            median, p95, cpu, queries = measure(client, url, params, repeat)
            results[(name, size)] = median
            cpu_results[(name, size)] = cpu
            print(f"{name:34} {median:10.1f} {p95:8.1f} {cpu:7.1f} {queries:8d}")
    if len(sizes) < 2:
        return
    small, middle, large = sizes[0], sizes[-2], sizes[-1]
    print(f"\nratios {large:,} / {small:,} (wall, cpu) and {large:,} / {middle:,} (wall, cpu)")
    ratios = {}
    for name, _url, _params in pages:
        ratios[name] = results[(name, large)] / results[(name, small)]
        cpu_ratio = cpu_results[(name, large)] / cpu_results[(name, small)]
        later = results[(name, large)] / results[(name, middle)]
        cpu_later = cpu_results[(name, large)] / cpu_results[(name, middle)]
        print(f"{name:34} {ratios[name]:5.2f}× {cpu_ratio:5.2f}×   {later:5.2f}× {cpu_later:5.2f}×")
    worst = max(ratios, key=ratios.get)
    print(f"\nworst ratio {large:,} / {small:,} ({connection.vendor}, {worst}): {ratios[worst]:.2f}×")


if __name__ == "__main__":
    sys.exit(main())
