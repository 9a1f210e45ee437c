"""The checklist's vocabulary: what it checks (`Subject`), a step (`Step`) and its `StepResult`.

Plain Python with no database: models, the rotation and the CLI all read results through these.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from connections.choices import StepStatus


@dataclass(frozen=True)
class Subject:
    """What the checklist needs to know about a connection (or a candidate token)."""

    label: str
    base_url: str
    token: str = field(repr=False)
    token_name: str = ""
    token_user: str = ""
    expires_on: dt.date | None = None
    cloud: bool = False
    issuetrak_version: str = ""

    @classmethod
    def from_connection(cls, connection, token: str | None = None) -> Subject:
        """Describe a stored connection, optionally with a different (candidate) token."""
        return cls(
            label=connection.label,
            base_url=connection.base_url,
            token=token if token is not None else connection.reveal_token(),
            token_name=connection.token_name,
            token_user=connection.token_user,
            expires_on=connection.expires_on,
            cloud=connection.is_cloud,
            issuetrak_version=connection.issuetrak_version,
        )


@dataclass(frozen=True)
class StepResult:
    """One step's outcome, as shown on a run page and stored (without the title) on the run."""

    key: str
    title: str
    status: StepStatus
    message: str
    fix: str = ""
    # What the step read from the site (never a token), for pages that explain a result.
    details: dict = field(default_factory=dict, compare=False)
    # The message without text the site wrote (page titles, error details), for roles that may
    # not read what an arbitrary host answers; None when the message quotes nothing.
    plain_message: str | None = None

    def as_dict(self) -> dict:
        """The stored form: the title is the registry's, so it is not stored."""
        stored = {"key": self.key, "status": str(self.status), "message": self.message, "fix": self.fix}
        if self.plain_message is not None:
            stored["plain_message"] = self.plain_message
        if self.details:
            stored["details"] = self.details
        return stored

    def with_details(self, **details) -> StepResult:
        """This result carrying what the step read (see `details`)."""
        return replace(self, details={**self.details, **details})

    def quoting(self, plain: str) -> StepResult:
        """This result, noting `plain`: its message without what the site wrote."""
        return self if plain == self.message else replace(self, plain_message=plain)

    @property
    def unquoted_message(self) -> str:
        """The message, or its plain form when it quotes the site."""
        return self.message if self.plain_message is None else self.plain_message

    @property
    def shows_fix(self) -> bool:
        """Whether a page shows the fix (everything but a pass that carries one)."""
        return bool(self.fix) and self.status != StepStatus.PASS


@dataclass(frozen=True)
class Step:
    """One checklist step, defined once: key, title, the steps it needs passed, its check, its fix.

    `check(run, step)` returns a StepResult made with the helpers below, so a check never
    spells its own key. `site` marks the steps about the site and token that re-validation
    sums up as site health.
    """

    key: str
    title: str
    needs: tuple[str, ...]
    check: Callable[[Any, Step], StepResult]
    fix: str = ""
    site: bool = False

    def result(self, status: StepStatus, message: str, fix: str = "") -> StepResult:
        return StepResult(self.key, self.title, StepStatus(status), message, fix)

    def passed(self, message: str) -> StepResult:
        return self.result(StepStatus.PASS, message)

    def warned(self, message: str, fix: str | None = None) -> StepResult:
        return self.result(StepStatus.WARN, message, self.fix if fix is None else fix)

    def failed(self, message: str, fix: str | None = None) -> StepResult:
        return self.result(StepStatus.FAIL, message, self.fix if fix is None else fix)

    def errored(self, message: str, fix: str) -> StepResult:
        return self.result(StepStatus.ERROR, message, fix)

    def not_applicable(self, message: str) -> StepResult:
        return self.result(StepStatus.SKIP, message)

    def waiting_on(self, blocker: Step) -> StepResult:
        """Skipped because `blocker` (the root step that did not pass) must be fixed first."""
        return self.result(
            StepStatus.SKIP, f"Not checked: waiting on “{blocker.title}” ({blocker.key}).",
            f"Fix “{blocker.title}” first, then run the checklist again.",
        )


def overall_of(results: Iterable[StepResult]) -> StepStatus:
    """fail if any step failed or errored, else warn if any warned, else pass."""
    statuses = {r.status for r in results}
    if any(status.is_failure for status in statuses):
        return StepStatus.FAIL
    if StepStatus.WARN in statuses:
        return StepStatus.WARN
    return StepStatus.PASS
