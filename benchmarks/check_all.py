"""`connections check --all` over many connections with some dead (slow) sites.

Bar: wall time close to (slowest site's time × batches), not the sum of all checks.
Usage: .venv/bin/python benchmarks/check_all.py [CONNECTIONS] [SLOW_ONES] [TIMEOUT_S]
"""

import json
import sys
import time

from _setup import django_in_temp_dir


def main(total: int, slow: int, timeout: float) -> None:
    django_in_temp_dir()
    from django.conf import settings

    from connections.models import Connection
    from connections.runs import check_batch
    from connections.simulator import IssuetrakSimulator
    from connections.simulator.ratelimit import WINDOW_NAMES

    settings.ISSUETRAK_TIMEOUT_S = timeout
    with IssuetrakSimulator(slow_seconds=60) as sim:
        sites = ["slow"] * slow + ["healthy", "group-admin", "not-admin", "revoked-token"] * total
        raised = dict.fromkeys(WINDOW_NAMES, 10**6)
        for name in set(sites):
            # This measures concurrency, not pacing: the simulated sites' limits are raised out of
            # reach, and the limiter is told so (benchmarks/rate_limits.py measures pacing).
            sim.set_rate_limits(name, **raised)
        settings.ISSUETRAK_RATE_LIMITS = json.dumps({sim.site_url(name): raised for name in set(sites)})
        for n, site in enumerate(sites[:total]):
            connection = Connection(label=f"c{n}", base_url=sim.site_url(site), token_user="integration")
            sim.add_token(site, f"token-{n}", user_iid=17)
            connection.set_token(f"token-{n}")
            connection.save()
        started = time.perf_counter()
        _batch, runs = check_batch(Connection.objects.active(), trigger="cli")
        wall = time.perf_counter() - started
    per_run = sorted(r.duration_ms for r in runs)
    batches = -(-total // settings.CHECK_CONCURRENCY)
    print(f"check --all: {total} connections ({slow} slow, timeout {timeout:.0f} s), "
          f"concurrency {settings.CHECK_CONCURRENCY}: wall {wall:.2f} s; "
          f"sum of run times {sum(per_run) / 1000:.2f} s; slowest run {per_run[-1] / 1000:.2f} s; "
          f"{batches} batches")


if __name__ == "__main__":
    args = [int(sys.argv[1]) if len(sys.argv) > 1 else 200, int(sys.argv[2]) if len(sys.argv) > 2 else 4,
            float(sys.argv[3]) if len(sys.argv) > 3 else 2.0]
    main(*args)
