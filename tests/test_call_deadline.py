"""One deadline per call, whatever the server does: trickled headers, a trickled TLS handshake,
a kept-alive connection that starts trickling. Real servers on real sockets."""

import os
import socket
import threading
import time

from connections.issuetrak import IssuetrakClient, Outcome
from tests.conftest import SECRET_TOKEN
from tests.http_fixtures import RawServer, _read_request_head, trickle_headers


def _timed(base_url, timeout, method="system_settings"):
    started = time.monotonic()
    with IssuetrakClient(base_url, SECRET_TOKEN, timeout=timeout) as client:
        result = getattr(client, method)()
    return result, time.monotonic() - started


def test_headers_trickled_one_byte_a_second_end_at_the_deadline():
    with RawServer(trickle_headers) as site:
        result, elapsed = _timed(site.url, timeout=2)
    assert result.outcome == Outcome.TIMEOUT
    assert "timed out" in result.message and "2 s" in result.message
    assert 1.9 < elapsed < 3


def _trickled_tls(conn: socket.socket, stop: threading.Event):
    """Read the ClientHello, then send a TLS record header promising 16 KB, one byte a second."""
    conn.recv(65536)
    try:
        conn.sendall(b"\x16\x03\x03\x40\x00")
        while not stop.wait(1.0):
            conn.sendall(b"\x00")
    except OSError:
        pass


def test_a_trickled_tls_handshake_ends_at_the_deadline():
    with RawServer(_trickled_tls) as site:
        result, elapsed = _timed(site.url.replace("http://", "https://"), timeout=2)
    assert result.outcome == Outcome.TIMEOUT
    assert elapsed < 3


def _fine_then_trickle(conn: socket.socket, stop: threading.Event):
    """Answer the first request properly on a kept-alive connection, then trickle the second."""
    _read_request_head(conn)
    body = b'{"values": {}}'
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                 + str(len(body)).encode() + b"\r\n\r\n" + body)
    trickle_headers(conn, stop, interval=0.5)


def test_a_reused_kept_alive_connection_is_bounded_too():
    with RawServer(_fine_then_trickle) as site, \
            IssuetrakClient(site.url, SECRET_TOKEN, timeout=1.5) as client:
        first = client.system_settings()
        started = time.monotonic()
        second = client.system_settings()
        elapsed = time.monotonic() - started
    assert first.ok
    assert second.outcome == Outcome.TIMEOUT
    assert elapsed < 2.5


def test_calls_leave_no_descriptors_behind():
    def answer(conn, stop):
        while True:
            _read_request_head(conn)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\n" + b'{"values": {}}')
            except OSError:
                return

    before = len(os.listdir("/proc/self/fd"))
    with RawServer(answer) as site:
        for _ in range(20):
            with IssuetrakClient(site.url, SECRET_TOKEN, timeout=2) as client:
                assert client.system_settings().ok
    time.sleep(0.1)
    assert len(os.listdir("/proc/self/fd")) <= before + 2
