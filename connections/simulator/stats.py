"""``/_sim``: the simulator's own routes, outside every site, for tests and benchmarks.

``GET /_sim/stats`` answers what `IssuetrakSimulator.rate_stats()` returns, as JSON: per site
that received a request, keyed by its Application URL, the requests, writes, 429 answers, the
peak per rate-limit window and the site's limits. ``POST /_sim/reset`` forgets every count.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from connections.simulator.ratelimit import RateLimiter, effective_limits
from connections.simulator.replies import Reply, json_reply
from connections.simulator.sites import Site

PREFIX = "_sim"


def rate_stats(limiter: RateLimiter, sites: Mapping[str, Site], site_url: Callable[[str], str]) -> dict:
    """Counts and peaks per site (keyed by Application URL), with each window's actual length."""
    per_site = {}
    for name in limiter.sites():
        site = sites.get(name)
        per_site[site_url(name)] = {
            "name": name,
            **limiter.stats(name),
            "limits": effective_limits(site.rate_limits if site else None),
        }
    return {"time_scale": limiter.time_scale, "window_seconds": limiter.window_seconds(), "sites": per_site}


def windows_over(document: dict, share: float = 1.0) -> list[tuple[str, str, int, float]]:
    """(Application URL, window, peak, allowed) wherever a site's peak passed `share` of its limit.

    Empty means no site ever received more than that share of any window's limit.
    """
    return [(url, window, peak, site["limits"][window] * share)
            for url, site in document["sites"].items()
            for window, peak in site["peaks"].items() if peak > site["limits"][window] * share]


def control(method: str, path: str, limiter: RateLimiter, sites: Mapping[str, Site],
            site_url: Callable[[str], str]) -> Reply:
    """Answer a request under ``/_sim``."""
    routes = {"/stats": "GET", "/reset": "POST"}
    if path not in routes:
        return json_reply(404, {"error": f"no simulator route /{PREFIX}{path}; try {', '.join(routes)}"})
    if method != routes[path]:
        return Reply(405, headers={"Allow": routes[path]})
    if path == "/reset":
        limiter.reset()
        return json_reply(200, {"reset": True})
    return json_reply(200, rate_stats(limiter, sites, site_url))
