"""From a request line to a reply: which site, is API v2 there, the scenario, the rate limit.

The order mirrors a real self-hosted site: the web server (IIS) first decides whether an API v2
application lives under ``/api/v2`` at all; then a scenario's behaviour applies (a delay, or a
fixed answer: a redirect, another page, always 429, always 500); the application itself refuses
when disabled, throttles, and only then authenticates the token (`api.handle`). Every request
that reaches a site's API is counted for the rate-limit peaks, whatever it is answered;
``/_sim/...`` is the simulator's own (`stats`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from urllib.parse import parse_qs, unquote

from connections.simulator import api, stats
from connections.simulator.ratelimit import RateLimiter
from connections.simulator.replies import Reply, error, login_page, not_found_page, redirect
from connections.simulator.sites import Site

API_PREFIX = "/api/v2"
ELSEWHERE = "http://elsewhere.invalid"
RATE_LIMITED_RETRY_AFTER = "120"


def split_target(target: str) -> tuple[str, str, str]:
    """``/healthy/api/v2/Users?x=1`` → ``("healthy", "/api/v2/Users", "x=1")``."""
    # Not urlsplit: a request target "//x/y" is a path here, not a host.
    raw_path, _, query = target.partition("?")
    site, slash, rest = unquote(raw_path).removeprefix("/").partition("/")
    return site, slash + rest, query


class SimulatedIssuetrak:
    """All simulated sites behind one server, with shared rate-limit counters."""

    def __init__(self, sites: dict[str, Site], slow_seconds: float, stopping: threading.Event,
                 limiter: RateLimiter, site_url: Callable[[str], str]):
        self.sites = sites  # shared with IssuetrakSimulator, which may replace sites while serving
        self.slow_seconds = slow_seconds
        self.limiter = limiter  # shared too: counts survive a restart until reset
        self.site_url = site_url
        self._write_lock = threading.Lock()
        self._stopping = stopping

    def respond(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply | None:
        """The reply to one request, or None when the server stops before a slow site answers."""
        site_name, path, query = split_target(target)
        if site_name == stats.PREFIX:
            return stats.control(method, path, self.limiter, self.sites, self.site_url)
        site = self.sites.get(site_name)
        api_path = _api_path(path)
        if site is None or not site.api_installed or api_path is None:
            return not_found_page()
        self.limiter.receive(site.name, method)
        reply = self._api_reply(site, method, api_path, query, headers, body, target)
        if reply is not None and reply.status == 429:
            self.limiter.note_refused(site.name)
        return reply

    def _api_reply(self, site: Site, method: str, api_path: str, query: str, headers: Mapping[str, str],
                   body: bytes, target: str) -> Reply | None:
        if site.behaviour == "slow" and self._stopping.wait(self.slow_seconds):
            return None
        if site.latency_seconds and self._stopping.wait(site.latency_seconds):
            return None
        scripted = _scripted(site, target)
        if scripted is not None:
            return scripted
        if not site.api_enabled:
            return error(403, "ApiDisabled", "API v2 is disabled for this site.")
        retry_after = self.limiter.admit(site.name, method, site.rate_limits)
        if retry_after is not None:
            return _too_many(str(retry_after))
        token = headers.get("X-Api-Key")
        return api.handle(site, method, api_path, parse_qs(query, keep_blank_values=True), token, body,
                          commit=lambda change: self._commit(site.name, change))

    def _commit(self, name: str, change):
        """Apply a write to the site as it is now (not as the request first saw it), one at a time."""
        with self._write_lock:
            site, result = change(self.sites[name])
            self.sites[name] = site
        return result


def _api_path(path: str) -> str | None:
    """The path inside the API application, or None when the path is outside it."""
    head, tail = path[: len(API_PREFIX)], path[len(API_PREFIX) :]
    if head.lower() != API_PREFIX or tail[:1] not in ("", "/"):
        return None
    return tail.lstrip("/")


def _scripted(site: Site, target: str) -> Reply | None:
    """The fixed answer of a scenario that never reaches the API application."""
    if site.behaviour == "rate_limited":
        return _too_many(RATE_LIMITED_RETRY_AFTER)
    if site.behaviour == "server_error":
        return error(500, "Error", "An unexpected error occurred while processing the request.")
    if site.behaviour == "garbage":
        return login_page()
    if site.behaviour == "redirect_away":
        return redirect(ELSEWHERE + target)
    return None


def _too_many(retry_after: str) -> Reply:
    return error(429, "RateLimit", "Too many requests: the API v2 rate limit was exceeded.",
                 {"Retry-After": retry_after})
