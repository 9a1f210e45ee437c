"""Issuetrak's default API v2 rate limits, enforced and counted per site, window by window.

Issuetrak stacks six sliding windows (`WINDOWS`): 20 requests/s, 5 POST/PUT/DELETE per s,
100/min, 100/10 min, 1000/h and 1000/12 h. Whether they count per token or per address is not
documented; the simulator assumes the stricter, per site, so every token of a site shares them.
A refused request is not counted against the limits, so waiting `Retry-After` seconds always
lets the next one in.

Separately, every request that reaches a site's API is counted, refused or not, and each window
keeps its peak: the most requests the site received in any window of that length. A test or
benchmark proves it stayed under a limit with ``peak <= limit`` (tests scale time with
`time_scale`: 600 makes the 10-minute window last one second).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from connections.issuetrak.limits import WINDOW_NAMES, WINDOWS, WRITE_METHODS, Window


@dataclass
class _Counts:
    """One site's counters: accepted requests per window (for the limits) and received ones (peaks)."""

    accepted: dict[str, deque[float]] = field(default_factory=lambda: {n: deque() for n in WINDOW_NAMES})
    received: dict[str, deque[float]] = field(default_factory=lambda: {n: deque() for n in WINDOW_NAMES})
    peaks: dict[str, int] = field(default_factory=lambda: dict.fromkeys(WINDOW_NAMES, 0))
    requests: int = 0
    writes: int = 0
    refused: int = 0


class RateLimiter:
    """Counts requests per site and says how long to wait once a window is full."""

    def __init__(self, time_scale: float = 1.0, clock: Callable[[], float] = time.monotonic):
        if not time_scale > 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = time_scale
        self._clock = clock
        self._lock = threading.Lock()
        self._sites: dict[str, _Counts] = {}

    def receive(self, site: str, method: str) -> None:
        """Count one request that reached `site`'s API, whatever its answer, for the peaks."""
        windows = self._windows(method, None)
        with self._lock:
            now = self._clock()
            counts = self._sites.setdefault(site, _Counts())
            counts.requests += 1
            counts.writes += any(w.writes_only for w in windows)
            for window in windows:
                queue = self._evicted(counts.received[window.name], window, now)
                queue.append(now)
                # The busiest window of any position ends at some request, so checking at each
                # arrival finds the true peak.
                counts.peaks[window.name] = max(counts.peaks[window.name], len(queue))

    def admit(self, site: str, method: str, limits: Mapping[str, int] | None = None) -> int | None:
        """None when `site`'s limits allow the request (now counted), else the `Retry-After` seconds.

        `limits` overrides the default limit of windows by name (see `effective_limits`).
        """
        windows = self._windows(method, limits)
        with self._lock:
            now = self._clock()
            counts = self._sites.setdefault(site, _Counts())
            accepted = [(w, self._evicted(counts.accepted[w.name], w, now)) for w in windows]
            waits = [q[0] + self._seconds(w) - now for w, q in accepted if len(q) >= w.limit]
            if waits:
                return max(1, math.ceil(max(waits)))
            for _, queue in accepted:
                queue.append(now)
        return None

    def note_refused(self, site: str) -> None:
        """Count one 429 answer `site` gave (over its limits, or the always-429 scenario)."""
        with self._lock:
            self._sites.setdefault(site, _Counts()).refused += 1

    def stats(self, site: str) -> dict:
        """Requests, writes, 429s and the peak per window that `site` has received so far."""
        with self._lock:
            counts = self._sites.get(site, _Counts())
            return {"requests": counts.requests, "writes": counts.writes, "refused": counts.refused,
                    "peaks": dict(counts.peaks)}

    def sites(self) -> list[str]:
        """The sites that received at least one request since the last reset."""
        with self._lock:
            return sorted(self._sites)

    def window_seconds(self) -> dict[str, float]:
        """Each window's actual length under the time scale."""
        return {w.name: self._seconds(w) for w in WINDOWS}

    def reset(self) -> None:
        """Forget every count and peak (between tests)."""
        with self._lock:
            self._sites.clear()

    def _windows(self, method: str, limits: Mapping[str, int] | None) -> list[Window]:
        limits = effective_limits(limits)
        is_write = method.upper() in WRITE_METHODS
        return [Window(w.name, limits[w.name], w.seconds, w.writes_only)
                for w in WINDOWS if is_write or not w.writes_only]

    def _seconds(self, window: Window) -> float:
        return window.seconds / self.time_scale

    def _evicted(self, queue: deque[float], window: Window, now: float) -> deque[float]:
        while queue and queue[0] <= now - self._seconds(window):
            queue.popleft()
        return queue


def effective_limits(overrides: Mapping[str, int] | None = None) -> dict[str, int]:
    """Issuetrak's default limit per window name, with `overrides` (a site's raised limits) applied."""
    return {**{w.name: w.limit for w in WINDOWS}, **(overrides or {})}
