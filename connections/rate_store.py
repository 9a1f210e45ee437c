"""The rate limiter's database store, and picking the store at start-up (Redis broker → Redis).

Each admission is one short transaction on the site's `RateSite` row: an UPDATE takes the row
lock first (PostgreSQL) or the write lock (SQLite), so admissions to one site are serialised
across processes while other sites proceed; then the calls in the longest window are counted
and the new one inserted. Times are the host's clock (hosts sharing a database keep NTP time).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import IntegrityError, transaction

from connections.issuetrak import site_limits
from connections.issuetrak.site_limits import Window
from connections.models import RateCall, RateSite


class DatabaseStore:
    """Counts in the app's database; works on SQLite and PostgreSQL."""

    def try_acquire(self, site: str, write: bool, windows: list[Window], ticket: str = "",
                    hold_s: float = 0.0) -> float:
        longest = max(w.seconds for w in windows)
        self._ensure_row(site)
        with transaction.atomic():
            RateSite.objects.filter(site=site).update(touched=time.time())  # the lock
            now = time.time()
            backoff_until = RateSite.objects.filter(site=site).values_list("backoff_until", flat=True)[0]
            calls = list(RateCall.objects.filter(site=site, at__gt=now - longest)
                         .order_by("at").values_list("at", "is_write"))
            wait = max(backoff_until - now, site_limits.wait_for(
                [at for at, _ in calls], windows, write, now, [at for at, w in calls if w]))
            if wait > 0:
                return wait
            RateCall.objects.create(site=site, at=now + hold_s, is_write=write, ticket=ticket)
            if len(calls) % 50 == 0:  # now and then, not on every admission
                RateCall.objects.filter(site=site, at__lte=now - longest).delete()
        return 0.0

    def sent(self, site: str, ticket: str) -> None:
        RateCall.objects.filter(site=site, ticket=ticket).update(at=time.time())

    def set_backoff(self, site: str, seconds: float) -> None:
        self._ensure_row(site)
        with transaction.atomic():
            until = time.time() + seconds
            RateSite.objects.filter(site=site, backoff_until__lt=until).update(backoff_until=until)

    def reset(self) -> None:
        RateCall.objects.all().delete()
        RateSite.objects.all().delete()

    @staticmethod
    def _ensure_row(site: str) -> None:
        if RateSite.objects.filter(site=site).exists():
            return
        try:
            with transaction.atomic():
                RateSite.objects.create(site=site)
        except IntegrityError:
            pass  # another process made it first


def configured_store() -> site_limits.Store:
    """ISSUETRAK_RATE_STORE: "auto" (Redis when the broker is Redis, else the database),
    "database", "memory" (one process only) or a redis:// URL."""
    value = getattr(settings, "ISSUETRAK_RATE_STORE", "auto")
    if value == "auto":
        broker = settings.CELERY_BROKER_URL
        value = broker if broker.startswith(("redis://", "rediss://")) else "database"
    if value == "database":
        return DatabaseStore()
    store = site_limits.store_from_setting(value)
    if store is None:
        raise site_limits.LimitsRefused(
            f"ISSUETRAK_RATE_STORE must be auto, database, memory or a redis:// URL, not {value!r}")
    return store


def install_configured_store() -> None:
    """Make the configured store when this process first sends a request (called at start-up)."""
    site_limits.install_factory(configured_store)
