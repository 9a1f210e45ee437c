"""Safe token rotation: prove the new token on the site first, then swap in one transaction.

If the checklist fails for the new token nothing changes. If it passes (or its warnings are
accepted) the new token becomes current and the old one is kept only as a fingerprint in the
history. Any error before the commit leaves the old token in place.
"""

import datetime as dt
import time
from dataclasses import dataclass, replace

from django.db import transaction
from django.utils import timezone

from connections import audit, secrets
from connections.checklist import StepResult, Subject, overall_of, run_checklist
from connections.models import (
    AuditAction,
    ChecklistRun,
    Connection,
    RunState,
    StepStatus,
    TokenHistory,
    Trigger,
)


class RotationRefused(Exception):
    """The new token did not pass the checklist (or has unaccepted warnings): nothing changed."""

    def __init__(self, overall: str, results: list[StepResult]):
        self.overall, self.results = overall, results
        problem = next((r for r in results if r.status in ("fail", "error")), None)
        if problem:
            message = f"The new token was not saved: {problem.title} — {problem.message}"
        else:
            message = "The new token passes with warnings: accept them to rotate."
        super().__init__(message)


@dataclass
class Rotation:
    connection: Connection
    retired: TokenHistory | None
    overall: str
    results: list[StepResult]


def check_candidate(connection: Connection, token: str, token_name: str,
                    expires_on: dt.date | None) -> list[StepResult]:
    """Run the checklist with the new token and its details, without storing anything."""
    subject = replace(Subject.from_connection(connection, token=token),
                      token_name=token_name, expires_on=expires_on)
    return run_checklist(subject)


def rotate_token(connection: Connection, raw_token: str, *, token_name: str,
                 expires_on: dt.date | None, by=None, accept_warnings: bool = False,
                 via: str = "") -> Rotation:
    """Validate the new token against the site, then make it current; raise RotationRefused."""
    token = secrets.clean_token(raw_token)
    started = time.monotonic()
    results = check_candidate(connection, token, token_name, expires_on)
    overall = overall_of(results)
    if overall == StepStatus.FAIL or (overall == StepStatus.WARN and not accept_warnings):
        raise RotationRefused(overall, results)
    duration_ms = int((time.monotonic() - started) * 1000)
    return _swap(connection.pk, token, token_name, expires_on, by, via, overall, results, duration_ms)


@transaction.atomic
def _swap(pk, token, token_name, expires_on, by, via, overall, results, duration_ms) -> Rotation:
    connection = Connection.objects.select_for_update().get(pk=pk)
    retired = None
    if connection.has_token:
        retired = TokenHistory.objects.create(
            connection=connection, token_fingerprint=connection.token_fingerprint,
            token_name=connection.token_name, expires_on=connection.expires_on,
            set_at=connection.token_set_at, retired_by=by,
        )
    connection.set_token(token)
    connection.token_name, connection.expires_on = token_name, expires_on
    # A new token is a new start: its health and notices count afresh.
    connection.alert_open, connection.site_health = False, ""
    connection.last_overall, connection.last_checked_at = overall, timezone.now()
    connection.save()
    ChecklistRun.objects.create(
        connection=connection, trigger=Trigger.ROTATION, started_by=by, state=RunState.FINISHED,
        overall=overall, steps=[r.as_dict() for r in results],
        token_fingerprint=connection.token_fingerprint, started_at=timezone.now(),
        finished_at=timezone.now(), duration_ms=duration_ms,
    )
    old = retired.token_fingerprint if retired else "(none)"
    audit.record(AuditAction.TOKEN_ROTATED, actor=by, via=via, connection=connection,
                 summary=f"Token {old} replaced by {connection.token_fingerprint} "
                 f"(checklist: {overall})")
    return Rotation(connection, retired, overall, results)
