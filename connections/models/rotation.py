"""What a token rotation hands around: the candidate being checked, the outcome, the refusals.

The verbs are on Connection (`rotate_token`, or `rotation_candidate` → check → `swap_token` when
the check runs elsewhere); this module only holds their values, so it needs no table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.utils import timezone

from connections import procedure
from connections.checklist import StepResult, Subject
from connections.choices import StepStatus

if TYPE_CHECKING:
    from connections.models.connection import Connection, TokenHistory


class RotationRefused(Exception):
    """Nothing changed: the candidate failed its check, has unaccepted warnings, or was refused
    before any check could help (archived connection, the same token on the same site)."""

    def __init__(self, overall: StepStatus, results: list[StepResult], *, message: str = "",
                 storing: bool = False):
        self.overall, self.results = overall, results
        super().__init__(message or _checklist_message(overall, results, storing))

    @classmethod
    def because(cls, message: str) -> RotationRefused:
        """A refusal no checklist was run for."""
        return cls(StepStatus.FAIL, [], message=message)

    @property
    def only_warnings(self) -> bool:
        """Accepting the warnings would let the rotation through."""
        return self.overall == StepStatus.WARN


class RotatedMeanwhile(RotationRefused):
    """Someone else changed the token while this candidate was being checked."""

    def __init__(self, by_name: str, at: dt.datetime | None, fingerprint: str):
        self.by_name, self.at, self.fingerprint = by_name, at, fingerprint
        when = f" at {timezone.localtime(at):%Y-%m-%d %H:%M}" if at else ""
        super().__init__(StepStatus.FAIL, [], message=(
            f"While this token was being checked, {by_name} changed the stored token{when} (now "
            f"{fingerprint or 'none'}). Reload the page and decide whether another rotation is "
            "still needed."))


def _checklist_message(overall: StepStatus, results: list[StepResult], storing: bool) -> str:
    problem = next((r for r in results if r.status.is_failure), None)
    if problem:
        return f"The new token was not saved: {problem.title} — {problem.message}"
    return f"The new token passes with warnings: accept them to {'store it' if storing else 'rotate'}."


@dataclass(frozen=True)
class Candidate:
    """A token, and the Base URL it is for, waiting to be checked for one connection."""

    token: str = field(repr=False)
    base_url: str
    token_name: str
    expires_on: dt.date | None
    # The fingerprint the operator started from ("" when no token was stored): the swap happens
    # only if it is still the stored one, so two rotations cannot silently replace each other.
    expected_fingerprint: str
    keeps_token: bool  # the same token moved to another site (its Base URL changed origin)

    def subject(self, connection: Connection) -> Subject:
        """What the checklist checks: the connection as it would be after the swap."""
        return Subject(
            label=connection.label, base_url=self.base_url, token=self.token,
            token_name=self.token_name, token_user=connection.token_user,
            expires_on=self.expires_on, cloud=connection.is_cloud,
            issuetrak_version=connection.issuetrak_version)


@dataclass
class Rotation:
    connection: Connection
    retired: TokenHistory | None
    overall: StepStatus
    results: list[StepResult]
    previous_base_url: str = ""
    kind: str = "rotated"  # or "stored" (first token) or "moved" (same token, new site)

    def message(self) -> str:
        """What happened and what is left to do, for the page and the CLI."""
        connection = self.connection
        label, fingerprint = connection.label, connection.token_fingerprint
        if self.kind == "stored":
            return f"Token stored: {fingerprint}. {procedure.after_storing(label)}"
        moved = connection.base_url != self.previous_base_url
        if self.kind == "moved":
            return (f"“{label}” now points at {connection.base_url} with the same token "
                    f"({fingerprint}). {procedure.after_moving(label, connection.base_url)}")
        where = f" Base URL now {connection.base_url}." if moved else ""
        old = self.retired.token_fingerprint if self.retired else "none"
        return f"Token rotated: {old} → {fingerprint}.{where} {procedure.after_rotation(label)}"
