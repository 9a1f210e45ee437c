"""Tiny throwaway servers on real sockets, for testing the Issuetrak client without mocks.

- `ScriptedServer`: an HTTP server answering each path with scripted replies, recording requests.
- `RawServer`: a bare TCP server whose per-connection behaviour is a function (silence, trickle).
- `self_signed_cert`: a certificate and key (made by the simulator's helper), for https servers.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from connections.simulator.tls import write_self_signed


@dataclass
class Reply:
    """One scripted answer; a dict or list body is sent as JSON."""

    status: int = 200
    body: bytes | str | dict | list = b""
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        body = self.body
        if isinstance(body, dict | list):
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        if isinstance(body, str):
            body = body.encode()
            headers.setdefault("Content-Type", "text/html; charset=utf-8")
        return body, headers


@dataclass
class Seen:
    """A request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ScriptedHTTPServer

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        seen = Seen(self.command, self.path, dict(self.headers), self.rfile.read(length))
        self.server.seen.append(seen)
        reply = self.server.reply_for(self.path)
        body, headers = reply.encoded()
        self.send_response(reply.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args):  # keep test output quiet
        pass


class _ScriptedHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, routes, ssl_context):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes = {path: list(r) if isinstance(r, list) else [r] for path, r in routes.items()}
        self.ssl_context = ssl_context
        self.seen: list[Seen] = []
        self.lock = threading.Lock()

    def reply_for(self, path: str) -> Reply:
        """The next scripted reply for a path (the last one repeats); an HTML 404 if unscripted."""
        with self.lock:
            replies = self.routes.get(path) or self.routes.get(path.split("?")[0])
            reply = (replies.pop(0) if len(replies) > 1 else replies[0]) if replies else None
            return reply or Reply(404, "<html><title>No route</title></html>")

    def get_request(self):
        sock, address = super().get_request()
        if self.ssl_context:
            # Handshake later, in the handler thread, so a client that gives up cannot block us.
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request, client_address):  # failed handshakes are expected
        pass


class ScriptedServer:
    """An HTTP(S) server on 127.0.0.1:<free port>, answering from `routes`: path → Reply(s)."""

    def __init__(self, routes: dict[str, Reply | list[Reply]], ssl_context: ssl.SSLContext | None = None):
        self._server = _ScriptedHTTPServer(routes, ssl_context)
        self.port = self._server.server_address[1]
        scheme = "https" if ssl_context else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        # A short poll interval makes shutdown quick: tests start many servers.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def seen(self) -> list[Seen]:
        return self._server.seen

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._server.shutdown()
        self._server.server_close()


class RawServer:
    """A TCP server on 127.0.0.1 that runs `behaviour(conn, stop_event)` for each connection."""

    def __init__(self, behaviour):
        self._behaviour = behaviour
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.stop = threading.Event()
        self._connections: list[socket.socket] = []

    def _accept_loop(self):
        while not self.stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._connections.append(conn)
            threading.Thread(target=self._behaviour, args=(conn, self.stop), daemon=True).start()

    def __enter__(self) -> RawServer:
        threading.Thread(target=self._accept_loop, daemon=True).start()
        return self

    def __exit__(self, *exc_info):
        self.stop.set()
        self._listener.close()
        for conn in self._connections:
            conn.close()


def silent(conn: socket.socket, stop: threading.Event):
    """Accept, then never answer."""
    stop.wait()


def trickle(conn: socket.socket, stop: threading.Event, interval: float = 0.5):
    """Send a 200 header promising a large body, then one byte every `interval` seconds."""
    _read_request_head(conn)
    try:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
        while not stop.wait(interval):
            conn.sendall(b" ")
    except OSError:
        pass  # the client hung up, as it should


def trickle_headers(conn: socket.socket, stop: threading.Event, interval: float = 1.0):
    """Answer every request with headers sent one byte every `interval` seconds, forever."""
    _read_request_head(conn)
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + b"X-Slow: " + b"z" * 100_000
    try:
        for byte in head:
            if stop.wait(interval):
                return
            conn.sendall(bytes([byte]))
    except OSError:
        pass  # the client hung up, as it should


def _read_request_head(conn: socket.socket):
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(4096)
        if not piece:
            return
        data += piece


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def self_signed_cert(folder: Path, names: list[str]) -> tuple[Path, Path]:
    """Write a self-signed certificate (its own CA) for `names` (DNS names or IPs); return paths.

    The simulator's certificate maker, with other names.
    """
    return write_self_signed(folder / f"{names[0]}.crt", folder / f"{names[0]}.key", names,
                             ca=True, days=30)


def server_tls_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context
