"""`connections check --all` fanned out to 1, 2 and 4 Celery worker processes on Redis.

The same 10,000 connections over 500 simulated sites as benchmarks/revalidation_round.py (50 ms
latency, 1 % of the sites dead, every 25th site with 100 connections). The command queues one
batch (a task per chunk of a site's connections) and follows it while the workers check it; the
limiter counts in Redis with the simulator's windows compressed by --time-scale.
Figures: wall time of the whole command, calls per connection, runs the command had to take over,
and the busiest site's peak in each window against the limit and the 20 % share.
Usage: .venv/bin/python benchmarks/check_all_workers.py [--scale 1.0] [--workers 1 2 4]
       [--time-scale 600] [--redis URL]
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

from _setup import django_in_temp_dir
from revalidation_round import (
    ROOT,
    SHARE,
    TIMEOUT_S,
    _broker,
    _purge,
    build_sites,
    make_connections,
    print_peaks,
    print_summary,
    site_figures,
    start_workers,
    stop_workers,
)


def main(args) -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    connections_total = int(10_000 * args.scale)
    sites_total = max(int(500 * args.scale), 4)
    django_in_temp_dir()
    broker = os.environ["CELERY_BROKER_URL"] = _broker(args.redis)
    from django.conf import settings

    from connections.issuetrak import site_limits
    from connections.models import ChecklistRun
    from connections.simulator import IssuetrakSimulator
    from issuetrak_admin.celery import app

    env = {**os.environ, "CELERY_BROKER_URL": broker, "REVALIDATION_CHUNK_SIZE": "10",
           "ISSUETRAK_TIMEOUT_S": str(TIMEOUT_S), "ISSUETRAK_RATE_STORE": broker,
           "ISSUETRAK_RATE_SHARE": str(SHARE), "ISSUETRAK_RATE_TIME_SCALE": str(args.time_scale),
           "DATABASE_URL": f"sqlite:///{settings.DATA_DIR}/issuetrak-admin.sqlite3"}
    app.conf.update(broker_url=broker, broker_transport_options={}, task_always_eager=False)
    app._pool, app.amqp._producer_pool = None, None  # made for the set-up's memory:// broker
    site_dicts, counts = build_sites(sites_total, connections_total)
    results = []
    with IssuetrakSimulator(extra_sites=site_dicts, slow_seconds=TIMEOUT_S * 3, time_scale=args.time_scale,
                            latency_seconds=args.latency_ms / 1000) as sim:
        make_connections(sim, counts)
        for workers in args.workers:
            sim.reset_rate_limits()
            site_limits.RedisStore(broker).reset()
            _purge(app)
            processes = start_workers(workers, env)
            try:
                time.sleep(3)  # the workers connect to the broker
                started = time.perf_counter()
                done = subprocess.run([sys.executable, str(ROOT / "manage.py"), "connections", "check",
                                       "--all", "--json"], env=env, cwd=ROOT, capture_output=True,
                                      text=True, timeout=args.deadline)
                wall = time.perf_counter() - started
            finally:
                stop_workers(processes)
            documents = json.loads(done.stdout)
            calls, peaks, limits, refused = site_figures(sim)
            overall = {}
            for document in documents:
                overall[document["overall"]] = overall.get(document["overall"], 0) + 1
            took_over = next((line.split()[0] for line in done.stderr.splitlines()
                              if "no worker took" in line), "0")
            results.append((workers, wall, calls, len(documents), overall, peaks, limits, refused,
                            took_over, sim.windows_over(SHARE)))
            ChecklistRun.objects.all().delete()
    print(f"check --all, broker {broker.split(':')[0]}, {connections_total} connections over "
          f"{sites_total} sites ({sum(1 for c in counts.values() if c == 100)} with 100), "
          f"{args.latency_ms:g} ms latency, time scale {args.time_scale:g}:")
    for workers, wall, calls, checked, overall, peaks, limits, refused, took_over, over in results:
        print(f"  {workers} worker process(es): wall {wall:.1f} s, {checked} runs ({overall}), {calls} calls "
              f"= {calls / checked:.2f} per connection, {refused} answered 429, {took_over} taken over by "
              f"the command, windows over the share: {over or 'none'}")
        print_peaks(peaks, limits)
    print_summary("check --all on workers", connections_total, results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 10,000 connections / 500 sites")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--time-scale", type=float, default=600.0)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--deadline", type=float, default=1800.0, help="give up after this many seconds")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/8")
    main(parser.parse_args())
