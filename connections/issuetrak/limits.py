"""Issuetrak's documented API v2 rate limits (../shared/issuetrak-api-v2.md): six sliding windows
per site. The app's limiter (`site_limits`) takes a share of them; the simulator enforces them."""

from __future__ import annotations

from dataclasses import dataclass

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Window:
    """At most `limit` requests in any `seconds`-long window (only writes if `writes_only`)."""

    name: str
    limit: int
    seconds: float
    writes_only: bool = False


WINDOWS = (
    Window("per_second", 20, 1.0),
    Window("writes_per_second", 5, 1.0, writes_only=True),
    Window("per_minute", 100, 60.0),
    Window("per_10_minutes", 100, 600.0),
    Window("per_hour", 1000, 3600.0),
    Window("per_12_hours", 1000, 43200.0),
)
WINDOW_NAMES = tuple(w.name for w in WINDOWS)
