"""Checks behind /health/: database, broker, notifier freshness, token keys (non-200 on a fault).

Imported only by the `/health/` view: django-health-check costs a process ~0.1–0.4 s of imports.
django-health-check names each check by its `repr()`; ours say what a person would call them.
"""

import dataclasses

from health_check.base import HealthCheck
from health_check.checks import Database as _Database
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

from connections.faults import token_key_problem
from connections.notifier_watch import notifier_status


class _Named:
    name = ""

    def __repr__(self):
        return self.name


@dataclasses.dataclass(repr=False)
class Database(_Named, _Database):
    """The database answers `SELECT 1`."""

    name = "Database"


@dataclasses.dataclass(repr=False)
class Broker(_Named, HealthCheck):
    """The Celery broker accepts a connection."""

    name = "Celery broker"

    def run(self):
        from issuetrak_admin.celery import app

        try:
            with app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=3)
        except Exception as exc:
            raise ServiceUnavailable(f"broker unreachable ({type(exc).__name__})") from exc


@dataclasses.dataclass(repr=False)
class NotifierFreshness(_Named, HealthCheck):
    """The expiry scan ran within 26 hours and re-validation within 12."""

    name = "Notifier (expiry scan and re-validation)"

    def run(self):
        late = [s.label for s in notifier_status(with_next=False) if s.overdue]
        if late:
            raise ServiceUnavailable(f"overdue: {', '.join(late)}")


@dataclasses.dataclass(repr=False)
class TokenKeys(_Named, HealthCheck):
    """Sampled stored tokens decrypt with TOKEN_ENCRYPTION_KEYS."""

    name = "Token encryption keys"

    def run(self):
        problem = token_key_problem()
        if problem:
            raise ServiceUnavailable(problem)


health_view = HealthCheckView.as_view(checks=[Database, Broker, NotifierFreshness, TokenKeys])
