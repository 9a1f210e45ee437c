"""The simulator's latency: every site's answer is delayed, as by a server across the internet."""

import time

import pytest
import requests

from connections.simulator import GOOD_TOKEN, IssuetrakSimulator


def test_latency_delays_every_answer_but_not_the_simulators_own_routes():
    with IssuetrakSimulator(latency_seconds=0.3) as sim:
        started = time.monotonic()
        answer = requests.get(f"{sim.site_url('healthy')}/api/v2/Authenticate/test",
                              headers={"X-Api-Key": GOOD_TOKEN}, timeout=5)
        delayed = time.monotonic() - started
        started = time.monotonic()
        requests.get(f"{sim.root_url}/_sim/stats", timeout=5).raise_for_status()
        own = time.monotonic() - started
    assert answer.status_code == 200
    assert delayed >= 0.3 > own


def test_the_command_takes_a_latency():
    from django.core.management.base import CommandError

    from connections.management.commands.issuetrak_simulator import Command, build_simulator

    parser = Command().create_parser("manage.py", "issuetrak_simulator")
    simulator = build_simulator(**vars(parser.parse_args(["--port", "0", "--latency-ms", "50"])))
    assert simulator.latency_seconds == 0.05
    with pytest.raises(CommandError, match="--latency-ms must not be negative"):
        build_simulator(**vars(parser.parse_args(["--port", "0", "--latency-ms", "-1"])))
