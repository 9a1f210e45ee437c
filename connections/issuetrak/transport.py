"""How one HTTP exchange is made: a deadline for the whole exchange (body included), a cap on the
body size, which redirects are followed, and naming what failed below HTTP.

Both the Issuetrak client and the webhook sender send through `Transport.exchange`, so a rule
about outbound requests is written once, here.
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions

from connections.issuetrak.answers import ApiResult, Outcome, _Answer
from connections.issuetrak.deadline import Deadline
from connections.issuetrak.policy import CheckedAdapter, OutboundPolicy, PolicyRefused

logger = logging.getLogger("connections.issuetrak")

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_BYTES = 2 * 1024 * 1024
MAX_REDIRECTS = 3
_READ_CHUNK = 64 * 1024
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def _megabytes(size: int) -> str:
    return f"{size // (1024 * 1024)} MB" if size % (1024 * 1024) == 0 else f"{size} bytes"


# --- Network failures ----------------------------------------------------------------------------


class _Failure(Exception):
    """Internal early exit carrying a finished result; never escapes IssuetrakClient._call."""

    def __init__(self, outcome: Outcome, message: str, status: int | None = None):
        super().__init__(message)
        self.result = ApiResult(outcome, status=status, message=message)


def _exception_chain(exc: BaseException):
    """The exception and every exception it wraps (requests → urllib3 → socket/ssl)."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = (getattr(current, "reason", None), current.__cause__, current.__context__, *current.args)
        todo.extend(item for item in linked if isinstance(item, BaseException))


_TLS_REASONS = {
    10: "the certificate has expired",
    18: "the certificate is self-signed",
    19: "the certificate chain ends in a self-signed CA that is not trusted",
    20: "the certificate's issuer is not trusted (private CA, or a missing intermediate)",
    21: "the certificate's issuer is not trusted (private CA, or a missing intermediate)",
    62: "the certificate is for another host name",
    64: "the certificate is for another host name (IP address mismatch)",
}


def _tls_message(chain: list[BaseException]) -> str:
    verify = next((e for e in chain if isinstance(e, ssl.SSLCertVerificationError)), None)
    if verify is None:
        return "the TLS handshake failed (is https served on this port?)"
    code = getattr(verify, "verify_code", None)
    if code is None and "hostname" in str(verify).lower():
        code = 62
    reason = _TLS_REASONS.get(code) or getattr(verify, "verify_message", "") or "it is not valid"
    return f"certificate invalid: {reason}"


def _network_failure(exc: BaseException, host: str, timeout: float) -> _Failure:
    """Name what went wrong below HTTP: DNS, TCP, TLS, time, or a non-HTTP answer."""
    chain = list(_exception_chain(exc))
    found = {type(item) for item in chain}

    def has(kind) -> bool:
        return any(issubclass(item, kind) for item in found)

    if has(ssl.SSLError) or isinstance(exc, requests.exceptions.SSLError):
        return _Failure(Outcome.TLS, f"{host}: {_tls_message(chain)}")
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return _Failure(Outcome.TIMEOUT, f"could not connect to {host} within {timeout:g} s")
    if isinstance(exc, requests.exceptions.Timeout) or has(TimeoutError):
        return _Failure(Outcome.TIMEOUT, f"{host} did not answer within {timeout:g} s")
    if has(socket.gaierror):
        return _Failure(Outcome.DNS, f"the host name {host} does not resolve (DNS)")
    if has(ConnectionRefusedError):
        return _Failure(Outcome.CONNECT, f"{host} refused the connection (nothing listens on that port)")
    if has(http.client.RemoteDisconnected) or has(ConnectionResetError):
        return _Failure(Outcome.CONNECT, f"{host} closed the connection without answering")
    if has(http.client.HTTPException):
        return _Failure(Outcome.BAD_RESPONSE, f"{host} answered with something that is not HTTP")
    return _Failure(Outcome.CONNECT, f"could not connect to {host} ({type(exc).__name__})")


# --- Redirect policy -----------------------------------------------------------------------------


def _effective_port(parts) -> int | None:
    try:
        return parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:  # a port that is not a number
        return None


def _check_redirect(current: str, target: str, status: int) -> None:
    """Allow same-host redirects only; never https → http. Messages name the host, not the URL."""
    old, new = urlsplit(current), urlsplit(target)
    host = new.hostname or "an unnamed host"
    refusal = None
    if new.scheme not in ("http", "https"):
        refusal = "to a non-web address"
    elif old.scheme == "https" and new.scheme == "http":
        refusal = f"from https to plain http ({host})"
    elif new.hostname != old.hostname or not _same_port_or_upgrade(old, new):
        refusal = f"to another host ({host})"
    if refusal:
        raise _Failure(Outcome.REDIRECTED, f"{status}: the site redirects {refusal}", status)


def _same_port_or_upgrade(old, new) -> bool:
    # http → https on the same host name may change the port (80 → 443); nothing else may.
    upgrade = (old.scheme, new.scheme) == ("http", "https")
    return upgrade or _effective_port(old) == _effective_port(new)


def _method_after_redirect(status: int, method: str, body: Any) -> tuple[str, Any]:
    # 303 means "GET this instead". For 301/302 we keep the method and body, unlike browsers:
    # a search POST turned into a GET would hit a different endpoint and mislead the checklist.
    return ("GET", None) if status == 303 else (method, body)


# --- Reading the body under the deadline -----------------------------------------------------


def _set_socket_timeout(response: requests.Response, seconds: float) -> None:
    # urllib3's read timeout applies to each recv, not to the whole body; keeping it at the time
    # left means one recv can never run past the deadline.
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.01))


def _read_piece(response: requests.Response, deadline: float, timeout: float) -> bytes:
    status = response.status_code
    late = _Failure(Outcome.TIMEOUT, f"the answer did not finish within {timeout:g} s", status)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise late
    _set_socket_timeout(response, remaining)
    try:
        # read1: whatever one recv brings, so a server trickling bytes is checked between them.
        return response.raw.read1(_READ_CHUNK, decode_content=True)
    except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
        raise late from None
    except (urllib3.exceptions.HTTPError, OSError):
        raise _Failure(Outcome.BAD_RESPONSE, "the answer was cut off or garbled", status) from None


def _read_body(response: requests.Response, deadline: float, max_bytes: int, timeout: float) -> bytes:
    """The whole body, or a _Failure once it passes max_bytes or the deadline."""
    message = f"response larger than {_megabytes(max_bytes)}"
    too_large = _Failure(Outcome.BAD_RESPONSE, message, response.status_code)
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large  # refuse before reading a byte
    chunks, size = [], 0
    while piece := _read_piece(response, deadline, timeout):
        size += len(piece)
        if size > max_bytes:
            raise too_large
        chunks.append(piece)
    return b"".join(chunks)



# --- The exchange ------------------------------------------------------------------------------


def _never(_target: str) -> bool:
    return False


@dataclass
class Transport:
    """Sends requests on one session, each exchange under one deadline; raises `_Failure`.

    `holds_secret` says whether a redirect address repeats a secret (the client's token), in
    which case it is not followed. With `follow_redirects` off, a redirect is the answer.
    Every connection, redirect targets included, obeys `policy` (by default the settings').
    """

    session: requests.Session
    timeout: float
    max_bytes: int = DEFAULT_MAX_BYTES
    verify: bool | str = True
    follow_redirects: bool = True
    holds_secret: Callable[[str], bool] = _never
    policy: OutboundPolicy | None = None

    def __post_init__(self) -> None:
        # One adapter: its connections go only to checked addresses, and register their sockets
        # with the exchange's deadline (so connect, TLS and headers are bounded too).
        adapter = CheckedAdapter(self.policy or OutboundPolicy.from_settings())
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def deadline(self) -> float:
        """The monotonic time by which an exchange started now must be over."""
        return time.monotonic() + self.timeout

    def exchange(
        self, method: str, url: str, *, params: dict | None = None, body: Any = None,
        deadline: float | None = None,
    ) -> _Answer:
        """Send, following at most MAX_REDIRECTS same-host redirects, and read the answer."""
        deadline = self.deadline() if deadline is None else deadline
        with Deadline(deadline) as watchdog:
            try:
                answer = self._exchange(method, url, params, body, deadline)
            except _Failure as failure:
                if watchdog.expired:  # the watchdog shut the socket: say why, not "closed"
                    raise self._timed_out(url, failure.result.status) from None
                raise
        if watchdog.expired:  # cut short at the deadline: the body may be incomplete
            raise self._timed_out(url, answer.status)
        return answer

    def _timed_out(self, url: str, status: int | None) -> _Failure:
        host = urlsplit(url).hostname or "the site"
        message = f"{host} timed out: no complete answer within {self.timeout:g} s"
        return _Failure(Outcome.TIMEOUT, message, status)

    def _exchange(self, method: str, url: str, params: dict | None, body: Any, deadline: float) -> _Answer:
        for _hop in range(MAX_REDIRECTS + 1):
            response = self._send(method, url, params, body, deadline)
            location = response.headers.get("Location")
            redirect = response.status_code in _REDIRECT_STATUSES and location
            if not (redirect and self.follow_redirects):
                return self._read(response, deadline)
            response.close()
            target = urljoin(response.url, location.strip())
            _check_redirect(response.url, target, response.status_code)
            self._refuse_echoed_secret(target, response.status_code)
            logger.debug("issuetrak %s: following a same-host redirect to %s", method, urlsplit(target).path)
            method, body = _method_after_redirect(response.status_code, method, body)
            url, params = target, None  # the target carries its own query
        raise _Failure(Outcome.REDIRECTED, f"more than {MAX_REDIRECTS} redirects", response.status_code)

    def _refuse_echoed_secret(self, target: str, status: int) -> None:
        # urllib3 logs each request line (query included) at DEBUG; a redirect address that
        # repeats the token would put it in a log line, so it is not followed.
        if self.holds_secret(target):
            message = f"{status}: the site redirects to an address with the token in it"
            raise _Failure(Outcome.REDIRECTED, message, status)

    def _send(
        self, method: str, url: str, params: dict | None, body: Any, deadline: float
    ) -> requests.Response:
        remaining = deadline - time.monotonic()
        host = urlsplit(url).hostname or "the site"
        if remaining <= 0:
            raise _Failure(Outcome.TIMEOUT, f"{host} did not answer within {self.timeout:g} s")
        try:
            return self.session.request(
                method, url, params=params, json=body, stream=True, allow_redirects=False,
                timeout=(remaining, remaining),
                # Per request, not on the session: requests lets REQUESTS_CA_BUNDLE override
                # a session-level verify, which would ignore a certificate given for this site.
                verify=self.verify,
            )
        except requests.RequestException as exc:
            raise _network_failure(exc, host, self.timeout) from None
        except PolicyRefused as exc:  # raised before the socket is opened: nothing was sent
            raise _Failure(Outcome.BLOCKED, str(exc)) from None

    def _read(self, response: requests.Response, deadline: float) -> _Answer:
        try:
            body = _read_body(response, deadline, self.max_bytes, self.timeout)
            response.raw.release_conn()  # read to the end: the connection can be reused
            return _Answer(response.status_code, response.headers, body)
        finally:
            response.close()
