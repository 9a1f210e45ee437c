"""A re-validation round over many simulated sites, fanned out to 1, 2 and 4 Celery workers.

10,000 connections over 500 simulated sites (every 25th site holds 100 connections, 1 % of the
sites are dead: they answer after the client's timeout), 50 ms latency per request. Each worker
is its own `celery worker` process (threads pool) on Redis when it answers, else the on-disk
broker. Time is compressed by --time-scale: the simulator's rate-limit windows and the spread of
a site's chunks over the interval shrink by the same factor (latency and timeouts do not).
Figures: wall time, calls per connection, and the busiest site's peak in each rate-limit window
against the limit and against a 20 % share of it (the budget left for us beside Zapier).
Usage: .venv/bin/python benchmarks/revalidation_round.py [--scale 0.2] [--workers 1 2 4]
       [--time-scale 600] [--postgres URL] [--redis URL]
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from _setup import django_in_temp_dir

ROOT = Path(__file__).resolve().parent.parent
SHARE = 0.2
TIMEOUT_S = 1.0


def build_sites(total_sites: int, total_connections: int):
    """(site dicts, connections per site): big sites of 100, dead ones, admins and group admins."""
    from connections.simulator.scenarios import GROUPS, INTEGRATION_IID, PEOPLE

    big = [n for n in range(total_sites) if n % 25 == 0]
    dead = {n for n in range(total_sites) if n % 100 == 7}
    rest = total_connections - 100 * len(big)
    small = [n for n in range(total_sites) if n not in big]
    counts = {n: 100 for n in big}
    for i, n in enumerate(small):
        counts[n] = rest // len(small) + (1 if i < rest % len(small) else 0)
    sites = []
    for n in range(total_sites):
        sys_admin = n % 3 != 0  # every third site: an administrator through a group
        integration = {"iid": INTEGRATION_IID, "id": "integration", "displayName": "Integration, API",
                       "isSysAdmin": sys_admin, "groups": [6] if sys_admin else [7]}
        sites.append({
            "name": f"site{n}", "users": [*PEOPLE, integration], "groups": GROUPS,
            "tokens": {f"s{n}-t{i}": INTEGRATION_IID for i in range(counts[n])},
            "flags": {"behaviour": "slow" if n in dead else None},
        })
    return sites, counts


def start_workers(count: int, env: dict) -> list[subprocess.Popen]:
    return [subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "issuetrak_admin", "worker", "--pool=threads",
         "--concurrency=8", "--loglevel=INFO", "--without-gossip", "--without-mingle",
         "--without-heartbeat", "-n", f"bench{n}@%h"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, start_new_session=True,
        stderr=(Path(env["DATA_DIR"]) / f"worker{n}.log").open("a"))
        for n in range(count)]


def make_connections(sim, counts: dict[int, int]) -> None:
    """Each simulated site's connections, one token each, inserted in bulk."""
    from connections.models import Connection

    rows = []
    for n, count in counts.items():
        for i in range(count):
            connection = Connection(label=f"s{n} c{i}", token_name=f"s{n} c{i}",
                                    base_url=sim.site_url(f"site{n}"), token_user="integration")
            connection.set_token(f"s{n}-t{i}")
            rows.append(connection)
    Connection.objects.bulk_create(rows, batch_size=1000)


def site_figures(sim) -> tuple[int, dict, dict, int]:
    """(calls, the busiest site's peak per window, the limits, 429s) over every simulated site."""
    from connections.simulator.ratelimit import WINDOW_NAMES

    sites = sim.rate_stats()["sites"].values()
    peaks = {w: max(site["peaks"][w] for site in sites) for w in WINDOW_NAMES}
    return (sum(site["requests"] for site in sites), peaks, next(iter(sites))["limits"],
            sum(site["refused"] for site in sites))


def print_peaks(peaks: dict, limits: dict) -> None:
    from connections.simulator.ratelimit import WINDOW_NAMES

    print("    busiest site's peak per window (limit; 20 % share): " + ", ".join(
        f"{w} {peaks[w]} ({limits[w]}; {limits[w] * SHARE:g})" for w in WINDOW_NAMES))


def print_summary(title: str, connections_total: int, results: list[tuple]) -> None:
    """The figure printed last: calls per connection of the fastest run, wall per worker count."""
    best = min(results, key=lambda r: r[1])
    print(f"{title}: {connections_total} connections, {best[2] / best[3]:.2f} calls per "
          f"connection; wall " + ", ".join(f"{r[0]} worker(s) {r[1]:.1f} s" for r in results))


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


def main(args) -> None:
    # A timeout's SIGTERM must still stop the worker processes (the finally blocks below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    connections_total = int(10_000 * args.scale)
    sites_total = max(int(500 * args.scale), 4)
    django_in_temp_dir(args.postgres)
    broker = os.environ["CELERY_BROKER_URL"] = _broker(args.redis)  # Celery reads it first
    from django.conf import settings
    from django.db import connection as db

    from connections.issuetrak import site_limits
    from connections.models import ChecklistRun, NotifierRun
    from connections.simulator import IssuetrakSimulator
    from issuetrak_admin.celery import app

    spread_minutes = 300 / args.time_scale
    # Our limiter's windows shrink with the simulator's, else a big site's share of a real 10-minute
    # window is spent after a few checks and the rest of its runs end "rate-limited" unsent.
    env = {**os.environ, "CELERY_BROKER_URL": broker, "REVALIDATION_SPREAD_MINUTES": str(spread_minutes),
           "REVALIDATION_CHUNK_SIZE": "10", "ISSUETRAK_TIMEOUT_S": str(TIMEOUT_S),
           "ISSUETRAK_RATE_STORE": broker, "ISSUETRAK_RATE_SHARE": str(SHARE),
           "ISSUETRAK_RATE_TIME_SCALE": f"{args.time_scale:g}",
           "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{settings.DATA_DIR}/issuetrak-admin.sqlite3"}
    app.conf.update(broker_url=broker, broker_transport_options={}, task_always_eager=False)
    app._pool, app.amqp._producer_pool = None, None  # made for the set-up's memory:// broker
    settings.REVALIDATION_SPREAD_MINUTES = spread_minutes
    site_dicts, counts = build_sites(sites_total, connections_total)
    results = []
    with IssuetrakSimulator(extra_sites=site_dicts, slow_seconds=TIMEOUT_S * 3, time_scale=args.time_scale,
                            latency_seconds=args.latency_ms / 1000) as sim:
        make_connections(sim, counts)
        for workers in args.workers:
            sim.reset_rate_limits()
            site_limits.RedisStore(broker).reset()  # the previous worker count's admissions
            _purge(app)
            processes = start_workers(workers, env)
            try:
                time.sleep(2)  # the workers connect to the broker
                last = NotifierRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
                started = time.perf_counter()
                app.send_task("connections.tasks.revalidate_connections")
                heartbeat = _wait_for_round(NotifierRun, last, args.deadline)
                wall = time.perf_counter() - started
            finally:
                stop_workers(processes)
            calls, peaks, limits, refused = site_figures(sim)
            runs = ChecklistRun.objects.filter(round=heartbeat)
            results.append((workers, wall, calls, runs.count(), heartbeat.summary, peaks, limits, refused))
    print(f"{db.vendor}, broker {broker.split(':')[0]}, {connections_total} connections over {sites_total} "
          f"sites ({sum(1 for c in counts.values() if c == 100)} with 100), {args.latency_ms} ms latency, "
          f"time scale {args.time_scale:g} (spread {spread_minutes * 60:.0f} s):")
    for workers, wall, calls, checked, summary, peaks, limits, refused in results:
        print(f"  {workers} worker process(es): wall {wall:.1f} s, {checked} runs "
              f"({summary.get('overall')}), {calls} calls = {calls / checked:.2f} per connection, "
              f"{refused} answered 429")
        print_peaks(peaks, limits)
    print_summary("re-validation round", connections_total, results)


def _broker(redis_url: str) -> str:
    import redis

    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
        return redis_url
    except redis.RedisError:
        raise SystemExit(f"Redis at {redis_url} does not answer: this benchmark needs it.") from None


def _purge(app) -> None:
    app.control.purge()  # tasks left in the queue by an earlier, interrupted run


def _wait_for_round(NotifierRun, after_pk: int, deadline_s: float):
    """The heartbeat of the round started after `after_pk`, once it has finished."""
    from django.db.models import Count

    started = time.perf_counter()
    while time.perf_counter() - started < deadline_s:
        heartbeat = NotifierRun.objects.filter(job="revalidation", pk__gt=after_pk).first()
        if heartbeat and heartbeat.finished_at:
            return heartbeat
        time.sleep(0.2)
    logs = "".join(p.read_text()[-3000:] for p in Path(os.environ["DATA_DIR"]).glob("worker*.log"))
    from connections.models import ChecklistRun

    states = dict(ChecklistRun.objects.values_list("state").annotate(n=Count("pk")).order_by())
    raise SystemExit(f"the round did not finish within {deadline_s:.0f} s (runs: {states}, "
                     f"rounds: {NotifierRun.objects.count()}); the workers said:\n{logs}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 10,000 connections / 500 sites")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--time-scale", type=float, default=600.0)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--deadline", type=float, default=900.0, help="give up after this many seconds")
    parser.add_argument("--postgres", metavar="URL")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7")
    main(parser.parse_args())
