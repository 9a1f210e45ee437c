"""The setup checklist: ordered steps that prove a connection works, each with a fix.

Plain Python: `run_checklist(Subject(...))` talks to the site through the Issuetrak client and
returns one StepResult per step, in order. A step that cannot be decided because one it needs
did not pass is `skip`, naming the step it waits on. Texts paraphrase Issuetrak's procedure for
connecting Zapier (version, API v2 installed and enabled, an admin token, Application URL).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone
from packaging.version import InvalidVersion, Version

from connections.issuetrak import ApiResult, IssuetrakClient, Outcome
from connections.models import StepStatus

MINIMUM_VERSION = Version("14.9")

TITLES = {
    "base_url": "Base URL is the Application URL",
    "reachable": "Site is reachable",
    "api_v2_installed": "API v2 is installed",
    "api_v2_enabled": "API v2 is enabled",
    "version": "Issuetrak version",
    "token_valid": "API token is accepted",
    "token_user": "Token user exists and is active",
    "token_admin": "Token user is an administrator",
    "expiration_set": "Expiration date recorded",
    "expiry_window": "Token is not about to expire",
    "label_matches_token_name": "Label matches the token name",
}
STEP_KEYS = tuple(TITLES)

FIX_BASE_URL = (
    "In Issuetrak open the gear icon → System → Defaults and copy the Application URL exactly; "
    "API v2 lives under it at /api/v2 and must be served over SSL (https)."
)
FIX_TOKEN_USER = (
    "Record the Issuetrak User ID that was chosen in the token's User field (if that field was "
    "left blank, the token acts as the administrator who created it). API v2 cannot tell who a "
    "token belongs to, so without it the checklist cannot verify the admin permissions."
)
FIX_ADMIN = (
    "A token acts with its user's permissions. Make {user} a Sys Admin, or put it in a group "
    "that grants both “Can access and maintain Administration functions” and “Can authenticate "
    "with the API v2” — or create the token for a user who already has them."
)
FIX_NEW_TOKEN = (
    "Create a new token in Issuetrak (gear icon → API v2 → Tokens → Add New), copy the value "
    "shown once, and replace the token here; then revoke the old one."
)


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
    key: str
    status: StepStatus
    message: str
    fix: str = ""

    def as_dict(self) -> dict:
        return {"key": self.key, "status": str(self.status), "message": self.message,
                "fix": self.fix}

    @property
    def title(self) -> str:
        return TITLES[self.key]


def passed(key, message):
    return StepResult(key, StepStatus.PASS, message)


def warned(key, message, fix):
    return StepResult(key, StepStatus.WARN, message, fix)


def failed(key, message, fix):
    return StepResult(key, StepStatus.FAIL, message, fix)


def errored(key, message, fix):
    return StepResult(key, StepStatus.ERROR, message, fix)


def skipped(key, waits_on):
    return StepResult(
        key, StepStatus.SKIP, f"Not checked: waiting on “{TITLES[waits_on]}” ({waits_on}).",
        f"Fix “{TITLES[waits_on]}” first, then run the checklist again.",
    )


class _Run:
    """State shared by the steps of one run: the client, what the site answered, results."""

    def __init__(self, subject: Subject, client: IssuetrakClient, today: dt.date):
        self.subject = subject
        self.client = client
        self.today = today
        self.results: dict[str, StepResult] = {}
        self.waiting: dict[str, str] = {}  # skipped step → the failed step at the root
        self.auth: ApiResult | None = None
        self.settings_read: ApiResult | None = None
        self.users_forbidden = False
        self.user: dict | None = None

    def ok(self, key: str) -> bool:
        result = self.results.get(key)
        return result is not None and result.status in (StepStatus.PASS, StepStatus.WARN)

    def blocker(self, needs: tuple[str, ...]) -> str | None:
        """The root step that keeps these from being decided, or None when all passed."""
        for key in needs:
            if not self.ok(key):
                return self.waiting.get(key, key)
        return None


# --- how an unexpected answer reads, whatever step met it ----------------------------------

def unexpected(key: str, result: ApiResult) -> StepResult:
    """A step met an answer it cannot judge: error (site trouble) or fail (not the API)."""
    if result.outcome == Outcome.RATE_LIMITED:
        wait = f"; Issuetrak asks to wait {result.retry_after:.0f} s" if result.retry_after else ""
        return errored(key, f"Rate limited by the site (HTTP 429){wait}.",
                       "Issuetrak's default limits are 20 requests a second and 100 a minute. "
                       "Run the checklist again later; if other tools share this token, give "
                       "each its own token.")
    if result.outcome == Outcome.SERVER_ERROR:
        trace = f" (traceId {result.trace_id})" if result.trace_id else ""
        return errored(key, f"The site failed with a server error{trace}.",
                       "Give the traceId to whoever runs the Issuetrak server, or to Issuetrak "
                       "Support; the site's API v2 logs say what went wrong.")
    if result.outcome in REACH_FAILURES:
        return errored(key, result.message, REACH_FAILURES[result.outcome])
    return errored(key, f"Unexpected answer: {result.message}",
                   "Run the checklist again; if it persists, check the site's API v2 logs.")


REACH_FAILURES = {
    Outcome.DNS: "The host name does not resolve from this server. Check the Base URL against "
                 "the Application URL (gear icon → System → Defaults) and this server's DNS.",
    Outcome.CONNECT: "Nothing accepts connections there. Check the site is up and that "
                     "firewalls let this server reach it.",
    Outcome.TLS: "API v2 must be served over SSL with a certificate clients trust: install a "
                 "certificate from a trusted authority for exactly this host name.",
    Outcome.TIMEOUT: "The site did not answer in time. Check it is up and not overloaded — a "
                     "site too slow for this check is too slow for Zapier as well.",
    Outcome.REDIRECTED: "The site sends requests to another address. Use the Application URL "
                        "exactly as Settings → System → Defaults shows it.",
}


# --- the steps ------------------------------------------------------------------------------

def check_base_url(run: _Run) -> StepResult:
    url = run.subject.base_url
    if url.startswith("https://"):
        return passed("base_url", f"{url} is a well-formed https address.")
    if url.startswith("http://") and settings.ISSUETRAK_ALLOW_HTTP:
        return passed("base_url", f"{url} uses plain http, allowed here by ISSUETRAK_ALLOW_HTTP.")
    if url.startswith("http://"):
        return failed("base_url", "Plain http: API v2 requires SSL.", FIX_BASE_URL)
    return failed("base_url", "The Base URL is not an http(s) address.", FIX_BASE_URL)


def check_reachable(run: _Run) -> StepResult:
    run.auth = run.client.authenticate_test()
    if run.auth.outcome in REACH_FAILURES:
        return failed("reachable", run.auth.message, REACH_FAILURES[run.auth.outcome])
    return passed("reachable", f"The site answered in {run.auth.elapsed_ms} ms.")


def check_api_v2_installed(run: _Run) -> StepResult:
    outcome = run.auth.outcome
    if outcome == Outcome.NOT_INSTALLED:
        return failed(
            "api_v2_installed", "Nothing answers under /api/v2: the web server's own 404 page came back.",
            "Self-hosted sites install API v2 separately: its own IIS application pool (“No "
            "Managed Code”) with the .NET hosting bundle, served over SSL under the Application "
            "URL. Issuetrak cloud sites always have it, so check the Base URL.",
        )
    if outcome == Outcome.BAD_RESPONSE:
        return failed(
            "api_v2_installed", f"A web page answered where API v2 should: {run.auth.message}",
            "Check the Base URL is the Application URL (not a portal or login page) and that "
            "API v2 is installed under it.",
        )
    if outcome in (Outcome.RATE_LIMITED, Outcome.SERVER_ERROR):
        return unexpected("api_v2_installed", run.auth)
    return passed("api_v2_installed", "The API v2 application answers under /api/v2.")


def check_api_v2_enabled(run: _Run) -> StepResult:
    if run.auth.outcome == Outcome.DISABLED:
        return failed(
            "api_v2_enabled", "API v2 is installed but switched off for this site.",
            "Sign in to Issuetrak as a system administrator, open the gear icon → System → "
            "Features, tick “Enable API v2” and click Update.",
        )
    return passed("api_v2_enabled", "API v2 is switched on.")


def check_version(run: _Run) -> StepResult:
    if run.subject.cloud:
        return StepResult("version", StepStatus.SKIP,
                          "Issuetrak cloud sites are kept on the current release by Issuetrak.")
    recorded = run.subject.issuetrak_version
    if not recorded:
        return _version_unrecorded(run)
    try:
        version = Version(recorded)
    except InvalidVersion:
        return failed("version", f"“{recorded}” is not a version number.", FIX_VERSION)
    latest = Version(settings.ISSUETRAK_LATEST_VERSION)
    if version < MINIMUM_VERSION:
        return failed("version", f"Issuetrak {recorded} is older than 14.9, which API v2 needs.",
                      "Upgrade Issuetrak to the most recent release (at least 14.9).")
    if version < latest:
        return warned(
            "version", f"Issuetrak {recorded}: upgrade recommended: new API v2 endpoints come "
            f"with new versions (newest known: {latest}).",
            "Upgrade to the most recent release so new Zapier actions and triggers work.",
        )
    return passed("version", f"Issuetrak {recorded}, the most recent release we know.")


FIX_VERSION = (
    "Read the exact version in Issuetrak — the drop-down under your name in the top right "
    "shows it at the bottom, or Settings → System → License “Running Version” — and record it "
    "on the connection."
)


def _version_unrecorded(run: _Run) -> StepResult:
    if run.ok("api_v2_installed"):
        return passed("version", "At least 14.9 (API v2 answers) — confirm the exact version.")
    return warned("version", "Version unknown: no version recorded and API v2 did not answer.",
                  FIX_VERSION)


def check_token_valid(run: _Run) -> StepResult:
    if not run.subject.token:
        return failed("token_valid", "No API token stored yet.",
                      "A sysadmin stores the token with “Rotate token”; it is checked before it "
                      "is saved. " + FIX_NEW_TOKEN)
    run.settings_read = run.client.system_settings()
    outcome = run.settings_read.outcome
    if outcome in (Outcome.OK, Outcome.FORBIDDEN):
        return passed("token_valid", "Issuetrak accepts the token.")
    if outcome == Outcome.UNAUTHORIZED:
        expires_on = run.subject.expires_on
        if expires_on and expires_on < run.today:
            return failed("token_valid", f"The token was rejected: it expired on {expires_on:%Y-%m-%d}.",
                          FIX_NEW_TOKEN)
        return failed("token_valid", "The token was rejected: it is wrong or revoked.",
                      "Check you pasted the whole New Token value with nothing around it. "
                      + FIX_NEW_TOKEN)
    return unexpected("token_valid", run.settings_read)


def check_token_user(run: _Run) -> StepResult:
    login_id = run.subject.token_user
    if not login_id:
        return warned("token_user", "No token user recorded.", FIX_TOKEN_USER)
    found = run.client.search_users(login_id)
    if found.outcome == Outcome.FORBIDDEN:
        run.users_forbidden = True
        return warned("token_user", f"Could not look up “{login_id}”: the token may not read "
                      "users (403), so its user is no administrator.", FIX_ADMIN.format(user=login_id))
    if not found.ok:
        return unexpected("token_user", found)
    match = _exact_user(found.values, login_id)
    if match is None:
        return failed("token_user", f"No Issuetrak user has the User ID “{login_id}”.", FIX_TOKEN_USER)
    user = run.client.get_user(match["iid"])
    if not user.ok:
        return unexpected("token_user", user)
    run.user = user.values
    if not run.user.get("isActive", False):
        return failed("token_user", f"User “{login_id}” is inactive in Issuetrak.",
                      "A token acts as its user: reactivate the user, or create the token for "
                      "an active administrator and replace it here.")
    return passed("token_user", f"“{login_id}” ({run.user.get('displayName') or 'no display name'}) "
                  "exists and is active.")


def _exact_user(values, login_id: str) -> dict | None:
    for user in values or []:
        if str(user.get("id", "")).lower() == login_id.lower():
            return user
    return None


def check_token_admin(run: _Run) -> StepResult:
    login_id = run.subject.token_user
    if run.users_forbidden or (run.settings_read and run.settings_read.outcome == Outcome.FORBIDDEN):
        who = f"“{login_id}”" if login_id else "the token's user"
        return failed("token_admin", f"The site refuses administration reads (403): {who} is no "
                      "administrator.", FIX_ADMIN.format(user=who))
    if not login_id:
        return warned("token_admin", "Admin rights not verified: no token user recorded.",
                      FIX_TOKEN_USER)
    if run.results["token_user"].status != StepStatus.PASS:
        return skipped("token_admin", "token_user")
    return _admin_from_groups(run, login_id)


def _admin_from_groups(run: _Run, login_id: str) -> StepResult:
    if run.user.get("isSysAdmin"):
        return passed("token_admin", f"“{login_id}” is a Sys Admin.")
    memberships = run.client.user_groups(run.user["iid"])
    if not memberships.ok:
        return unexpected("token_admin", memberships)
    permissions: set[str] = set()
    for membership in memberships.values or []:
        group = run.client.get_group(membership["groupIid"])
        if not group.ok:
            return unexpected("token_admin", group)
        permissions.update(group.values.get("permissions") or [])
    if "IsAdmin" in permissions and "IsReadOnlyAdmin" in permissions:
        return failed("token_admin", f"A group gives “{login_id}” “Allowed Read Only access to "
                      "Administration information”, which overrides “Can access and maintain "
                      "Administration functions”.",
                      "Remove the read-only administration permission from that user's groups. "
                      + FIX_ADMIN.format(user=f"“{login_id}”"))
    if "IsAdmin" in permissions:
        return passed("token_admin", f"A group gives “{login_id}” “Can access and maintain "
                      "Administration functions”.")
    return failed("token_admin", f"“{login_id}” is not a Sys Admin and no group gives it “Can "
                  "access and maintain Administration functions”.", FIX_ADMIN.format(user=f"“{login_id}”"))


def check_expiration_set(run: _Run) -> StepResult:
    if run.subject.expires_on:
        return passed("expiration_set", f"Expires on {run.subject.expires_on:%Y-%m-%d}.")
    return warned(
        "expiration_set", "No expiration date: the token works until someone revokes it.",
        "Issuetrak strongly advises an expiration date: it enforces key rotation and lets us warn "
        "before the token stops working. Record it if the token has one; otherwise plan a new "
        "token with one.",
    )


def check_expiry_window(run: _Run) -> StepResult:
    expires_on = run.subject.expires_on
    if not expires_on:
        return StepResult("expiry_window", StepStatus.SKIP,
                          "No expiration date recorded, so nothing to count down.")
    days = (expires_on - run.today).days
    window = max(settings.EXPIRY_THRESHOLDS_DAYS)
    if days < 0:
        return failed("expiry_window", f"Expired on {expires_on:%Y-%m-%d}.", FIX_NEW_TOKEN)
    if days <= window:
        when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
        return warned("expiry_window", f"Expires {when} ({expires_on:%Y-%m-%d}).",
                      f"Before {expires_on:%Y-%m-%d}: " + FIX_NEW_TOKEN)
    return passed("expiry_window", f"Expires in {days} days.")


def check_label_matches_token_name(run: _Run) -> StepResult:
    label, name = run.subject.label, run.subject.token_name
    if name and label.casefold() == name.casefold():
        return passed("label_matches_token_name", "The label is the token's name.")
    problem = (f"The label “{label}” differs from the token name “{name}”." if name
               else "No token name recorded.")
    return warned("label_matches_token_name", problem,
                  "Use the token's name as the connection label (in Zapier too), so you can find "
                  "the connection to update when this token is revoked or expires.")


# key → (step, the steps it needs passed)
STEPS: tuple[tuple[str, Callable[[_Run], StepResult], tuple[str, ...]], ...] = (
    ("base_url", check_base_url, ()),
    ("reachable", check_reachable, ("base_url",)),
    ("api_v2_installed", check_api_v2_installed, ("reachable",)),
    ("api_v2_enabled", check_api_v2_enabled, ("api_v2_installed",)),
    ("version", check_version, ()),
    ("token_valid", check_token_valid, ("api_v2_enabled",)),
    ("token_user", check_token_user, ("token_valid",)),
    ("token_admin", check_token_admin, ("token_valid",)),
    ("expiration_set", check_expiration_set, ()),
    ("expiry_window", check_expiry_window, ()),
    ("label_matches_token_name", check_label_matches_token_name, ()),
)


def run_checklist(
    subject: Subject,
    *,
    on_step: Callable[[StepResult], None] | None = None,
    today: dt.date | None = None,
    client: IssuetrakClient | None = None,
) -> list[StepResult]:
    """Run every step in order; `on_step` is called as each finishes (for live progress)."""
    own_client = client is None
    client = client or IssuetrakClient(subject.base_url, subject.token)
    run = _Run(subject, client, today or timezone.localdate())
    try:
        for key, step, needs in STEPS:
            blocker = run.blocker(needs)
            if blocker:
                run.waiting[key] = blocker
                result = skipped(key, blocker)
            else:
                result = step(run)
            run.results[key] = result
            if on_step:
                on_step(result)
    finally:
        if own_client:
            client.close()
    return list(run.results.values())


def overall_of(results: list[StepResult]) -> StepStatus:
    """fail if any step failed or errored, else warn if any warned, else pass."""
    statuses = {r.status for r in results}
    if statuses & {StepStatus.FAIL, StepStatus.ERROR}:
        return StepStatus.FAIL
    if StepStatus.WARN in statuses:
        return StepStatus.WARN
    return StepStatus.PASS


def step_rows(run) -> list[dict]:
    """Every step of a stored run in checklist order, with titles; pending ones marked."""
    done = {step["key"]: step for step in run.steps}
    pending = "queued" if run.state == "queued" else "running"
    rows = []
    for key in STEP_KEYS:
        step = done.get(key) or {"key": key, "status": pending if not run.is_done else "skip",
                                 "message": "Waiting…" if not run.is_done else "Not run.", "fix": ""}
        rows.append(step | {"title": TITLES[key]})
    return rows
