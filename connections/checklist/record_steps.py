"""The recorded-detail steps: version, expiration date and label, judged from what is recorded.

They make no API calls (the version step only looks at whether API v2 answered).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from packaging.version import InvalidVersion, Version

from connections import procedure
from connections.checklist.results import Step, StepResult

if TYPE_CHECKING:
    from connections.checklist.registry import SiteRun

MINIMUM_VERSION = Version("14.9")

FIX_VERSION = f"{procedure.READ_VERSION} — and record it on the connection."
FIX_EXPIRATION = (
    "Issuetrak strongly advises an expiration date: it enforces key rotation and lets us warn "
    "before the token stops working. Record it if the token has one; otherwise plan a new "
    "token with one."
)
FIX_LABEL = (
    "Use the token's name as the connection label (in Zapier too), so you can find the "
    "connection to update when this token is revoked or expires."
)


def check_version(run: SiteRun, step: Step) -> StepResult:
    if run.subject.cloud:
        return step.not_applicable("Issuetrak cloud sites are kept on the current release by Issuetrak.")
    recorded = run.subject.issuetrak_version
    if not recorded:
        return _version_unrecorded(run, step)
    try:
        version = Version(recorded)
    except InvalidVersion:
        return step.failed(f"“{recorded}” is not a version number.")
    latest = Version(settings.ISSUETRAK_LATEST_VERSION)
    if version < MINIMUM_VERSION:
        return step.failed(f"Issuetrak {recorded} is older than 14.9, which API v2 needs.",
                           "Upgrade Issuetrak to the most recent release (at least 14.9).")
    if version < latest:
        return step.warned(f"Issuetrak {recorded}: upgrade recommended: new API v2 endpoints come "
                           f"with new versions (newest known: {latest}).",
                           "Upgrade to the most recent release so new Zapier actions and triggers work.")
    return step.passed(f"Issuetrak {recorded}, the most recent release we know.")


def _version_unrecorded(run: SiteRun, step: Step) -> StepResult:
    if run.ok("api_v2_installed"):
        return step.passed("At least 14.9 (API v2 answers) — confirm the exact version.")
    if run.blocker(("api_v2_installed",)) != "api_v2_installed":
        # The site did not answer at all: like its sibling steps, wait on it (skip, not warn).
        return run.waiting_on(step, "api_v2_installed")
    return step.warned("Version unknown: no version recorded and API v2 did not answer.")


def check_expiration_set(run: SiteRun, step: Step) -> StepResult:
    if run.subject.expires_on:
        return step.passed(f"Expires on {run.subject.expires_on:%Y-%m-%d}.")
    return step.warned("No expiration date: the token works until someone revokes it.")


def check_expiry_window(run: SiteRun, step: Step) -> StepResult:
    expires_on = run.subject.expires_on
    if not expires_on:
        return step.not_applicable("No expiration date recorded, so nothing to count down.")
    days = (expires_on - run.today).days
    window = max(settings.EXPIRY_THRESHOLDS_DAYS)
    if days < 0:
        return step.failed(f"Expired on {expires_on:%Y-%m-%d}.")
    if days <= window:
        when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
        return step.warned(f"Expires {when} ({expires_on:%Y-%m-%d}).",
                           f"Before {expires_on:%Y-%m-%d}: " + procedure.NEW_TOKEN)
    return step.passed(f"Expires in {days} days.")


def check_label_matches_token_name(run: SiteRun, step: Step) -> StepResult:
    label, name = run.subject.label, run.subject.token_name
    if name and label.casefold() == name.casefold():
        return step.passed("The label is the token's name.")
    problem = (f"The label “{label}” differs from the token name “{name}”." if name
               else "No token name recorded.")
    return step.warned(problem)
