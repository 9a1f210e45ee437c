"""How long one checklist run takes against the simulator's healthy site (bar: under 1 s).

Usage: .venv/bin/python benchmarks/checklist_healthy.py [RUNS]
"""

import statistics
import sys
import time

from _setup import django_in_temp_dir


def main(runs: int) -> None:
    django_in_temp_dir()
    from connections.checklist import Subject, overall_of, run_checklist
    from connections.simulator import IssuetrakSimulator

    with IssuetrakSimulator() as sim:
        subject = Subject(label="Zapier", base_url=sim.site_url("healthy"), token="good-token",
                          token_name="Zapier", token_user="integration")
        timings = []
        for _ in range(runs):
            sim.reset_rate_limits()
            started = time.perf_counter()
            results = run_checklist(subject)
            timings.append((time.perf_counter() - started) * 1000)
            assert overall_of(results) in ("pass", "warn"), [r.as_dict() for r in results]
    timings.sort()
    print(f"checklist against 'healthy', {runs} runs: median {statistics.median(timings):.1f} ms, "
          f"p95 {timings[int(len(timings) * 0.95) - 1]:.1f} ms, max {timings[-1]:.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
