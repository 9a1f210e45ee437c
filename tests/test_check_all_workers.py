"""`connections check --all` hands its runs to real Celery worker processes, one task per chunk
of a site's connections, and follows them; runs no worker takes are checked by the command.

Real processes throughout: a `celery worker` on the on-disk broker (and on Redis when it is
there; required under CI=true), the command, the simulator over a socket, one SQLite file.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from connections.simulator import GOOD_TOKEN, IssuetrakSimulator
from tests.conftest import require_service
from tests.test_celery_worker import REDIS_URL, _redis_reachable

ROOT = Path(__file__).resolve().parent.parent
SITES = ("healthy", "group-admin", "api-disabled")
PER_SITE = 4

MAKE_CONNECTIONS = """
import datetime as dt, json, os
from connections.models import Connection
for site, url in json.loads(os.environ["MAKE_SITES"]).items():
    for i in range(int(os.environ["MAKE_COUNT"])):
        c = Connection(label=f"{site} {i}", base_url=url, token_name=f"t{i}",
                       token_user="integration", recipients=["sam@example.com"],
                       expires_on=dt.date.today() + dt.timedelta(days=90))
        c.set_token(os.environ["MAKE_TOKEN"])
        c.save()
"""


@pytest.fixture
def simulator():
    """A simulator of this test's own: its request counts are this test's alone."""
    with IssuetrakSimulator() as sim:
        yield sim


@pytest.fixture(params=["filesystem", "redis"])
def env(request, tmp_path, simulator):
    broker = "filesystem://"
    if request.param == "redis":
        reachable, why = _redis_reachable()
        require_service("Redis", reachable, why)
        broker = REDIS_URL
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()  # no task left by an earlier test
    env = os.environ | {
        "DATA_DIR": str(tmp_path), "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "issuetrak_admin.settings",
        "ISSUETRAK_ALLOW_HTTP": "1", "CELERY_BROKER_URL": broker, "ISSUETRAK_RATE_STORE": "database",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    assert _manage(env, "migrate", "--noinput").returncode == 0
    sites = {site: simulator.site_url(site) for site in SITES}
    made = _manage(env | {"MAKE_SITES": json.dumps(sites), "MAKE_TOKEN": GOOD_TOKEN,
                          "MAKE_COUNT": str(PER_SITE)}, "shell", "-c", MAKE_CONNECTIONS)
    assert made.returncode == 0, made.stderr
    return env


def _manage(env, *args):
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=env["DATA_DIR"],
                          capture_output=True, text=True, timeout=180)


def _worker(env, log: Path, *queues: str) -> subprocess.Popen:
    """A worker process; ready (answering pings) when this returns."""
    command = [sys.executable, "-m", "celery", "-A", "issuetrak_admin", "worker", "--pool=threads",
               "--concurrency=4", "--loglevel=INFO", "--without-mingle", "--without-gossip",
               *(["-Q", ",".join(queues)] if queues else [])]
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while " ready." not in log.read_text():
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.2)
    return process


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _check_all(env) -> tuple[list[dict], str]:
    done = _manage(env, "connections", "check", "--all", "--json")
    assert done.returncode == 2, done.stderr[-3000:]  # api-disabled fails
    return json.loads(done.stdout), done.stderr


def test_check_all_is_checked_by_the_workers_one_task_per_site_chunk(env, simulator, tmp_path):
    log = tmp_path / "worker.log"
    worker = _worker(env, log)
    try:
        documents, stderr = _check_all(env)
    finally:
        _stop(worker)

    assert len(documents) == len(SITES) * PER_SITE
    overall = {d["connection"]: d["overall"] for d in documents}
    assert {overall[f"healthy {i}"] for i in range(PER_SITE)} <= {"pass", "warn"}
    assert {overall[f"api-disabled {i}"] for i in range(PER_SITE)} == {"fail"}
    # The worker checked them (one task per site's chunk), not the command.
    text = log.read_text()
    assert text.count("connections.tasks.check_batch_chunk[") >= 2 * len(SITES), text[-3000:]
    assert "no worker took" not in stderr
    # Each site's own steps were decided once for its chunk, shared by its four connections:
    # the site with API v2 switched off was asked once, not once per connection.
    calls = {url: stats["requests"] for url, stats in simulator.rate_stats()["sites"].items()}
    assert calls[simulator.site_url("api-disabled")] == 1
    assert calls[simulator.site_url("healthy")] <= PER_SITE + 2, calls
    batch = _manage(env, "shell", "-c", "from connections.models import CheckBatch; "
                    "b = CheckBatch.objects.get(); print(b.total, b.done, b.failed, b.trigger)")
    assert batch.stdout.splitlines()[-1].split() == [str(len(SITES) * PER_SITE), str(len(SITES) * PER_SITE),
                                    str(PER_SITE), "cli"]


def test_runs_no_worker_takes_are_checked_by_the_command(env, tmp_path):
    # A worker that answers pings but consumes another queue: nothing takes the batch's tasks.
    worker = _worker(env, tmp_path / "worker.log", "elsewhere")
    try:
        started = time.monotonic()
        documents, stderr = _check_all(env | {"CHECK_ALL_PICKUP_S": "2"})
    finally:
        _stop(worker)

    assert len(documents) == len(SITES) * PER_SITE
    assert {d["overall"] for d in documents if d["connection"].startswith("api-disabled")} == {"fail"}
    assert f"{len(SITES) * PER_SITE} run(s) no worker took were checked in this process." in stderr
    assert time.monotonic() - started < 60
