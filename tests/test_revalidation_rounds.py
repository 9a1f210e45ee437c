"""Re-validation rounds at scale: calls per site and per connection (counted by the simulator),
runs created and claimed in bulk, chunks spread over the interval, and the round's heartbeat."""

import pickle
import time

import pytest
import requests

from connections import revalidation
from connections.models import AuditEvent, ChecklistRun, Connection, NotifierRun, RunState
from connections.simulator import IssuetrakSimulator


@pytest.fixture
def sim():
    """A simulator of our own, so its counts hold only this test's requests."""
    with IssuetrakSimulator(slow_seconds=3) as simulator:
        yield simulator


def calls(sim) -> dict[str, int]:
    """Requests each site received, from the simulator's own `/_sim/stats`."""
    document = requests.get(f"{sim.root_url}/_sim/stats", timeout=5).json()
    return {site["name"]: site["requests"] for site in document["sites"].values()}


def reset(sim) -> None:
    requests.post(f"{sim.root_url}/_sim/reset", timeout=5).raise_for_status()


def connect(sim, make_connection, site: str, count: int, *, user_iid: int = 17,
            token_user: str = "integration", prefix: str = "") -> list[Connection]:
    made = []
    for n in range(count):
        token = f"{prefix or site}-token-{n}"
        sim.add_token(site, token, user_iid=user_iid)
        made.append(make_connection(f"{prefix or site} {n}", token=token, base_url=sim.site_url(site),
                                    token_user=token_user))
    return made


def steps(connection) -> dict[str, str]:
    run = ChecklistRun.objects.filter(connection=connection).latest("pk")
    return {r.key: str(r.status) for r in run.results}


def test_one_site_call_per_round_and_one_call_per_sys_admin_token(sim, make_connection):
    connect(sim, make_connection, "healthy", 6)
    reset(sim)
    summary = revalidation.revalidate_all()
    # GET Authenticate/test once for the site, System/Settings per token, Users/Search once.
    assert calls(sim) == {"healthy": 1 + 6 + 1}
    assert summary["checked"] == 6 and summary["overall"]["pass"] == 6
    assert all(s["token_admin"] == "pass" and s["reachable"] == "pass"
               for s in map(steps, Connection.objects.all()))


def test_a_sys_admin_token_costs_fewer_calls_than_a_group_admin(sim, make_connection):
    [admin] = connect(sim, make_connection, "healthy", 1)
    [grouped] = connect(sim, make_connection, "group-admin", 1)
    reset(sim)
    revalidation.revalidate_all()
    # Sys Admin: test, settings, search. Group admin: the same plus memberships and one group.
    assert calls(sim) == {"healthy": 3, "group-admin": 5}
    assert steps(admin)["token_admin"] == steps(grouped)["token_admin"] == "pass"


def test_user_and_group_reads_are_reused_by_the_sites_other_tokens(sim, make_connection):
    connect(sim, make_connection, "group-admin", 4)
    reset(sim)
    revalidation.revalidate_all()
    assert calls(sim) == {"group-admin": 1 + 4 + 1 + 1 + 1}


def test_a_token_that_may_not_read_users_never_uses_another_tokens_reads(sim, make_connection):
    [admin] = connect(sim, make_connection, "group-admin", 1)
    # jdoe (iid 2) may not use API v2 at all: every call with this token answers 403.
    [weak] = connect(sim, make_connection, "group-admin", 1, user_iid=2, prefix="weak")
    reset(sim)
    revalidation.revalidate_all()
    assert steps(admin)["token_admin"] == "pass"
    assert steps(weak)["token_user"] == "warn" and steps(weak)["token_admin"] == "fail"
    # test once; settings ×2; the admin's search, memberships, group; the weak token's own search.
    assert calls(sim) == {"group-admin": 1 + 2 + 3 + 1}


def test_a_dead_site_costs_one_timeout_per_round_not_one_per_connection(sim, make_connection,
                                                                         settings):
    settings.ISSUETRAK_TIMEOUT_S = 0.5
    connect(sim, make_connection, "slow", 4)
    reset(sim)
    started = time.monotonic()
    revalidation.revalidate_all()
    assert time.monotonic() - started < 2.0
    assert calls(sim) == {"slow": 1}
    assert {steps(c)["reachable"] for c in Connection.objects.all()} == {"fail"}


def test_runs_are_created_in_a_constant_number_of_queries(sim, make_connection,
                                                          django_assert_max_num_queries):
    connect(sim, make_connection, "healthy", 3)
    with django_assert_max_num_queries(4) as few:
        revalidation.start_round()
    connect(sim, make_connection, "group-admin", 30)
    with django_assert_max_num_queries(len(few.captured_queries)):
        _, chunks = revalidation.start_round()
    assert sum(len(c.run_ids) for c in chunks) == 33
    assert ChecklistRun.objects.filter(state=RunState.QUEUED).count() == 36


def test_manual_runs_are_audited_in_one_insert(make_connection, django_assert_num_queries):
    connections = [make_connection(f"c{n}") for n in range(25)]
    with django_assert_num_queries(2):  # the runs, then their audit events
        runs = ChecklistRun.start_many(connections, trigger="cli")
    assert len({r.pk for r in runs}) == 25
    assert AuditEvent.objects.filter(action="checklist_started", actor_name="cli").count() == 25


def test_a_busy_sites_chunks_are_spread_over_the_interval(sim, make_connection):
    connect(sim, make_connection, "healthy", 25)
    connect(sim, make_connection, "group-admin", 3)
    _, chunks = revalidation.start_round(chunk_size=10, spread_s=3600)
    healthy = [c for c in chunks if len(c.run_ids) != 3]
    assert [c.countdown for c in healthy] == [0, 1200, 2400]
    assert [len(c.run_ids) for c in healthy] == [10, 10, 5]
    assert healthy[0].anchor is None and healthy[1].anchor == healthy[2].anchor == healthy[0].run_ids[0]
    [small] = [c for c in chunks if len(c.run_ids) == 3]
    assert small.countdown == 0


def test_later_chunks_reuse_the_first_chunks_site_answer_and_the_last_ends_the_round(
        sim, make_connection):
    connect(sim, make_connection, "healthy", 5)
    heartbeat, chunks = revalidation.start_round(chunk_size=2, spread_s=0)
    reset(sim)
    first, *rest = chunks
    revalidation.check_chunk(heartbeat.pk, first.run_ids, first.anchor)
    assert calls(sim) == {"healthy": 1 + 2 + 1}
    heartbeat.refresh_from_db()
    assert heartbeat.finished_at is None  # three runs still to go
    reset(sim)
    for chunk in rest:
        revalidation.check_chunk(heartbeat.pk, chunk.run_ids, chunk.anchor)
    assert calls(sim) == {"healthy": 3 + 2}  # no Authenticate/test: the anchor's answer is reused
    heartbeat.refresh_from_db()
    assert heartbeat.finished_at and heartbeat.summary["checked"] == 5
    assert heartbeat.summary["overall"]["pass"] == 5


def test_a_chunk_out_of_time_hands_its_runs_back_and_a_redelivered_one_does_nothing(
        sim, make_connection):
    connect(sim, make_connection, "healthy", 3)
    heartbeat, [chunk] = revalidation.start_round(spread_s=0)
    reset(sim)
    left = revalidation.check_chunk(heartbeat.pk, chunk.run_ids, budget_s=0)
    assert left == chunk.run_ids and calls(sim) == {}
    assert ChecklistRun.objects.filter(state=RunState.QUEUED).count() == 3
    assert revalidation.check_chunk(heartbeat.pk, left) == []
    revalidation.check_chunk(heartbeat.pk, left)  # the broker delivered it twice
    assert calls(sim) == {"healthy": 1 + 3 + 1}
    assert NotifierRun.objects.get(pk=heartbeat.pk).summary["checked"] == 3


def test_an_empty_round_finishes_at_once(db):
    heartbeat, chunks = revalidation.start_round()
    heartbeat.refresh_from_db()
    assert chunks == [] and heartbeat.finished_at and heartbeat.summary["checked"] == 0


def test_what_a_round_shares_between_tokens_holds_no_token(sim, make_connection):
    from connections.checklist import Subject, run_checklist
    from connections.checklist.registry import SiteShare

    share = SiteShare()
    made = connect(sim, make_connection, "group-admin", 3)
    for connection in made:
        run_checklist(Subject.from_connection(connection), share=share)
    assert share.reads and share.site_results
    held = pickle.dumps((share.site_results, share.reads)) + repr(share).encode()
    for n in range(3):
        assert f"group-admin-token-{n}".encode() not in held


@pytest.fixture
def own_broker(tmp_path):
    """The broker of this run (Redis when CELERY_BROKER_URL names one), else an on-disk one."""
    import os

    from issuetrak_admin.celery import app

    url = os.environ.get("CELERY_BROKER_URL", "")
    if url.startswith("redis://"):
        options = {}
    else:
        folder = tmp_path / "broker"
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True)
        url = "filesystem://"
        options = {"data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
                   "processed_folder": str(folder / "processed"), "control_folder": str(folder / "control")}
    saved = {k: app.conf[k] for k in ("broker_url", "broker_transport_options", "task_always_eager")}
    app.conf.update(broker_url=url, broker_transport_options=options, task_always_eager=False)
    app._pool, app.amqp._producer_pool = None, None
    yield app
    app.conf.update(saved)
    app._pool, app.amqp._producer_pool = None, None


@pytest.mark.django_db(transaction=True)
def test_a_round_fans_out_as_celery_tasks_over_workers(own_broker, sim, make_connection, settings):
    from celery.contrib.testing.worker import start_worker

    from connections import tasks

    settings.REVALIDATION_CHUNK_SIZE = 2
    settings.REVALIDATION_SPREAD_MINUTES = 0.01  # the busy site's chunks 0.2 s apart, not hours
    connect(sim, make_connection, "healthy", 5)
    connect(sim, make_connection, "group-admin", 2)
    reset(sim)
    with start_worker(own_broker, pool="threads", concurrency=2, perform_ping_check=False,
                      loglevel="WARNING"):
        tasks.revalidate_connections.delay()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            heartbeat = NotifierRun.objects.filter(job="revalidation").first()
            if heartbeat and heartbeat.finished_at:
                break
            time.sleep(0.1)
    assert heartbeat and heartbeat.finished_at, "the round did not finish"
    assert heartbeat.summary["checked"] == 7 and heartbeat.summary["overall"]["pass"] == 7
    assert set(ChecklistRun.objects.values_list("state", flat=True)) == {RunState.FINISHED}
    # Three chunks on the busy site: at most one test and one search each, settings per token.
    assert calls(sim)["healthy"] <= 3 + 5 + 3 < 5 * 3
    assert calls(sim)["group-admin"] == 1 + 2 + 3
