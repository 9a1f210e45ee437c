"""The step registry (every step, in order, defined once) and the runner that walks it.

`run_checklist(Subject(...))` talks to the site through the Issuetrak client and returns one
StepResult per step, in order. A step whose needs did not pass is skipped, naming the root
step it waits on. Checklist, re-validation ("site steps") and onboarding look steps up here.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from django.conf import settings
from django.utils import timezone

from connections import procedure
from connections.checklist import record_steps as recorded
from connections.checklist import site_steps as site
from connections.checklist.results import Step, StepResult, Subject
from connections.choices import StepStatus
from connections.issuetrak import ApiResult, IssuetrakClient

STEPS: tuple[Step, ...] = (
    Step("base_url", "Base URL is the Application URL", (), site.check_base_url,
         site.FIX_BASE_URL, site=True),
    Step("reachable", "Site is reachable", ("base_url",), site.check_reachable, site=True),
    Step("api_v2_installed", "API v2 is installed", ("reachable",), site.check_api_v2_installed,
         site.FIX_INSTALL, site=True),
    Step("api_v2_enabled", "API v2 is enabled", ("api_v2_installed",), site.check_api_v2_enabled,
         procedure.ENABLE_API_V2, site=True),
    Step("version", "Issuetrak version", (), recorded.check_version, recorded.FIX_VERSION),
    Step("token_valid", "API token is accepted", ("api_v2_enabled",), site.check_token_valid,
         procedure.NEW_TOKEN, site=True),
    Step("token_user", "Token user exists and is active", ("token_valid",),
         site.check_token_user, site.FIX_TOKEN_USER, site=True),
    Step("token_admin", "Token user is an administrator", ("token_valid",),
         site.check_token_admin, site=True),
    Step("expiration_set", "Expiration date recorded", (), recorded.check_expiration_set,
         recorded.FIX_EXPIRATION),
    Step("expiry_window", "Token is not about to expire", (), recorded.check_expiry_window,
         procedure.NEW_TOKEN),
    Step("label_matches_token_name", "Label matches the token name", (),
         recorded.check_label_matches_token_name, recorded.FIX_LABEL),
)
BY_KEY = {step.key: step for step in STEPS}
STEP_KEYS = tuple(BY_KEY)
SITE_STEP_KEYS = tuple(step.key for step in STEPS if step.site)
# Decided by the site alone (one GET /Authenticate/test), whatever the token: a re-validation
# round decides them once per site and shares them (see SiteShare).
PER_SITE_KEYS = ("reachable", "api_v2_installed", "api_v2_enabled")


def step_for(key: str) -> Step:
    """The registered step with this key (KeyError for an unknown key)."""
    return BY_KEY[key]


def result_from(stored: dict) -> StepResult:
    """A stored step (as written by StepResult.as_dict) read back, titled by the registry."""
    step = step_for(stored["key"])
    result = step.result(StepStatus(stored["status"]), stored.get("message", ""), stored.get("fix", ""))
    return result.with_details(**stored["details"]) if stored.get("details") else result


class SiteShare:
    """What one site answered in a re-validation round, shared by every connection on it.

    `site_results`: the per-site steps as first decided (no token in them). `reads`: user and
    group reads, reused only by tokens that may read administration data themselves.
    """

    def __init__(self, site_results: dict[str, StepResult] | None = None):
        self.site_results: dict[str, StepResult] = dict(site_results or {})
        self.reads: dict[tuple, ApiResult] = {}

    def __repr__(self) -> str:
        return f"<SiteShare {sorted(self.site_results)} reads={len(self.reads)}>"


class SiteRun:
    """State shared by the steps of one run: the client, what the site answered, results."""

    def __init__(self, subject: Subject, client: IssuetrakClient, today: dt.date, budget_s: float,
                 share: SiteShare | None = None):
        self.subject = subject
        self.client = client
        self.today = today
        self.budget_s = budget_s
        self.ends_by = time.monotonic() + budget_s
        self.share = share
        self.results: dict[str, StepResult] = {}
        self.waiting: dict[str, str] = {}  # skipped step → the failed step at the root
        self.auth: ApiResult | None = None
        self.settings_read: ApiResult | None = None
        self.users_forbidden = False
        self.user: dict | None = None

    def ok(self, key: str) -> bool:
        result = self.results.get(key)
        return result is not None and result.status.ok

    def site_answer(self) -> ApiResult:
        """GET /Authenticate/test, asked once per run (the per-site steps all judge it)."""
        if self.auth is None:
            self.auth = self.client.authenticate_test()
        return self.auth

    def read(self, name: str, *args) -> ApiResult:
        """A user or group read (`IssuetrakClient.<name>(*args)`), reused within a round.

        Only a token the site let read System/Settings (administration data) uses or fills the
        round's cache: a token that may not read users still gets its own 403.
        """
        cacheable = self.share is not None and self.settings_read is not None and self.settings_read.ok
        key = (name, *args)
        if cacheable and key in self.share.reads:
            return self.share.reads[key]
        result = getattr(self.client, name)(*args)
        if cacheable and result.ok:
            self.share.reads[key] = result
        return result

    def blocker(self, needs: tuple[str, ...]) -> str | None:
        """The root step that keeps these from being decided, or None when all passed."""
        for key in needs:
            if not self.ok(key):
                return self.waiting.get(key, key)
        return None

    def out_of_time(self) -> bool:
        return time.monotonic() >= self.ends_by

    def budget_spent(self, step: Step) -> StepResult:
        """`step` could not be (fully) checked: the run's time budget ran out."""
        return step.errored(
            f"Not checked: the checklist's time budget ({self.budget_s:g} s) ran out.",
            "The site answers too slowly for a whole checklist: check it is not overloaded, then "
            "run the checklist again (ISSUETRAK_CHECKLIST_BUDGET_S sets the budget).")

    def decide(self, step: Step) -> StepResult:
        """The step's result: out of budget, waiting on a failed need, shared with the round, or checked.

        A site step cut short by the budget says so.
        """
        if step.site and self.out_of_time():
            return self.budget_spent(step)
        blocker = self.blocker(step.needs)
        if blocker:
            return self.waiting_on(step, blocker)
        if self.share is not None and step.key in self.share.site_results:
            return self.share.site_results[step.key]
        result = step.check(self, step)
        if step.site and not result.status.ok and self.out_of_time():
            return self.budget_spent(step)
        if self.share is not None and step.key in PER_SITE_KEYS:
            self.share.site_results[step.key] = result
        return result

    def waiting_on(self, step: Step, key: str) -> StepResult:
        """`step` is skipped until the step `key` (or the root it waits on) passes."""
        root = self.waiting.get(key, key)
        self.waiting[step.key] = root
        return step.waiting_on(step_for(root))


def run_checklist(
    subject: Subject,
    *,
    on_step: Callable[[StepResult], None] | None = None,
    today: dt.date | None = None,
    client: IssuetrakClient | None = None,
    budget_s: float | None = None,
    share: SiteShare | None = None,
) -> list[StepResult]:
    """Run every step in order; `on_step` is called as each finishes (for live progress).

    The whole run ends within `budget_s` (ISSUETRAK_CHECKLIST_BUDGET_S): each call's deadline is
    the sooner of its timeout and the budget's end, and once the budget is spent the remaining
    site steps end as errors saying so. With a `share`, the per-site steps and admin reads are
    taken from (or given to) the round.
    """
    own_client = client is None
    client = client or IssuetrakClient(subject.base_url, subject.token)
    budget_s = settings.ISSUETRAK_CHECKLIST_BUDGET_S if budget_s is None else budget_s
    run = SiteRun(subject, client, today or timezone.localdate(), float(budget_s), share)
    saved_end, client.ends_by = client.ends_by, run.ends_by
    try:
        for step in STEPS:
            result = run.decide(step)
            run.results[step.key] = result
            if on_step:
                on_step(result)
    finally:
        client.ends_by = saved_end
        if own_client:
            client.close()
    return list(run.results.values())
