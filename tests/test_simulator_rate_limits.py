"""The simulator enforces Issuetrak's six stacked rate-limit windows per site and reports peaks.

Window semantics are checked on the limiter with a hand-turned clock (hours cannot be waited
for); what a client sees and reads back goes over a real socket.
"""

import json
import time

import pytest
import requests

from connections.simulator import IssuetrakSimulator
from connections.simulator.ratelimit import WINDOW_NAMES, RateLimiter
from connections.simulator.sites import SiteFileError

GOOD = {"X-Api-Key": "good-token"}
ACME = {
    "name": "acme",
    "users": [{"iid": 40, "id": "zap", "displayName": "Zap, Integration", "isSysAdmin": True}],
    "tokens": {"acme-token": 40, "zapier-token": 40},
    "rate_limits": {"per_minute": 3},
}


class Clock:
    """A clock the test turns by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def send(limiter, clock, count, every, method="GET", site="s", limits=None):
    """`count` requests `every` seconds apart; the answers of `admit` (None or Retry-After)."""
    answers = []
    for _ in range(count):
        limiter.receive(site, method)
        answers.append(limiter.admit(site, method, limits))
        clock.now += every
    return answers


# (window, requests allowed, spacing in s, overrides, Retry-After of the first refusal)
WINDOW_TABLE = [
    ("per_second", 20, 0.0, None, 1),
    ("writes_per_second", 5, 0.0, None, 1),
    ("per_minute", 100, 0.5, {"per_10_minutes": 10_000}, 10),  # 100 in 50 s; the first leaves at 60 s
    ("per_10_minutes", 100, 1.0, None, 500),          # 100 in 100 s; the first leaves at 600 s
    ("per_hour", 1000, 1.0, {"per_10_minutes": 10**4, "per_minute": 10**4, "per_12_hours": 10**4}, 2600),
    ("per_12_hours", 1000, 7.0, None, 36200),         # 1000 in 7000 s; the first leaves at 43,200 s
]  # fmt: skip


@pytest.mark.parametrize(("window", "allowed", "every", "limits", "retry_after"), WINDOW_TABLE)
def test_each_window_refuses_the_request_beyond_its_limit(window, allowed, every, limits, retry_after):
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    method = "POST" if window == "writes_per_second" else "GET"

    answers = send(limiter, clock, allowed + 1, every, method, limits=limits)

    assert answers[:allowed] == [None] * allowed
    assert answers[allowed] == retry_after
    assert limiter.stats("s")["peaks"][window] == allowed + 1  # the refused one was received too


def test_the_table_covers_all_six_windows():
    assert sorted(row[0] for row in WINDOW_TABLE) == sorted(WINDOW_NAMES)


def test_writes_have_their_own_window_and_reads_pass_meanwhile():
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    assert send(limiter, clock, 6, 0.0, "PUT")[-1] == 1
    assert limiter.admit("s", "GET") is None
    stats = limiter.stats("s")
    assert (stats["requests"], stats["writes"], stats["peaks"]["writes_per_second"]) == (6, 6, 6)


def test_the_peak_is_over_sliding_windows_not_clock_aligned_buckets():
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    for at in (0.0, 0.9, 1.5, 1.8, 3.5):  # buckets [0,1) and [1,2) hold 2 each; (0.8, 1.8] holds 3
        clock.now = 1000.0 + at
        limiter.receive("s", "GET")
    assert limiter.stats("s")["peaks"]["per_second"] == 3
    assert limiter.stats("s")["peaks"]["per_minute"] == 5


def test_time_scale_shortens_every_window():
    clock = Clock()
    limiter = RateLimiter(time_scale=600, clock=clock)
    assert send(limiter, clock, 101, 0.001)[-1] == 1  # 100 per 10 minutes, now per second
    clock.now += 1.0
    assert limiter.admit("s", "GET") is None
    assert limiter.window_seconds()["per_12_hours"] == 72.0


# --- over a socket ------------------------------------------------------------------------------

@pytest.fixture
def sim():
    with IssuetrakSimulator(extra_sites=[ACME]) as simulator:
        yield simulator


def get(sim, site, token="good-token"):
    return requests.get(f"{sim.site_url(site)}/api/v2/Authenticate/test", headers={"X-Api-Key": token},
                        timeout=5)


def test_all_tokens_of_a_site_share_its_limits(sim):
    assert [get(sim, "acme", "acme-token").status_code for _ in range(3)] == [200] * 3

    refused = get(sim, "acme", "zapier-token")

    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert get(sim, "healthy").status_code == 200  # another site (same host) has its own budget


def test_stats_report_each_site_by_application_url_with_peaks_and_refusals(sim):
    for _ in range(5):
        get(sim, "acme", "acme-token")
    requests.post(f"{sim.site_url('healthy')}/api/v2/Users/Search", headers=GOOD, json={}, timeout=5)
    get(sim, "no-such-site")  # the web server's 404: no site, nothing counted

    answer = requests.get(f"{sim.root_url}/_sim/stats", timeout=5)

    assert answer.status_code == 200
    document = answer.json()
    assert set(document["sites"]) == {sim.site_url("acme"), sim.site_url("healthy")}
    acme = document["sites"][sim.site_url("acme")]
    assert (acme["requests"], acme["writes"], acme["refused"]) == (5, 0, 2)
    assert acme["peaks"]["per_minute"] == 5 and acme["peaks"]["per_12_hours"] == 5
    assert acme["limits"]["per_minute"] == 3 and acme["limits"]["per_10_minutes"] == 100
    healthy = document["sites"][sim.site_url("healthy")]
    assert healthy["peaks"]["writes_per_second"] == 1 and healthy["writes"] == 1
    assert document["window_seconds"]["per_10_minutes"] == 600
    assert document == json.loads(json.dumps(sim.rate_stats()))
    assert sim.windows_over() == [(sim.site_url("acme"), "per_minute", 5, 3.0)]


def test_peak_reads_one_window_of_one_site_by_name_or_url(sim):
    for _ in range(4):
        get(sim, "healthy")
    assert sim.peak("healthy", "per_10_minutes") == 4
    assert sim.peak(sim.site_url("healthy"), "per_second") >= 1
    assert sim.peak("acme", "per_hour") == 0
    with pytest.raises(ValueError, match="per_10_minutes"):
        sim.peak("healthy", "per_day")
    with pytest.raises(ValueError, match="not a site of this simulator"):
        sim.peak("http://elsewhere.invalid/healthy", "per_second")


def test_reset_forgets_counts_and_peaks_in_process_and_over_http(sim):
    for _ in range(4):
        get(sim, "acme", "acme-token")
    assert get(sim, "acme", "acme-token").status_code == 429

    assert requests.get(f"{sim.root_url}/_sim/reset", timeout=5).status_code == 405
    assert requests.post(f"{sim.root_url}/_sim/reset", timeout=5).json() == {"reset": True}

    assert sim.rate_stats()["sites"] == {}
    assert get(sim, "acme", "acme-token").status_code == 200
    sim.reset_rate_limits()
    assert sim.peak("acme", "per_minute") == 0


def test_an_unknown_simulator_route_says_which_exist(sim):
    answer = requests.get(f"{sim.root_url}/_sim/peaks", timeout=5)
    assert answer.status_code == 404
    assert "/stats" in answer.json()["error"]


def test_limits_change_per_site_from_the_next_request(sim):
    sim.set_rate_limits("healthy", per_minute=1)
    assert [get(sim, "healthy").status_code for _ in range(2)] == [200, 429]
    with pytest.raises(ValueError, match="positive integer"):
        sim.set_rate_limits("healthy", per_minute=0)
    with pytest.raises(ValueError, match="per_fortnight"):
        sim.set_rate_limits("healthy", per_fortnight=5)


def test_the_always_429_scenario_counts_as_received_and_refused(sim):
    get(sim, "rate-limited")
    stats = sim.rate_stats()["sites"][sim.site_url("rate-limited")]
    assert (stats["requests"], stats["refused"]) == (1, 1)


def test_a_scaled_window_lets_the_next_request_in_after_retry_after():
    site = {**ACME, "rate_limits": {"per_10_minutes": 2}}
    with IssuetrakSimulator(extra_sites=[site], time_scale=600) as sim:
        assert [get(sim, "acme", "acme-token").status_code for _ in range(2)] == [200, 200]
        refused = get(sim, "acme", "acme-token")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "1"
        assert sim.rate_stats()["time_scale"] == 600

        time.sleep(1.2)
        assert get(sim, "acme", "acme-token").status_code == 200


def test_stats_outlive_stop_so_a_benchmark_can_read_them_afterwards():
    with IssuetrakSimulator() as sim:
        get(sim, "healthy")
        url = sim.site_url("healthy")
    assert sim.rate_stats()["sites"][url]["requests"] == 1


@pytest.mark.parametrize(("rate_limits", "complaint"), [
    ({"per_day": 10}, "per_day"),
    ({"per_minute": 0}, "positive integer"),
    ({"per_minute": True}, "positive integer"),
    ({"per_minute": "10"}, "positive integer"),
])  # fmt: skip
def test_a_sites_file_with_bad_rate_limits_is_refused(rate_limits, complaint):
    with pytest.raises(SiteFileError, match=complaint):
        IssuetrakSimulator(extra_sites=[{**ACME, "rate_limits": rate_limits}])


def test_site_names_may_not_take_the_simulators_own_prefix():
    with pytest.raises(SiteFileError, match="may not start with '_'"):
        IssuetrakSimulator(extra_sites=[{**ACME, "name": "_sim"}])


def test_the_command_takes_a_time_scale():
    from django.core.management.base import CommandError

    from connections.management.commands.issuetrak_simulator import Command, build_simulator

    parser = Command().create_parser("manage.py", "issuetrak_simulator")
    simulator = build_simulator(**vars(parser.parse_args(["--port", "0", "--time-scale", "600"])))
    assert simulator.limiter.window_seconds()["per_10_minutes"] == 1.0
    with pytest.raises(CommandError, match="--time-scale must be positive"):
        build_simulator(**vars(parser.parse_args(["--port", "0", "--time-scale", "0"])))


def test_windows_over_names_each_window_past_a_share_of_its_limit(sim):
    for _ in range(21):
        get(sim, "healthy")  # 21 within a minute: a fifth of 100 is 20

    over = sim.windows_over(0.2)

    url = sim.site_url("healthy")
    assert (url, "per_minute", 21, 20.0) in over and (url, "per_10_minutes", 21, 20.0) in over
    assert [w for _, w, _, _ in over if w in ("per_hour", "per_12_hours")] == []  # 21 of 1000
