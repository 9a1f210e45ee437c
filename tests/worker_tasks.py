"""A task that overruns its time limits, for the worker test (loaded with ``celery worker -I``)."""

import time
from pathlib import Path

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded


@shared_task(name="tests.overrun", ignore_result=True, soft_time_limit=1, time_limit=3)
def overrun(folder: str, seconds: float) -> None:
    """Sleep `seconds`, leaving a mark when it starts, is warned (soft limit) and finishes."""
    marks = Path(folder)
    (marks / "started").touch()
    try:
        time.sleep(seconds)
    except SoftTimeLimitExceeded:
        (marks / "soft").touch()
        time.sleep(seconds)  # ignore the warning: only the hard limit can stop it now
    (marks / "finished").touch()
