"""The guided onboarding checklist: Issuetrak's set-up procedure, step by step, per connection.

Each step says what to do in Issuetrak, shows the automatic result from the latest checklist
run where one exists, and, where only a person can tell, takes a confirmation (who, when).
A step is done only while its automatic checks pass, so one that later fails opens again.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from connections import procedure
from connections.checklist import StepResult, step_for
from connections.choices import AuditAction, RunState, StepStatus
from connections.forms import validate_version
from connections.models import AuditEvent, ChecklistRun, Connection, OnboardingConfirmation


@dataclass(frozen=True)
class OnboardingStep:
    """One step of Issuetrak's set-up procedure; `checks` names registered checklist steps."""

    key: str
    title: str
    instructions: tuple[str, ...]
    checks: tuple[str, ...] = ()  # checklist step keys that must pass
    confirm: str = ""  # what a person confirms, when the step needs one
    skip_counts_as_done: bool = False  # e.g. the version step is skipped for cloud sites

    def __post_init__(self):
        for key in self.checks:
            step_for(key)  # an unknown key fails at import, not on a page


STEPS = (
    OnboardingStep("version", "Check the Issuetrak version", (
        "Self-hosted sites need Issuetrak 14.9 or newer for API v2, and the most recent release "
        "is advised: new API v2 endpoints (and new Zapier actions) come with new versions.",
        "Sign in to Issuetrak, open the drop-down under your name in the top right: the version "
        f"is at its bottom. (Or {procedure.LICENSE_MENU}, “Running Version”.) No drop-down "
        "means a version below 14: upgrade first.",
        "Issuetrak cloud sites are kept current by Issuetrak: nothing to do.",
    ), ("version",), confirm="version", skip_counts_as_done=True),
    OnboardingStep("api_v2_installed", "Install API v2", (
        f"Cloud sites always have it. {procedure.INSTALL_API_V2} The installer is in Issuetrak's "
        "help centre.",
    ), ("api_v2_installed",)),
    OnboardingStep("api_v2_enabled", "Enable API v2", (procedure.ENABLE_API_V2,), ("api_v2_enabled",)),
    OnboardingStep("token_user", "Create a token for the right user, and record that user", (
        "The token acts as its user, who must be a Sys Admin, or belong to a group granting both "
        f"{procedure.ADMIN_PERMISSIONS}.",
        f"Open the {procedure.ADD_TOKEN_MENU}. Name it after its use (e.g. “Zapier”), give it an "
        "expiration date, and pick the User (blank means you). Copy the New Token value: it is "
        "shown only once. A sysadmin stores it here; record the user's User ID as Token User.",
    ), ("token_valid", "token_user", "token_admin")),
    OnboardingStep("base_url", "Use the Application URL as Base URL", (
        f"Open the {procedure.DEFAULTS_MENU}: copy the “Application URL” exactly. The API lives "
        "under it.",
    ), ("base_url", "reachable")),
    OnboardingStep("label_matches_token_name", "Label the connection with the token's name", (
        "Use the Token Name as the connection label here and in Zapier, so you can find the "
        "connection to update when the token is revoked or expires.",
    ), ("label_matches_token_name",)),
    OnboardingStep("expiration_set", "Record the expiration date", (
        "Optional in Issuetrak but strongly advised: it enforces key rotation, and we warn "
        "before the token stops working.",
    ), ("expiration_set",)),
    OnboardingStep("old_token_revoked", "Revoke the old token", (
        f"After a rotation, delete the old token in Issuetrak ({procedure.REVOKE_TOKEN_MENU}) so "
        "it cannot be used any more.",
    ), confirm="revoked"),
)
STEP_KEYS = tuple(step.key for step in STEPS)


@dataclass
class StepState:
    step: OnboardingStep
    done: bool
    results: list[StepResult] = field(default_factory=list)
    confirmation: OnboardingConfirmation | None = None
    note: str = ""


def latest_run(connection: Connection) -> ChecklistRun | None:
    return connection.runs.filter(state=RunState.FINISHED).first()


def progress(connection: Connection) -> list[StepState]:
    """Every step with its automatic results, its confirmation and whether it is done."""
    run = latest_run(connection)
    by_key = {result.key: result for result in (run.results if run else [])}
    confirmations = {c.step: c for c in connection.confirmations.select_related("confirmed_by")}
    states = []
    for step in STEPS:
        results = [by_key[k] for k in step.checks if k in by_key]
        checks_pass = bool(results) and len(results) == len(step.checks) and all(
            r.status == StepStatus.PASS or (r.status == StepStatus.SKIP and step.skip_counts_as_done)
            for r in results)
        state = StepState(step, checks_pass, results, confirmations.get(step.key))
        _apply_manual_rules(connection, state)
        states.append(state)
    return states


def _apply_manual_rules(connection: Connection, state: StepState) -> None:
    key = state.step.key
    if key == "version" and not connection.is_cloud:
        state.done = state.done and bool(connection.issuetrak_version) and state.confirmation is not None
    if key == "old_token_revoked":
        pending = connection.token_history.filter(revoked_confirmed_at__isnull=True).first()
        state.done = pending is None
        state.note = (f"Old token {pending.token_fingerprint} (retired {pending.retired_at:%Y-%m-%d}) "
                      "is not confirmed revoked." if pending else "No earlier token is waiting.")


@transaction.atomic
def confirm(connection: Connection, key: str, *, by, value: str = "") -> None:
    """Record that a person confirmed a step; raise ValidationError on a bad value."""
    if key == "version":
        value = validate_version(value, required=True)
        connection.issuetrak_version = value
        connection.save(update_fields=["issuetrak_version", "updated_at"])
    elif key == "old_token_revoked":
        connection.token_history.filter(revoked_confirmed_at__isnull=True).update(
            revoked_confirmed_at=timezone.now(), revoked_confirmed_by=by)
    else:
        raise ValidationError("This step is checked automatically: run the checklist.")
    OnboardingConfirmation.objects.update_or_create(
        connection=connection, step=key,
        defaults={"value": value, "confirmed_by": by, "confirmed_at": timezone.now()})
    title = next(s.title for s in STEPS if s.key == key)
    AuditEvent.objects.record(AuditAction.ONBOARDING_CONFIRMED, actor=by, connection=connection,
                              summary=f"Confirmed “{title}”" + (f": {value}" if value else ""))
