"""Issuetrak's default API v2 rate limits, as sliding windows per (site, token).

Issuetrak's defaults are 20 requests/s, 5 POST/PUT/DELETE per s, 100/min, 100/10 min,
1000/h and 1000/12 h. The simulator enforces the first three (`DEFAULT_RULES`): the longer
windows would make a long demo or test session fail for reasons no scenario is about.
A refused request is not counted, so waiting `Retry-After` seconds always lets the next one in.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Rule:
    """At most `limit` requests in any `seconds`-long window (only writes if `writes_only`)."""

    limit: int
    seconds: float
    writes_only: bool = False


DEFAULT_RULES = (Rule(20, 1.0), Rule(5, 1.0, writes_only=True), Rule(100, 60.0))


class RateLimiter:
    """Counts requests per key and says how long to wait once a rule is exceeded."""

    def __init__(self, rules: tuple[Rule, ...] = DEFAULT_RULES, clock: Callable[[], float] = time.monotonic):
        self._rules = rules
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[tuple[Hashable, Rule], deque[float]] = {}

    def hit(self, site: str, token: str | None, method: str) -> int | None:
        """Count one request; None when allowed, else the seconds to put in `Retry-After`."""
        # Keep a digest, not the token, so no token sits in the limiter's memory or reprs.
        key = (site, hashlib.sha256((token or "").encode()).hexdigest())
        rules = [r for r in self._rules if not r.writes_only or method in WRITE_METHODS]
        with self._lock:
            now = self._clock()
            windows = [self._window(key, rule, now) for rule in rules]
            waits = [w[0] + r.seconds - now for r, w in zip(rules, windows, strict=True) if len(w) >= r.limit]
            if waits:
                return max(1, math.ceil(max(waits)))
            for window in windows:
                window.append(now)
        return None

    def reset(self) -> None:
        """Forget every count (between tests)."""
        with self._lock:
            self._hits.clear()

    def _window(self, key: Hashable, rule: Rule, now: float) -> deque[float]:
        window = self._hits.setdefault((key, rule), deque())
        while window and window[0] <= now - rule.seconds:
            window.popleft()
        return window
