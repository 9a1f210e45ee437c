"""The worker the Procfile starts enforces soft and hard time limits: a real worker process, a
real (on-disk) broker, a task that overruns and is stopped."""

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Celery

ROOT = Path(__file__).resolve().parent.parent


def _procfile_worker_options() -> list[str]:
    """The pool options of the Procfile's worker line (--pool, --concurrency)."""
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("worker:"))
    return [arg for arg in shlex.split(line) if arg.startswith(("--pool", "--concurrency"))]


def _broker_options(data_dir: Path) -> dict:
    folder = data_dir / "broker"  # where settings.py puts the on-disk broker under DATA_DIR
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {"data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"), "control_folder": str(folder / "control")}


@pytest.fixture
def worker(tmp_path):
    data_dir = tmp_path / "data"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "issuetrak_admin.settings", "DEBUG": "1",
           "DATA_DIR": str(data_dir), "CELERY_BROKER_URL": "filesystem://",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    log = tmp_path / "worker.log"
    command = [sys.executable, "-m", "celery", "-A", "issuetrak_admin", "worker", "--loglevel=INFO",
               *_procfile_worker_options(), "--without-mingle", "--without-gossip",
               "-I", "tests.worker_tasks"]
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield data_dir, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_procfile_worker_stops_a_task_that_overruns(worker, tmp_path):
    data_dir, log = worker
    marks = tmp_path / "marks"
    marks.mkdir()
    sender = Celery(set_as_current=False)
    # broker_write_url: the test settings' CELERY_BROKER_URL variable wins over broker_url
    sender.conf.update(broker_write_url="filesystem://localhost/",
                       broker_transport_options=_broker_options(data_dir))
    sender.send_task("tests.overrun", args=[str(marks), 8])

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (marks / "started").exists():
        time.sleep(0.1)
    assert (marks / "started").exists(), log.read_text()[-3000:]
    started = time.monotonic()
    while time.monotonic() - started < 6 and "Hard time limit" not in log.read_text():
        time.sleep(0.1)

    text = log.read_text()
    assert (marks / "soft").exists(), "the soft time limit was not raised in the task"
    assert "Hard time limit (3" in text, text[-3000:]
    assert not (marks / "finished").exists()
