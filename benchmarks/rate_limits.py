"""The per-site rate limiter under load: many connections over several simulated sites, checked by
1, 2 and 4 worker processes at once, on a simulator whose windows are shortened by --time-scale.

Bar: no site ever gets more than ISSUETRAK_RATE_SHARE of any window (peak ≤ share × limit), and no
429. Counts in Redis when one answers at --redis, else in the database (a shared SQLite file).
Usage: .venv/bin/python benchmarks/rate_limits.py [--connections 150] [--sites 6] [--time-scale 3600]
       [--workers 1,2,4] [--redis redis://127.0.0.1:6379/0] [--store redis|database]
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from _setup import django_in_temp_dir

TOKEN = "bench-token"
SHARE = 0.2


def _sites(count: int) -> list[dict]:
    user = {"iid": 17, "id": "integration", "displayName": "Integration, API", "isSysAdmin": True}
    return [{"name": f"bench-{i}", "users": [user], "tokens": {TOKEN: 17}} for i in range(count)]


def _spread(total: int, sites: int) -> list[int]:
    """Half the connections on the first site (a big customer), the rest spread evenly."""
    big = total // 2
    rest = [(total - big) // (sites - 1) + (1 if i < (total - big) % (sites - 1) else 0)
            for i in range(sites - 1)] if sites > 1 else []
    return [big + (total - big - sum(rest)) * (sites == 1), *rest]


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def worker(index: int, of: int) -> None:
    """One worker process: check its share of the connections (as a Celery worker would)."""
    import django

    django.setup()
    from connections.models import Connection
    from connections.runs import check_batch

    mine = [c for c in Connection.objects.active().order_by("pk") if c.pk % of == index]
    check_batch(mine, trigger="cli")


def _reset_store(store: str) -> None:
    from connections.issuetrak import site_limits
    from connections.rate_store import DatabaseStore

    (site_limits.RedisStore(store) if store.startswith("redis") else DatabaseStore()).reset()


def main(args) -> None:
    # The simulator listens on loopback, on a free port: let the outbound policy allow that.
    os.environ.update({"ISSUETRAK_ALLOWED_NETWORKS": "127.0.0.0/8", "ISSUETRAK_ALLOWED_PORTS": "*"})
    data_dir = django_in_temp_dir()
    from connections.models import ChecklistRun, Connection
    from connections.simulator import IssuetrakSimulator

    store = args.redis if args.store == "redis" else "database"
    env = os.environ | {"ISSUETRAK_RATE_STORE": store, "ISSUETRAK_RATE_SHARE": str(SHARE),
                        "ISSUETRAK_RATE_TIME_SCALE": str(args.time_scale), "DATA_DIR": str(data_dir)}
    os.environ.update(env)
    with IssuetrakSimulator(time_scale=args.time_scale, extra_sites=_sites(args.sites)) as sim:
        for n_site, count in enumerate(_spread(args.connections, args.sites)):
            for i in range(count):
                connection = Connection(label=f"s{n_site}-c{i}", base_url=sim.site_url(f"bench-{n_site}"),
                                        token_user="integration")
                connection.set_token(TOKEN)
                connection.save()
        seconds = sim.rate_stats()["window_seconds"]
        print(f"{args.connections} connections over {args.sites} sites "
              f"({_spread(args.connections, args.sites)}), time scale {args.time_scale:g} "
              f"(12 h = {seconds['per_12_hours']:.0f} s), share {SHARE:g}, store {args.store}")
        rows = []
        for workers in args.workers:
            _reset_store(store)
            sim.reset_rate_limits()
            ChecklistRun.objects.all().delete()
            started = time.perf_counter()
            command = [sys.executable, __file__, "--worker"]
            processes = [subprocess.Popen([*command, str(i), str(workers)], env=env) for i in range(workers)]
            codes = [p.wait() for p in processes]
            wall = time.perf_counter() - started
            stats = sim.rate_stats()
            requests = sum(s["requests"] for s in stats["sites"].values())
            refused = sum(s["refused"] for s in stats["sites"].values())
            peaks = {w: max(s["peaks"][w] for s in stats["sites"].values()) for w in seconds}
            limits = next(iter(stats["sites"].values()))["limits"]
            over = sim.windows_over(SHARE)
            answered = ChecklistRun.objects.filter(overall__in=["pass", "warn"]).count()
            rows.append((workers, wall, requests / args.connections, refused, peaks, over))
            print(f"{workers} worker(s): wall {wall:.1f} s, exit codes {codes}, "
                  f"{answered}/{args.connections} runs answered (pass or warn), "
                  f"{requests / args.connections:.1f} calls per connection, {refused} × 429")
            print("   peak per site / share of limit: " + ", ".join(
                f"{w} {peaks[w]}/{limits[w] * SHARE:g}" for w in seconds))
    verdict = "never over the share" if not any(r[5] for r in rows) else f"OVER: {[r[5] for r in rows]}"
    print(f"rate limits ({args.store}): workers {'/'.join(str(r[0]) for r in rows)} → wall "
          f"{'/'.join(f'{r[1]:.1f}' for r in rows)} s, {rows[0][2]:.1f} calls per connection, "
          f"{sum(r[3] for r in rows)} × 429, peaks {verdict}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        worker(int(sys.argv[2]), int(sys.argv[3]))
        sys.exit(0)
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=150)
    parser.add_argument("--sites", type=int, default=6)
    parser.add_argument("--time-scale", type=float, default=3600.0)
    parser.add_argument("--workers", type=lambda v: [int(x) for x in v.split(",")], default=[1, 2, 4])
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--store", choices=["redis", "database", "auto"], default="auto")
    arguments = parser.parse_args()
    if arguments.store == "auto":
        arguments.store = "redis" if _redis_answers(arguments.redis) else "database"
    main(arguments)
