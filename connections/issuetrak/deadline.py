"""One deadline per exchange, whatever the server does: a watchdog shuts the exchange's sockets
when it passes.

Socket timeouts bound each recv, not the whole exchange: a server trickling its status line or
headers (or a TLS handshake) one byte a second never trips them. So every socket an exchange
opens or reuses is registered with the `Deadline` active in that thread, and one shared watchdog
thread shuts those sockets (shutdown(2), which wakes the blocked recv) once the deadline passes.

`GuardedConnection` is the urllib3 connection mixin whose sockets register themselves.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time

from urllib3.connection import HTTPConnection

_current = threading.local()


class Deadline:
    """While entered (in one thread), the sockets that thread's exchange uses are shut at `at`.

    `at` is a time.monotonic() value. `expired` says whether the watchdog had to act, so a
    caller can name a failure "timed out" rather than "connection closed".
    """

    def __init__(self, at: float):
        self.at = at
        self.expired = False
        self._handles: list[socket.socket] = []
        self._lock = threading.Lock()
        self._done = False

    def __enter__(self) -> Deadline:
        self._outer = getattr(_current, "deadline", None)
        _current.deadline = self
        _WATCHDOG.add(self)
        return self

    def __exit__(self, *exc_info) -> None:
        _current.deadline = self._outer
        with self._lock:
            self._done = True
            handles, self._handles = self._handles, []
        for handle in handles:
            handle.close()  # our duplicate only; the connection itself stays with its pool

    def guard(self, sock: socket.socket) -> None:
        """Shut `sock` if this deadline passes while the exchange is still going on."""
        # A duplicate descriptor of the same socket: shutting it down ends the connection, and
        # holding it means the number can never be reused by another socket meanwhile.
        try:
            handle = socket.socket(fileno=_dup(sock))
        except OSError:
            return  # already closed: nothing left to bound
        with self._lock:
            if not self._done:
                self._handles.append(handle)
                late = self.expired
            else:
                handle.close()
                return
        if late:
            self._shut(handle)

    def expire(self) -> None:
        """Called by the watchdog once `at` has passed."""
        with self._lock:
            if self._done:
                return
            self.expired = True
            handles = list(self._handles)
        for handle in handles:
            self._shut(handle)

    @staticmethod
    def _shut(handle: socket.socket) -> None:
        with contextlib.suppress(OSError):  # the peer may have hung up already
            handle.shutdown(socket.SHUT_RDWR)


def _dup(sock: socket.socket) -> int:
    return os.dup(sock.fileno())


def guard_socket(sock: socket.socket) -> None:
    """Register `sock` with the deadline active in this thread (none: nothing to do)."""
    deadline = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.guard(sock)


class _Watchdog:
    """One daemon thread for every deadline in the process, earliest first."""

    def __init__(self):
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, deadline: Deadline) -> None:
        with self._wake:
            heapq.heappush(self._heap, (deadline.at, next(self._order), deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="issuetrak-deadline", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap:
                    self._wake.wait()
                at, _, deadline = self._heap[0]
                wait = at - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._heap)
            deadline.expire()  # outside the lock: shutting a socket may take a moment


_WATCHDOG = _Watchdog()


# --- Connections that register their sockets ----------------------------------------------------


class GuardedConnection(HTTPConnection):
    """urllib3 connection whose sockets the active Deadline may shut; the policy mixes it in."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # before TLS, so a trickled handshake is bounded too
        guard_socket(sock)
        return sock

    def request(self, *args, **kwargs):
        if self.sock is not None:  # a kept-alive connection, reused for this exchange
            guard_socket(self.sock)
        return super().request(*args, **kwargs)
