"""How fast `manage.py connections check LABEL` runs as a whole process (bar: under 0.8 s).

Side by side, medians of repeated runs: `python -c pass`, a bare Django (contrib apps only)
`django.setup()`, this project's `django.setup()`, the checklist alone (in process) and the
command as a process against the simulator's healthy site. The processes may cache bytecode
(``PYTHONDONTWRITEBYTECODE`` is dropped, one warm-up run each), as an installed deployment does.
Usage: .venv/bin/python benchmarks/command_startup.py [RUNS]
"""

import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _setup import django_in_temp_dir

ROOT = Path(__file__).resolve().parent.parent
BARE_DJANGO = """
import django
from django.conf import settings
settings.configure(INSTALLED_APPS=["django.contrib.admin", "django.contrib.auth",
    "django.contrib.contenttypes", "django.contrib.sessions", "django.contrib.messages",
    "django.contrib.staticfiles"], DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
    "NAME": ":memory:"}})
django.setup()
"""
PROJECT_SETUP = "import django; django.setup()"


def median_seconds(command: list[str], runs: int, between=lambda: None) -> float:
    """The median wall time of running `command` as a process, which must succeed."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    timings = []
    for _ in range(runs + 1):
        between()
        started = time.perf_counter()
        finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        timings.append(time.perf_counter() - started)
        if finished.returncode != 0:
            said = finished.stdout[-2000:] + finished.stderr[-2000:]
            raise SystemExit(f"{command} failed ({finished.returncode}):\n{said}")
    return statistics.median(timings[1:])  # the first run writes the bytecode cache


def fresh_limits(sim) -> None:
    """Forget the simulator's counts and our limiter's (the database store every process shares):
    else the healthy site's share of a 10-minute window is spent after a few runs."""
    from connections.rate_store import DatabaseStore

    sim.reset_rate_limits()
    DatabaseStore().reset()


def checklist_alone(connection, runs: int, sim) -> float:
    """The median in-process time of the checklist (the command's own work, without start-up)."""
    from connections.models import ChecklistRun

    timings = []
    for _ in range(runs):
        fresh_limits(sim)
        started = time.perf_counter()
        ChecklistRun.check_now(connection, trigger="cli")
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def main(runs: int) -> None:
    django_in_temp_dir()
    from connections.models import Connection
    from connections.simulator import GOOD_TOKEN, IssuetrakSimulator

    python = sys.executable
    with IssuetrakSimulator() as sim:
        connection = Connection(label="Zapier", base_url=sim.site_url("healthy"), token_user="integration",
                                token_name="Zapier", expires_on=dt.date.today() + dt.timedelta(days=90))
        connection.set_token(GOOD_TOKEN)
        connection.save()
        figures = {
            "python -c pass": median_seconds([python, "-c", "pass"], runs),
            "bare Django django.setup()": median_seconds([python, "-c", BARE_DJANGO], runs),
            "project django.setup()": median_seconds([python, "-c", PROJECT_SETUP], runs),
            "checklist alone (in process)": checklist_alone(connection, runs, sim),
            "connections check LABEL": median_seconds(
                [python, "manage.py", "connections", "check", "Zapier"], runs, lambda: fresh_limits(sim)),
        }
    for name, seconds in figures.items():
        print(f"  {name:<30} {seconds:6.3f} s")
    check, bare = figures["connections check LABEL"], figures["bare Django django.setup()"]
    print(f"connections check LABEL as a process, median of {runs}: {check:.3f} s "
          f"(bar 0.8 s; bare Django {bare:.3f} s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
