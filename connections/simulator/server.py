"""The simulator on a real socket: `IssuetrakSimulator` and its HTTP plumbing.

One `ThreadingHTTPServer`, one thread per connection (daemon threads, and `stop()` never waits
for them), optionally TLS with a self-signed certificate. Log lines carry the method, site,
path and status only: never a header, so never a token.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import ssl
import tempfile
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from connections.simulator.app import SimulatedIssuetrak
from connections.simulator.ratelimit import WINDOW_NAMES, RateLimiter
from connections.simulator.replies import Reply, error
from connections.simulator.scenarios import INTEGRATION_IID, builtin_sites
from connections.simulator.sites import SiteFileError, merge_sites, parse_sites, site_from_dict
from connections.simulator.stats import rate_stats, windows_over
from connections.simulator.tls import ensure_certificate

logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024


class IssuetrakSimulator:
    """Issuetrak API v2 sites on one local port. Use `start()`/`stop()` or ``with``.

    `time_scale` shortens every rate-limit window (600: the 10-minute window lasts one second);
    `latency_seconds` delays every site's answer, like a server across the internet.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, tls: bool = False,
                 cert_dir: str | Path | None = None, extra_sites: list[dict[str, Any]] | None = None,
                 slow_seconds: float = 30.0, time_scale: float = 1.0, latency_seconds: float = 0.0):
        self.host, self.tls, self.slow_seconds = host, tls, slow_seconds
        self.latency_seconds = latency_seconds
        self._requested_port = port
        self._cert_dir = Path(cert_dir) if cert_dir is not None else None  # None: a temporary one
        self._stopping = threading.Event()
        # Sites are checked here, so a bad sites file fails before anything listens. The app
        # reads this very dict, so replacing a site changes what it serves from the next request.
        self.sites = merge_sites(builtin_sites(), parse_sites(extra_sites or []))
        self.limiter = RateLimiter(time_scale)
        self._app = self._new_app()
        self._server: _Server | None = None
        self._last_port: int | None = None  # kept after stop(), so stats still name their sites
        self._thread: threading.Thread | None = None
        self._temp_dir: tempfile.TemporaryDirectory | None = None
        self.cert_path: Path | None = None

    def start(self) -> IssuetrakSimulator:
        """Bind, serve in a background thread, and return self."""
        if self._server is not None:
            raise RuntimeError("The simulator is already running.")
        server = _Server((self.host, self._requested_port), self._app)
        try:
            if self.tls:
                server.socket = self._tls_context().wrap_socket(
                    server.socket, server_side=True, do_handshake_on_connect=False
                )
        except BaseException:
            server.server_close()
            raise
        self._server = server
        self._last_port = server.server_address[1]
        # A short poll interval: shutdown() waits up to one interval for serve_forever to notice.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="issuetrak-simulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop promptly: slow requests in flight are dropped, open connections closed."""
        if self._server is None:
            return
        self._stopping.set()  # wakes slow handlers, which then drop their request
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = self._thread = None
        if self._temp_dir is not None:
            self._temp_dir.cleanup()
            self._temp_dir = None
        self._stopping = threading.Event()
        self._app = self._new_app()

    def add_token(self, site: str, token: str, user_iid: int = INTEGRATION_IID) -> None:
        """Make `token` valid on `site` for a user (default ``integration``), as creating one does.

        Takes effect from the next request; handy for rotation tests (a new token that works).
        """
        current = self.sites[site]
        if current.user(user_iid) is None:
            raise ValueError(f"site {site!r} has no user with iid {user_iid}")
        tokens = {**current.tokens, token: user_iid}
        revoked = tuple(t for t in current.revoked_tokens if t != token)
        self.sites[site] = replace(current, tokens=tokens, revoked_tokens=revoked)

    def revoke_token(self, site: str, token: str) -> None:
        """Make `token` answer 401 on `site` from the next request on, as Issuetrak's "Revoke" does."""
        current = self.sites[site]
        tokens = {t: iid for t, iid in current.tokens.items() if t != token}
        self.sites[site] = replace(current, tokens=tokens, revoked_tokens=(*current.revoked_tokens, token))

    def reset_rate_limits(self) -> None:
        """Forget all rate-limit counts and peaks (tests that send many requests call this)."""
        self.limiter.reset()

    def set_rate_limits(self, site: str, **limits: int) -> None:
        """Change some of `site`'s limits by window name (``per_minute=5``), from the next request."""
        current = self.sites[site]
        try:
            checked = site_from_dict({"name": site, "rate_limits": {**current.rate_limits, **limits}})
        except SiteFileError as exc:
            raise ValueError(str(exc)) from None
        self.sites[site] = replace(current, rate_limits=checked.rate_limits)

    def rate_stats(self) -> dict[str, Any]:
        """Per site that was called, by Application URL: requests, writes, 429s, peak per window, limits.

        The same document ``GET /_sim/stats`` answers.
        """
        return rate_stats(self.limiter, self.sites, self.site_url)

    def windows_over(self, share: float = 1.0) -> list[tuple[str, str, int, float]]:
        """(Application URL, window, peak, allowed) wherever a peak passed `share` of the site's limit.

        ``assert sim.windows_over(0.2) == []`` proves every site got at most 20 % of every window.
        """
        return windows_over(self.rate_stats(), share)

    def peak(self, site: str, window: str) -> int:
        """The most requests `site` (a name or Application URL) received in any `window`-long window.

        `window` is a rate-limit window name: ``per_second``, ``writes_per_second``, ``per_minute``,
        ``per_10_minutes``, ``per_hour`` or ``per_12_hours``.
        """
        if window not in WINDOW_NAMES:
            raise ValueError(f"unknown window {window!r}; one of {', '.join(WINDOW_NAMES)}")
        return self.limiter.stats(self._site_name(site))["peaks"][window]

    @property
    def port(self) -> int:
        """The port bound (useful with ``port=0``); after stop(), the one it had."""
        if self._server is None and self._last_port is None:
            raise RuntimeError("The simulator is not running; call start() first.")
        return self._last_port

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT`` (``https`` with TLS)."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def site_url(self, name: str) -> str:
        """A site's Application URL (any name; unknown sites answer the web server's 404)."""
        return f"{self.root_url}/{name}"

    def __enter__(self) -> IssuetrakSimulator:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _new_app(self) -> SimulatedIssuetrak:
        return SimulatedIssuetrak(self.sites, self.slow_seconds, self._stopping, self.limiter, self.site_url,
                                  self.latency_seconds)

    def _site_name(self, site: str) -> str:
        """A site name from a name or an Application URL of this simulator."""
        if "://" not in site:
            return site
        prefix = self.root_url + "/"
        if not site.startswith(prefix):
            raise ValueError(f"{site} is not a site of this simulator ({self.root_url})")
        return site.removeprefix(prefix).rstrip("/")

    def _tls_context(self) -> ssl.SSLContext:
        folder = self._cert_dir
        if folder is None:
            self._temp_dir = tempfile.TemporaryDirectory(prefix="issuetrak-simulator-tls-")
            folder = Path(self._temp_dir.name)
        self.cert_path, key_path = ensure_certificate(folder)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, key_path)
        return context


class _Server(ThreadingHTTPServer):
    """Threading server that never waits for its handlers and can close open connections."""

    daemon_threads = True
    block_on_close = False  # else server_close() joins every handler thread, slow ones too
    # socketserver's default backlog of 5 drops the SYNs of a burst of new connections (dozens of
    # worker threads at once): each dropped one costs the client a 1 s retransmit, read as a timeout.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: SimulatedIssuetrak):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.app = app
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn), slow on some networks.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request: socket.socket, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut every open connection, so kept-alive clients see the server is gone."""
        with self._open_lock:
            open_sockets = list(self._open)
        for sock in open_sockets:
            with contextlib.suppress(OSError):  # already closed by its handler
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that rejects our certificate or hangs up is normal here, not a traceback.
        logger.debug("connection from %s ended with an error", client_address[0], exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, asks the app, writes its reply."""

    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
    timeout = 10  # an idle kept-alive connection gives its thread back after this
    # Headers and body go out in separate writes; with Nagle on, a kept-alive client then waits
    # ~40 ms per request for a delayed ACK.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            # Handshake here, in the connection's thread, so a stalled client blocks only itself.
            self.connection.do_handshake()

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            return
        try:
            reply = self.server.app.respond(self.command, self.path, self.headers, body)
        except Exception:
            logger.exception("simulator failure on %s %s %s", self.command, *self._where())
            reply = error(500, "Error", "The simulator failed; see its log.")
        if reply is None:  # stopping mid-request: hang up, as a stopping server does
            self.close_connection = True
            return
        self._send(reply)

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding"):
            self._send(Reply(411))
            self.close_connection = True
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._send(Reply(413 if length > MAX_BODY else 400))
            self.close_connection = True
            return None
        return self.rfile.read(length)

    def _send(self, reply: Reply) -> None:
        # Logged before writing, so the line exists by the time the client has its answer.
        logger.info("%s %s %s %s", self.command, *self._where(), reply.status)
        self.send_response(reply.status)
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def _where(self) -> tuple[str, str]:
        """Site and path as sent (still %-encoded, so no decoded newline can forge a log line)."""
        site, slash, rest = self.path.partition("?")[0].removeprefix("/").partition("/")
        return site or "-", slash + rest or "/"

    def log_message(self, format: str, *args: Any) -> None:
        """Silence http.server's own stderr lines; `_send` logs each request (without headers)."""
