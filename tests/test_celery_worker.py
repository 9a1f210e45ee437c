"""A real Celery worker takes a queued checklist run off a real broker.

Redis when it is reachable (required under CI=true), otherwise Celery's on-disk broker.
"""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse

from connections.models import ChecklistRun, RunState
from issuetrak_admin.celery import app
from tests.conftest import require_service

REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_reachable() -> tuple[bool, str]:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        return True, ""
    except redis.RedisError as exc:
        return False, str(exc)


@pytest.fixture(params=["redis", "filesystem"])
def broker(request, tmp_path):
    if request.param == "redis":
        reachable, why = _redis_reachable()
        require_service("Redis", reachable, why)
        url, options = REDIS_URL, {}
    else:
        folder = tmp_path / "broker"
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True)
        url = "filesystem://"
        options = {"data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
                   "processed_folder": str(folder / "processed"), "control_folder": str(folder / "control")}
    saved = {k: app.conf[k] for k in ("broker_url", "broker_transport_options", "task_always_eager")}
    app.conf.update(broker_url=url, broker_transport_options=options, task_always_eager=False)
    _forget_connections()
    yield request.param
    app.conf.update(saved)
    _forget_connections()


def _forget_connections():
    # Connection and producer pools were made for the previous broker URL.
    app._pool = None
    app.amqp._producer_pool = None


@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_the_checklist_queued_from_the_page(broker, client, sysadmin, make_connection,
                                                          simulator):
    zapier = make_connection(token="good-token", base_url=simulator.site_url("healthy"),
                             token_user="integration")
    client.force_login(sysadmin)
    with start_worker(app, pool="threads", concurrency=1, perform_ping_check=False,
                      loglevel="WARNING"):
        client.post(reverse("connections:check", args=[zapier.public_id]))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            run = ChecklistRun.objects.get()
            if run.is_done:
                break
            time.sleep(0.1)
    assert run.state == RunState.FINISHED, f"still {run.state} on the {broker} broker"
    assert run.overall == "pass"
