"""A whole checklist run ends within ISSUETRAK_CHECKLIST_BUDGET_S, and reads a bounded number of
groups; against a real simulator whose answers are slow."""

import time

import pytest

from connections.checklist import STEP_KEYS, run_checklist
from connections.checklist.site_steps import MAX_GROUPS_READ
from connections.simulator import IssuetrakSimulator
from connections.simulator.scenarios import SCENARIOS
from tests.test_checklist_scenarios import subject_for

ROOMY = {"per_second": 1000, "per_minute": 10000, "per_10_minutes": 10000, "per_hour": 10000,
         "per_12_hours": 10000}


def _slow_groups(latency: float) -> dict:
    """The built-in slow-groups site with another latency and roomy rate limits."""
    site = next(s for s in SCENARIOS if s["name"] == "slow-groups")
    return {**site, "flags": {**site["flags"], "latency_seconds": latency}, "rate_limits": ROOMY}


@pytest.fixture(scope="module")
def slow_sim():
    with IssuetrakSimulator(extra_sites=[_slow_groups(0.25)]) as sim:
        yield sim


@pytest.fixture(scope="module")
def quick_sim():
    with IssuetrakSimulator(extra_sites=[_slow_groups(0.0)]) as sim:
        yield sim


def test_a_slow_site_ends_within_the_budget_and_the_rest_say_so(slow_sim, settings):
    settings.ISSUETRAK_TIMEOUT_S = 1
    settings.ISSUETRAK_CHECKLIST_BUDGET_S = 2
    started = time.monotonic()
    results = run_checklist(subject_for(slow_sim, "slow-groups"))
    elapsed = time.monotonic() - started

    assert elapsed < 3
    assert [r.key for r in results] == list(STEP_KEYS)  # the run finishes: every step has a result
    by_key = {r.key: r for r in results}
    assert str(by_key["token_admin"].status) == "error"
    assert "time budget (2 s) ran out" in by_key["token_admin"].message
    assert "ISSUETRAK_CHECKLIST_BUDGET_S" in by_key["token_admin"].fix
    assert str(by_key["expiration_set"].status) == "pass"  # recorded steps cost nothing


def test_a_call_cut_by_the_budget_gets_less_than_its_timeout(slow_sim, settings):
    settings.ISSUETRAK_TIMEOUT_S = 10
    started = time.monotonic()
    results = run_checklist(subject_for(slow_sim, "slow-groups"), budget_s=0.6)
    assert time.monotonic() - started < 1.6
    errors = [r for r in results if str(r.status) == "error"]
    assert errors and all("time budget (0.6 s) ran out" in r.message for r in errors)


def test_reading_groups_stops_at_the_first_twenty_and_says_so(quick_sim, settings):
    settings.ISSUETRAK_TIMEOUT_S = 5
    results = run_checklist(subject_for(quick_sim, "slow-groups"))
    admin = {r.key: r for r in results}["token_admin"]

    assert MAX_GROUPS_READ == 20
    assert f"first {MAX_GROUPS_READ} of 100 groups" in admin.message
    assert str(admin.status) == "warn"  # the IsAdmin group is the 100th: not read, so not failed
    assert len(admin.details["groups"]) == MAX_GROUPS_READ
    assert admin.details["groups_held"] == 100
    # authenticate, settings, search (which decides the user), memberships, then 20 groups: nothing more
    requests = quick_sim.rate_stats()["sites"][quick_sim.site_url("slow-groups")]["requests"]
    assert requests == 4 + MAX_GROUPS_READ
