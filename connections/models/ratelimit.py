"""The database store's tables for the per-site rate limiter (used when the broker is not Redis)."""

from django.db import models


class RateSite(models.Model):
    """One row per Issuetrak site: the row every admission locks, and the shared 429 back-off."""

    site = models.CharField(max_length=500, primary_key=True)
    backoff_until = models.FloatField(default=0.0)  # Unix time; 0: none
    touched = models.FloatField(default=0.0)  # written first in each admission, to take the lock

    def __str__(self):
        return self.site


class RateCall(models.Model):
    """One request admitted to a site (Unix time), kept as long as the longest window.

    In flight, `at` is ahead of now (the slot is held); the answer re-stamps it by `ticket`.
    """

    site = models.CharField(max_length=500)
    at = models.FloatField()
    is_write = models.BooleanField(default=False)
    ticket = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["site", "at"], name="ratecall_site_at")]

    def __str__(self):
        return f"{self.site} at {self.at}"
