"""The per-site rate limiter: sites, budgets, settings, and each store counting exactly."""

import os
import time

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from django.urls import reverse

from connections.issuetrak import IssuetrakClient, site_limits
from connections.issuetrak.site_limits import LimitsRefused, MemoryStore, SiteBusy, Window
from connections.models import ChecklistRun
from connections.rate_store import DatabaseStore, configured_store
from connections.simulator import GOOD_TOKEN, IssuetrakSimulator
from tests.conftest import require_service
from tests.test_celery_worker import REDIS_URL


def redis_url() -> str:
    broker = os.environ.get("CELERY_BROKER_URL", "")
    return broker if broker.startswith("redis://") else REDIS_URL


def redis_store():
    import redis

    try:
        redis.Redis.from_url(redis_url(), socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        require_service("Redis", False, str(exc))
    return site_limits.RedisStore(redis_url())


# --- Which site ---------------------------------------------------------------------------------


@pytest.mark.parametrize("written", [
    "https://Support.Example.com/Issuetrak/", "https://support.example.com:443/issuetrak",
    "https://support.example.com/issuetrak/api/v2", "HTTPS://support.example.com/issuetrak/API/v2/",
])
def test_one_site_however_its_url_is_written(written):
    assert site_limits.site_key(written) == "https://support.example.com/issuetrak"


def test_two_sites_under_one_host_are_two_sites():
    keys = {site_limits.site_key(u) for u in ("https://h.example.com/a", "https://h.example.com/b",
                                               "https://h.example.com:8443/a", "http://h.example.com/a")}
    assert len(keys) == 4


# --- Budgets and settings --------------------------------------------------------------------------


@override_settings(ISSUETRAK_RATE_SHARE=0.2, ISSUETRAK_RATE_LIMITS="", ISSUETRAK_RATE_TIME_SCALE=1.0)
def test_the_default_budget_is_a_fifth_of_each_window():
    limits = {w.name: w.limit for w in site_limits.budget("https://support.example.com")}
    assert limits == {"per_second": 4, "writes_per_second": 1, "per_minute": 20,
                      "per_10_minutes": 20, "per_hour": 200, "per_12_hours": 200}


@override_settings(ISSUETRAK_RATE_SHARE=0.5, ISSUETRAK_RATE_TIME_SCALE=1.0,
                   ISSUETRAK_RATE_LIMITS='{"https://Raised.example.com/": {"per_hour": 6000}}')
def test_a_site_whose_admins_raised_limits_gets_the_share_of_those():
    raised = {w.name: w.limit for w in site_limits.budget("https://raised.example.com")}
    other = {w.name: w.limit for w in site_limits.budget("https://other.example.com")}
    assert raised["per_hour"] == 3000 and raised["per_minute"] == 50
    assert other["per_hour"] == 500


@pytest.mark.parametrize(("raw", "says"), [
    ("{nope", "not JSON"),
    ("[1]", "must be an object"),
    ('{"https://a.example.com": {"per_day": 5}}', "unknown window 'per_day'"),
    ('{"https://a.example.com": {"per_hour": 0}}', "whole number"),
    ('{"https://a.example.com": {"per_hour": "9"}}', "whole number"),
    ('{"https://a.example.com": 5}', "object of window"),
])
def test_bad_overrides_are_refused_with_the_reason(raw, says):
    with pytest.raises(LimitsRefused, match=says):
        site_limits.parse_overrides(raw)


@pytest.mark.parametrize("share", [0, -0.1, 1.5, True])
def test_a_share_outside_zero_to_one_is_refused(share):
    with pytest.raises(LimitsRefused, match="ISSUETRAK_RATE_SHARE"):
        site_limits.check_share(share)


@pytest.mark.parametrize("setting", [{"ISSUETRAK_RATE_SHARE": 2.0},
                                     {"ISSUETRAK_RATE_LIMITS": '{"https://a.example.com": {"x": 1}}'},
                                     {"ISSUETRAK_RATE_STORE": "mongodb://nope"}])
@pytest.mark.django_db  # `check` also runs the stored-token check (E002), which reads the table
def test_the_system_check_refuses_bad_settings_at_start_up(setting):
    with override_settings(**setting), pytest.raises(SystemCheckError, match="connections.E003"):
        call_command("check")


@override_settings(ISSUETRAK_RATE_STORE="auto", CELERY_BROKER_URL="redis://127.0.0.1:6379/6")
def test_auto_counts_in_redis_when_the_broker_is_redis():
    assert isinstance(configured_store(), site_limits.RedisStore)


@override_settings(ISSUETRAK_RATE_STORE="auto", CELERY_BROKER_URL="filesystem://localhost/")
def test_auto_counts_in_the_database_otherwise():
    assert isinstance(configured_store(), DatabaseStore)


# --- Each store counts exactly ----------------------------------------------------------------------

WINDOWS = [Window("short", 3, 1.0), Window("writes", 1, 1.0, writes_only=True), Window("long", 5, 2.5)]


@pytest.fixture(params=["memory", "database", "redis"])
def store(request, transactional_db):
    if request.param == "redis":
        return redis_store()
    return {"memory": MemoryStore, "database": DatabaseStore}[request.param]()


def test_a_store_admits_up_to_each_limit_then_says_how_long_to_wait(store):
    site = f"http://127.0.0.1:1/store-{time.time_ns()}"
    assert [store.try_acquire(site, False, WINDOWS) for _ in range(3)] == [0, 0, 0]
    wait = store.try_acquire(site, False, WINDOWS)
    assert 0.5 < wait <= 1.0
    time.sleep(wait + 0.02)
    assert [store.try_acquire(site, False, WINDOWS) for _ in range(2)] == [0, 0]
    long_wait = store.try_acquire(site, False, WINDOWS)  # 5 in the long window now
    assert 0.5 < long_wait <= 2.5


def test_writes_are_counted_in_their_own_window_and_in_the_total(store):
    site = f"http://127.0.0.1:1/writes-{time.time_ns()}"
    assert store.try_acquire(site, True, WINDOWS) == 0
    assert store.try_acquire(site, True, WINDOWS) > 0  # one write per second
    assert store.try_acquire(site, False, WINDOWS) == 0  # reads still have room
    assert store.try_acquire(site, False, WINDOWS) == 0
    assert store.try_acquire(site, False, WINDOWS) > 0  # the write counted in the total


def test_a_back_off_holds_every_request_and_a_shorter_one_does_not_cut_it(store):
    site = f"http://127.0.0.1:1/backoff-{time.time_ns()}"
    store.set_backoff(site, 1.5)
    store.set_backoff(site, 0.1)
    assert 1.0 < store.try_acquire(site, False, WINDOWS) <= 1.5
    time.sleep(1.52)
    assert store.try_acquire(site, False, WINDOWS) == 0


def test_a_call_in_flight_holds_its_slot_and_counts_from_its_answer(store):
    site = f"http://127.0.0.1:1/in-flight-{time.time_ns()}"
    tickets = [f"call-{i}" for i in range(3)]
    assert [store.try_acquire(site, False, WINDOWS, ticket, 30.0) for ticket in tickets] == [0, 0, 0]
    assert store.try_acquire(site, False, WINDOWS) > 25  # held while in flight, past the 1 s window
    time.sleep(0.3)
    for ticket in tickets:  # the answers are in
        store.sent(site, ticket)
    # Counted from the answers: a full window from now, not from the admissions 0.3 s ago.
    assert 0.9 < store.try_acquire(site, False, WINDOWS) <= 1.0


def test_sites_do_not_share_a_budget(store):
    one, two = (f"http://127.0.0.1:1/{name}-{time.time_ns()}" for name in ("one", "two"))
    for _ in range(3):
        store.try_acquire(one, False, WINDOWS)
    assert store.try_acquire(one, False, WINDOWS) > 0
    assert store.try_acquire(two, False, WINDOWS) == 0


# --- acquire: sleep when short, say so when long, refuse past max_wait ------------------------------


@override_settings(ISSUETRAK_RATE_SHARE=1.0, ISSUETRAK_RATE_LIMITS="", ISSUETRAK_RATE_TIME_SCALE=1.0)
def test_acquire_sleeps_tells_the_run_and_gives_up_past_max_wait():
    site = "https://busy.example.com"
    notes, slept = [], []
    store = MemoryStore()
    site_limits.install(store)
    store.set_backoff(site, 5)
    with site_limits.reporting(notes.append):
        with pytest.raises(SiteBusy, match="next slot in 5 s"):
            site_limits.acquire(site, max_wait=3)

        def sleep(seconds):
            slept.append(seconds)
            store.reset()

        assert site_limits.acquire(site, max_wait=10, sleep=sleep) == pytest.approx(5, abs=0.1)
    assert slept and notes == ["queued behind the site's rate limit, next slot in 5 s",
                               "queued behind the site's rate limit, next slot in 5 s", ""]


# --- Through the client, against the simulator ----------------------------------------------------

SCALE = 3600.0  # the 10-minute window lasts 1/6 s, the hour 1 s


@pytest.fixture
def scaled_sim():
    with IssuetrakSimulator(time_scale=SCALE) as sim:
        yield sim


def test_the_client_keeps_a_site_within_the_share_of_every_window(scaled_sim, settings):
    settings.ISSUETRAK_RATE_SHARE, settings.ISSUETRAK_RATE_TIME_SCALE = 0.2, SCALE
    settings.ISSUETRAK_RATE_LIMITS = ""
    url = scaled_sim.site_url("healthy")
    started = time.monotonic()
    with IssuetrakClient(url, GOOD_TOKEN) as client:
        answers = [client.system_settings() for _ in range(45)]
    assert all(answer.ok for answer in answers)
    stats = scaled_sim.rate_stats()["sites"][url]
    assert stats["requests"] == 45 and stats["refused"] == 0
    assert scaled_sim.windows_over(0.2) == []
    # 20 per (10 minutes / SCALE): the 41st call cannot start before two windows have passed.
    assert time.monotonic() - started >= 2 * 600 / SCALE


def test_a_429_backs_off_every_client_of_the_site_for_its_retry_after(scaled_sim, settings, make_connection):
    settings.ISSUETRAK_RATE_SHARE, settings.ISSUETRAK_RATE_TIME_SCALE = 1.0, 1.0
    settings.ISSUETRAK_RATE_MAX_WAIT_S = 10
    url = scaled_sim.site_url("healthy")
    scaled_sim.set_rate_limits("healthy", per_10_minutes=2)  # Zapier took the rest meanwhile
    with IssuetrakClient(url, GOOD_TOKEN) as first:
        assert first.system_settings().ok and first.system_settings().ok
        refused = first.system_settings()  # 429, Retry-After 1 s (scaled window): retried once
    assert refused.ok
    assert scaled_sim.rate_stats()["sites"][url]["refused"] == 1
    scaled_sim.set_rate_limits("healthy", per_10_minutes=100)
    connection = make_connection(base_url=url, token=GOOD_TOKEN)
    run = ChecklistRun.start(connection, trigger="cli")
    site_limits.current_store().set_backoff(site_limits.site_key(url), 3)
    started = time.monotonic()
    run.execute()
    assert time.monotonic() - started >= 2.9  # it waited rather than sending
    assert scaled_sim.rate_stats()["sites"][url]["refused"] == 1
    run.refresh_from_db()
    assert run.rate_note == ""  # the wait is over; nothing left to say


def test_a_wait_past_the_limit_leaves_the_run_saying_it_is_queued(simulator, settings, make_connection,
                                                                   sam_client):
    settings.ISSUETRAK_RATE_MAX_WAIT_S = 5
    url = simulator.site_url("healthy")
    site_limits.current_store().set_backoff(site_limits.site_key(url), 600)
    connection = make_connection(base_url=url, token=GOOD_TOKEN)
    run = ChecklistRun.start(connection, trigger="cli")
    run.execute()
    run.refresh_from_db()
    assert run.rate_note == "queued behind the site's rate limit, next slot in 10 min"
    page = sam_client.get(reverse("connections:run", args=[connection.public_id, run.public_id]))
    note = "Rate limit: queued behind the site&#x27;s rate limit, next slot in 10 min."
    assert note in page.content.decode()
    assert run.overall != "pass"
    assert url not in simulator.rate_stats()["sites"]  # nothing was sent
