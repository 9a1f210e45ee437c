"""Our share of each Issuetrak site's rate limits, counted exactly across processes and hosts.

Issuetrak stacks six sliding windows per site (20 requests/s, 5 writes/s, 100/min, 100/10 min,
1000/h, 1000/12 h) and the site's Zapier integration lives on the same budget, so the app takes
at most ISSUETRAK_RATE_SHARE (default 0.2) of each window. `acquire` is called by the client just
before each request is sent: it admits the request (counting it in a shared store) or sleeps until
the next slot, telling the run when the wait is long enough to notice; a wait longer than
`max_wait` raises `SiteBusy` instead, and nothing is sent. Pacing is on the requests actually
sent: an admitted call holds its slot while in flight and `sent` stamps it with the moment its
answer arrived, so however long connecting took, the site never counts more than our share.
A 429 that slips through anyway (Zapier spent the rest) is shared with `backoff`, so no process
sends to that site before its `Retry-After` has passed.

Stores (ISSUETRAK_RATE_STORE): a Redis URL (one Lua script per admission, Redis's clock), the
database (`connections.rate_store`, installed at start-up), or memory (one process: tests).
"""

from __future__ import annotations

import bisect
import contextlib
import contextvars
import json
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from connections.issuetrak.limits import WINDOW_NAMES, WINDOWS, WRITE_METHODS, Window

# Clocks and stores round: a window counted this much longer never squeezes one request too many in.
MARGIN_S = 0.05
# While a call is in flight its slot is held (counted in every window); once the answer is in,
# `sent` re-stamps it to that moment, which is never before the site counted it. A wait that may
# end when an in-flight call lands is re-tried this often instead of slept through.
IN_FLIGHT_POLL_S = 5.0
# Shorter waits pass silently; a longer one is written on the run while it lasts.
NOTE_AFTER_S = 2.0
DEFAULT_SHARE = 0.2
DEFAULT_MAX_WAIT_S = 120.0




class SiteBusy(Exception):
    """Our share of `site`'s budget is spent for longer than the caller may wait."""

    def __init__(self, site: str, wait: float):
        self.site, self.wait = site, wait
        super().__init__(queued_message(wait))


class LimitsRefused(ValueError):
    """ISSUETRAK_RATE_LIMITS or ISSUETRAK_RATE_SHARE is malformed; the message says how."""


_QUEUED = "queued behind the site's rate limit"


def queued_message(wait: float) -> str:
    return f"{_QUEUED}, next slot in {_duration(wait)}"


def is_queued_note(note: str) -> bool:
    """Whether `note` says a run waits for a slot (as opposed to a 429 back-off)."""
    return note.startswith(_QUEUED)


def backoff_message(wait: float) -> str:
    return f"the site answered 429 (rate limit); every worker waits {_duration(wait)} as its Retry-After asks"


def _duration(seconds: float) -> str:
    seconds = max(1, math.ceil(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{math.ceil(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


# --- Which site, and its budget -------------------------------------------------------------------


def site_key(base_url: str) -> str:
    """The site a URL belongs to: scheme://host[:port]/path, lower case, default port dropped.

    Two Issuetrak sites under different paths of one host have separate limits; the same site
    written with another case, a trailing slash or the /api/v2 tail is one site.
    """
    parts = urlsplit(base_url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    default = {"http": 80, "https": 443}.get(scheme)
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, default) else f"{host}:{port}"
    path = parts.path.rstrip("/")
    if path.lower().endswith("/api/v2"):
        path = path[: -len("/api/v2")]
    return urlunsplit((scheme, netloc, path.rstrip("/").lower(), "", ""))


def parse_overrides(raw: str | Mapping | None) -> dict[str, dict[str, int]]:
    """ISSUETRAK_RATE_LIMITS: JSON {"<Application URL>": {"<window>": limit, ...}, ...}.

    Raises LimitsRefused naming the bad part; windows not named keep Issuetrak's defaults.
    """
    if not raw:
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            message = f"ISSUETRAK_RATE_LIMITS is not JSON ({exc.msg} at character {exc.pos})"
            raise LimitsRefused(message) from None
    if not isinstance(raw, Mapping):
        raise LimitsRefused('ISSUETRAK_RATE_LIMITS must be an object: {"https://site": {"per_hour": 5000}}')
    parsed = {}
    for url, limits in raw.items():
        if not isinstance(limits, Mapping):
            raise LimitsRefused(f"ISSUETRAK_RATE_LIMITS[{url!r}] must be an object of window: limit")
        unknown = sorted(set(limits) - set(WINDOW_NAMES))
        if unknown:
            raise LimitsRefused(f"ISSUETRAK_RATE_LIMITS[{url!r}]: unknown window {unknown[0]!r}; "
                                f"windows are {', '.join(WINDOW_NAMES)}")
        for name, limit in limits.items():
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise LimitsRefused(f"ISSUETRAK_RATE_LIMITS[{url!r}][{name!r}] must be a whole number ≥ 1")
        parsed[site_key(url)] = dict(limits)
    return parsed


def check_share(share: object) -> float:
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
        raise LimitsRefused(f"ISSUETRAK_RATE_SHARE must be a fraction above 0 and at most 1, not {share!r}")
    return float(share)


def _setting(name: str, default):
    return getattr(settings, name, default) if settings.configured else default


def budget(site: str) -> list[Window]:
    """Our windows for `site`: its limits (defaults or ISSUETRAK_RATE_LIMITS) × the share, scaled."""
    share = check_share(_setting("ISSUETRAK_RATE_SHARE", DEFAULT_SHARE))
    overrides = parse_overrides(_setting("ISSUETRAK_RATE_LIMITS", None)).get(site, {})
    scale = float(_setting("ISSUETRAK_RATE_TIME_SCALE", 1.0))
    return [Window(w.name, max(1, math.floor(overrides.get(w.name, w.limit) * share)),
                   w.seconds / scale + MARGIN_S, w.writes_only) for w in WINDOWS]


# --- Stores --------------------------------------------------------------------------------------


class Store(Protocol):
    def try_acquire(self, site: str, write: bool, windows: list[Window], ticket: str = "",
                    hold_s: float = 0.0) -> float:
        """0 when the request is admitted (counted under `ticket`, stamped `hold_s` ahead: in
        flight), else the seconds until it could be."""

    def sent(self, site: str, ticket: str) -> None:
        """The call admitted under `ticket` is over: stamp it now."""

    def set_backoff(self, site: str, seconds: float) -> None:
        """No request to `site` is admitted for `seconds` from now (longer ones already set stay)."""

    def reset(self) -> None:
        """Forget every count and back-off (tests)."""


def wait_for(times: list[float], windows: list[Window], write: bool, now: float,
             write_times: list[float] | None = None) -> float:
    """Seconds until one more request fits every window, given the admitted `times` (sorted)."""
    wait = 0.0
    for window in windows:
        if window.writes_only and not write:
            continue
        source = (write_times or []) if window.writes_only else times
        inside = [t for t in source if t > now - window.seconds]
        if len(inside) >= window.limit:
            # The oldest request whose leaving makes room.
            wait = max(wait, inside[len(inside) - window.limit] + window.seconds - now)
    return wait


class MemoryStore:
    """One process's counts (tests, or a single-process install without Redis or a database)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._calls: dict[str, list[tuple[float, bool, str]]] = {}
        self._backoff: dict[str, float] = {}

    def try_acquire(self, site: str, write: bool, windows: list[Window], ticket: str = "",
                    hold_s: float = 0.0) -> float:
        longest = max(w.seconds for w in windows)
        with self._lock:
            now = time.time()
            calls = [c for c in self._calls.get(site, []) if c[0] > now - longest]
            times = [t for t, _, _ in calls]
            wait = max(self._backoff.get(site, 0.0) - now,
                       wait_for(times, windows, write, now, [t for t, w, _ in calls if w]))
            if wait <= 0:
                bisect.insort(calls, (now + hold_s, write, ticket))
            self._calls[site] = calls
            return max(wait, 0.0)

    def sent(self, site: str, ticket: str) -> None:
        with self._lock:
            now = time.time()
            self._calls[site] = sorted((now, w, t) if t == ticket else (at, w, t)
                                       for at, w, t in self._calls.get(site, []))

    def set_backoff(self, site: str, seconds: float) -> None:
        with self._lock:
            self._backoff[site] = max(self._backoff.get(site, 0.0), time.time() + seconds)

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._backoff.clear()


# KEYS: all calls (sorted set), writes (sorted set), back-off key, counter.
# ARGV: is_write, longest window ms, ticket, hold ms, then limit, ms, writes_only per window.
# Redis's own clock, so hosts with skewed clocks still agree. Returns 0 (admitted) or the wait in ms.
_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local is_write = ARGV[1] == '1'
local longest = tonumber(ARGV[2])
local hold = tonumber(ARGV[4])
local wait = redis.call('PTTL', KEYS[3])
if wait < 0 then wait = 0 end
local i = 5
while ARGV[i] do
  local limit, ms, writes_only = tonumber(ARGV[i]), tonumber(ARGV[i + 1]), ARGV[i + 2] == '1'
  i = i + 3
  if is_write or not writes_only then
    local key = writes_only and KEYS[2] or KEYS[1]
    local floor = '(' .. (now - ms)
    local count = redis.call('ZCOUNT', key, floor, '+inf')
    if count >= limit then
      local oldest = redis.call('ZRANGEBYSCORE', key, floor, '+inf', 'WITHSCORES', 'LIMIT', count - limit, 1)
      local w = tonumber(oldest[2]) + ms - now
      if w > wait then wait = w end
    end
  end
end
if wait > 0 then return wait end
local member = ARGV[3]
if member == '' then member = now .. ':' .. redis.call('INCR', KEYS[4]) end
redis.call('ZADD', KEYS[1], now + hold, member)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - longest)
redis.call('PEXPIRE', KEYS[1], longest + hold)
if is_write then
  redis.call('ZADD', KEYS[2], now + hold, member)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - longest)
  redis.call('PEXPIRE', KEYS[2], longest + hold)
end
redis.call('PEXPIRE', KEYS[4], longest + hold)
return 0
"""

# KEYS: all calls, writes. ARGV: ticket. Re-stamps an admitted call (if still counted) to now.
_SENT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
redis.call('ZADD', KEYS[2], 'XX', now, ARGV[1])
return 0
"""

_BACKOFF = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
return 0
"""


class RedisStore:
    """Counts in Redis: one atomic script per admission, shared by every process and host."""

    PREFIX = "issuetrak-admin:rate:"

    def __init__(self, url: str):
        import redis  # only installs that use Redis pay for the import

        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._admit = self._redis.register_script(_ADMIT)
        self._sent = self._redis.register_script(_SENT)
        self._backoff = self._redis.register_script(_BACKOFF)

    def _keys(self, site: str) -> list[str]:
        base = self.PREFIX + site
        return [f"{base}:calls", f"{base}:writes", f"{base}:backoff", f"{base}:seq"]

    def try_acquire(self, site: str, write: bool, windows: list[Window], ticket: str = "",
                    hold_s: float = 0.0) -> float:
        args: list = ["1" if write else "0", math.ceil(max(w.seconds for w in windows) * 1000), ticket,
                      math.ceil(hold_s * 1000)]
        for w in windows:
            args += [w.limit, math.ceil(w.seconds * 1000), "1" if w.writes_only else "0"]
        return int(self._admit(keys=self._keys(site), args=args)) / 1000

    def sent(self, site: str, ticket: str) -> None:
        self._sent(keys=self._keys(site)[:2], args=[ticket])

    def set_backoff(self, site: str, seconds: float) -> None:
        if seconds > 0:
            self._backoff(keys=[self._keys(site)[2]], args=[math.ceil(seconds * 1000)])

    def reset(self) -> None:
        keys = list(self._redis.scan_iter(match=self.PREFIX + "*", count=500))
        if keys:
            self._redis.delete(*keys)


_store: Store | None = None
_factory: Callable[[], Store] = MemoryStore
_store_lock = threading.Lock()


def store_from_setting(value: str) -> Store | None:
    """The store ISSUETRAK_RATE_STORE names: a redis:// URL or "memory"; None for anything else."""
    if value.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(value)
    if value == "memory":
        return MemoryStore()
    return None


def install(store: Store) -> None:
    """Use `store` from now on (tests swap it)."""
    global _store
    with _store_lock:
        _store = store


def install_factory(factory: Callable[[], Store]) -> None:
    """Make the store with `factory` when first needed (start-up registers the configured one)."""
    global _store, _factory
    with _store_lock:
        _store, _factory = None, factory


def current_store() -> Store:
    """The installed store; a process that registered nothing counts in memory."""
    global _store
    with _store_lock:
        if _store is None:
            _store = _factory()
        return _store


# --- What the run is told ---------------------------------------------------------------------

_reporter: contextvars.ContextVar[Callable[[str], None] | None] = contextvars.ContextVar(
    "site_limits_reporter", default=None)


@contextlib.contextmanager
def reporting(report: Callable[[str], None]) -> Iterator[None]:
    """Within the block, waits and back-offs are told to `report` ("" once the wait is over)."""
    token = _reporter.set(report)
    try:
        yield
    finally:
        _reporter.reset(token)


def _report(note: str) -> None:
    report = _reporter.get()
    if report is not None:
        report(note)


# --- The API --------------------------------------------------------------------------------------


def acquire(site: str, *, write: bool = False, max_wait: float | None = None, until: float | None = None,
            sleep: Callable[[float], None] = time.sleep, ticket: str = "", hold_s: float = 0.0) -> float:
    """Wait for a slot in every window of `site` and take it; returns the seconds waited.

    With a `ticket`, the slot is held `hold_s` ahead (the call is in flight) until `sent(site,
    ticket)`. Raises SiteBusy (nothing taken) when the next slot is further away than `max_wait`
    (default ISSUETRAK_RATE_MAX_WAIT_S) from the start of the call, or past `until` (monotonic).
    """
    if max_wait is None:
        max_wait = float(_setting("ISSUETRAK_RATE_MAX_WAIT_S", DEFAULT_MAX_WAIT_S))
    if until is not None:
        max_wait = max(0.0, min(max_wait, until - time.monotonic()))
    windows = budget(site)
    store = current_store()
    waited, noted = 0.0, False
    while (wait := store.try_acquire(site, write, windows, ticket, hold_s)) > 0:
        if waited + wait > max_wait:
            _report(queued_message(wait))
            raise SiteBusy(site, wait)
        if wait >= NOTE_AFTER_S:
            _report(queued_message(wait))
            noted = True
        nap = min(wait, IN_FLIGHT_POLL_S)  # a call in flight may land and free its slot sooner
        sleep(nap)
        waited += nap
    if noted:
        _report("")
    return waited


def sent(site: str, ticket: str) -> None:
    """The call admitted under `ticket` is over (answered or failed): count it from now."""
    current_store().sent(site, ticket)


def backoff(site: str, retry_after: float) -> None:
    """The site answered 429: no process sends to it for `retry_after` seconds, and the run says so."""
    if retry_after > 0:
        current_store().set_backoff(site, retry_after)
        _report(backoff_message(retry_after))


def is_write(method: str) -> bool:
    return method.upper() in WRITE_METHODS
