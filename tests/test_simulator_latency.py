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


def test_a_burst_of_new_connections_is_queued_while_the_accept_loop_is_busy():
    import socket

    from connections.simulator.server import _Server

    server = _Server(("127.0.0.1", 0), IssuetrakSimulator()._app)  # bound, listening, not accepting
    clients = []
    try:
        for _ in range(64):
            client = socket.socket()
            client.settimeout(0.5)
            client.connect(server.server_address)  # a dropped SYN would time out here
            clients.append(client)
    finally:
        for client in clients:
            client.close()
        server.server_close()
    assert len(clients) == 64
