"""The outbound policy: which addresses and ports this server connects to, checked on the address
actually connected to, before any byte is sent (real sockets that record what reaches them)."""

import contextlib
import datetime as dt
import logging
import socket
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse
from django.utils import timezone

from connections import expiry, webhook
from connections.issuetrak import IssuetrakClient, Outcome
from connections.issuetrak.policy import OutboundPolicy, PolicyRefused
from connections.models import ChecklistRun, Notice
from tests.conftest import SECRET_TOKEN
from tests.http_fixtures import Reply, ScriptedServer


class Listener:
    """A TCP listener on `host` that records every connection and every byte it receives."""

    def __init__(self, host="127.0.0.1", port=0):
        self._sock = socket.create_server((host, port))
        self.port = self._sock.getsockname()[1]
        self.connections = 0
        self.received = b""
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.settimeout(0.5)
            with contextlib.suppress(OSError):
                self.received += conn.recv(65536)
            conn.close()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._sock.close()


@pytest.fixture
def default_policy(settings):
    """The policy as shipped: no extra networks, ports 80 and 443 only."""
    settings.ISSUETRAK_ALLOWED_NETWORKS = ""
    settings.ISSUETRAK_ALLOWED_PORTS = ""


@pytest.mark.parametrize("address, kind", [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"), ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("0.0.0.0", "unspecified"), ("0.1.2.3", "unspecified"), ("::", "unspecified"),
    ("224.0.0.1", "multicast"), ("ff02::1", "multicast"), ("240.0.0.1", "reserved"),
    ("100.64.0.1", "special-purpose"), ("192.0.2.10", "special-purpose"),
])
def test_refused_addresses_name_their_kind_and_the_setting(address, kind):
    with pytest.raises(PolicyRefused, match=f"{kind}.*ISSUETRAK_ALLOWED_NETWORKS"):
        OutboundPolicy().check_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "10.1.2.3", "172.16.0.9",
                                     "172.31.255.254", "192.168.1.20", "fd12:3456::1"])
def test_public_and_private_addresses_are_allowed(address):
    OutboundPolicy().check_address(address)


def test_listed_networks_and_ports_widen_the_policy():
    policy = OutboundPolicy.parse(" 127.0.0.1/32, 169.254.0.0/16 ", "8080, 8443")
    policy.check_address("127.0.0.1")
    policy.check_address("::ffff:127.0.0.1")
    policy.check_address("169.254.169.254")
    with pytest.raises(PolicyRefused):
        policy.check_address("127.0.0.2")
    policy.check_port(8443)
    policy.check_port(443)
    with pytest.raises(PolicyRefused, match="port 6379.*ISSUETRAK_ALLOWED_PORTS"):
        policy.check_port(6379)
    OutboundPolicy.parse("", "*").check_port(6379)


@pytest.mark.parametrize("networks, ports, setting", [
    ("127.0.0.1/33", "", "ISSUETRAK_ALLOWED_NETWORKS"), ("intranet", "", "ISSUETRAK_ALLOWED_NETWORKS"),
    ("", "http", "ISSUETRAK_ALLOWED_PORTS"), ("", "70000", "ISSUETRAK_ALLOWED_PORTS"),
])
def test_unreadable_settings_stop_the_start_up(settings, networks, ports, setting):
    settings.ISSUETRAK_ALLOWED_NETWORKS, settings.ISSUETRAK_ALLOWED_PORTS = networks, ports
    with pytest.raises(SystemCheckError, match=setting):
        call_command("check")


def test_a_refused_loopback_address_gets_no_connection_and_no_byte(default_policy, settings):
    settings.ISSUETRAK_ALLOWED_PORTS = "*"  # only the address stands in the way
    with Listener() as redis_like:
        result = IssuetrakClient(f"http://127.0.0.1:{redis_like.port}", SECRET_TOKEN).authenticate_test()
        by_name = IssuetrakClient(f"http://localhost:{redis_like.port}", SECRET_TOKEN).system_settings()
    assert result.outcome is Outcome.BLOCKED
    assert "loopback" in result.message and "ISSUETRAK_ALLOWED_NETWORKS" in result.message
    assert by_name.outcome is Outcome.BLOCKED and "localhost resolves to" in by_name.message
    assert redis_like.connections == 0 and redis_like.received == b""


def test_a_port_other_than_80_and_443_needs_the_ports_setting(default_policy, settings):
    settings.ISSUETRAK_ALLOWED_NETWORKS = "127.0.0.0/8"
    with Listener() as postgres_like:
        result = IssuetrakClient(f"http://127.0.0.1:{postgres_like.port}", SECRET_TOKEN).authenticate_test()
        assert result.outcome is Outcome.BLOCKED and "ISSUETRAK_ALLOWED_PORTS" in result.message
        assert postgres_like.connections == 0

        settings.ISSUETRAK_ALLOWED_PORTS = str(postgres_like.port)
        IssuetrakClient(f"http://127.0.0.1:{postgres_like.port}", SECRET_TOKEN).authenticate_test()
    assert postgres_like.connections == 1  # listed: now it is reached


def test_the_socket_goes_to_the_checked_address_not_a_second_lookup(default_policy, settings, monkeypatch):
    """DNS rebinding: the name resolves to an allowed address once, then to a refused one."""
    settings.ISSUETRAK_ALLOWED_NETWORKS = "127.0.0.2/32"
    settings.ISSUETRAK_ALLOWED_PORTS = "*"
    real_getaddrinfo = socket.getaddrinfo
    lookups = []

    def rebinding(host, port, *args, **kwargs):
        if host != "rebind.example":
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        address = "127.0.0.2" if len(lookups) == 1 else "127.0.0.1"
        return real_getaddrinfo(address, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with Listener("127.0.0.1") as victim, Listener("127.0.0.2", victim.port) as site:
        IssuetrakClient(f"http://rebind.example:{victim.port}", SECRET_TOKEN).authenticate_test()
    assert site.connections == 1 and b"Host: rebind.example" in site.received
    assert victim.connections == 0 and len(lookups) == 1


def test_a_redirect_target_obeys_the_policy(default_policy, settings):
    """http → https on the same host may change the port; the new port is checked too."""
    with Listener() as elsewhere:
        target = f"https://127.0.0.1:{elsewhere.port}/api/v2/Authenticate/test"
        routes = {"/api/v2/Authenticate/test": Reply(302, "", {"Location": target})}
        with ScriptedServer(routes) as site:
            settings.ISSUETRAK_ALLOWED_NETWORKS = "127.0.0.1/32"
            settings.ISSUETRAK_ALLOWED_PORTS = str(site.port)
            result = IssuetrakClient(site.url, SECRET_TOKEN).authenticate_test()
    assert len(site.seen) == 1  # the first hop was allowed and made
    assert result.outcome is Outcome.BLOCKED and f"port {elsewhere.port}" in result.message
    assert elsewhere.connections == 0


def test_the_reachable_step_fails_naming_the_setting_and_nothing_is_sent(
    default_policy, sam_client, make_connection, django_capture_on_commit_callbacks,
):
    with Listener() as internal:
        zapier = make_connection(base_url="http://127.0.0.1", token="good-token")
        with django_capture_on_commit_callbacks(execute=True):
            sam_client.post(reverse("connections:check", args=[zapier.public_id]))
    step = ChecklistRun.objects.get().result_of("reachable")
    assert step.status == "fail"
    assert "ISSUETRAK_ALLOWED_NETWORKS" in step.message and "ISSUETRAK_ALLOWED_NETWORKS" in step.fix
    assert internal.connections == 0


def test_the_webhook_obeys_the_same_policy(default_policy, settings, make_connection, monkeypatch,
                                          caplog):
    monkeypatch.setattr(webhook.time, "sleep", lambda s: None)
    caplog.set_level(logging.INFO)
    make_connection("Zapier", expires_on=timezone.localdate() + dt.timedelta(days=3))
    with Listener() as internal:
        settings.ISSUETRAK_ALLOWED_PORTS = str(internal.port)
        settings.EXPIRY_WEBHOOK_URL = f"http://127.0.0.1:{internal.port}/hook"
        expiry.scan()
    assert Notice.objects.get(channel="webhook").sent_at is None
    assert "webhook attempt 1 failed: blocked" in caplog.text
    assert internal.connections == 0
