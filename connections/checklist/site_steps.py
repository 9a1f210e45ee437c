"""The site steps: can this server reach the site's API v2, and does it accept the token as an admin?

Each check is `check(run, step)` and returns a StepResult through the step's helpers. These
are the steps re-validation sums up as a connection's site health.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from django.conf import settings

from connections import procedure
from connections.checklist.results import Step, StepResult
from connections.choices import StepStatus
from connections.issuetrak import ApiResult, Outcome

if TYPE_CHECKING:
    from connections.checklist.registry import SiteRun

FIX_BASE_URL = (
    f"{procedure.COPY_APPLICATION_URL}; API v2 lives under it at /api/v2 and must be served over "
    "SSL (https)."
)
FIX_TOKEN_USER = (
    "Record the Issuetrak User ID that was chosen in the token's User field (if that field was "
    "left blank, the token acts as the administrator who created it). API v2 cannot tell who a "
    "token belongs to, so without it the checklist cannot verify the admin permissions."
)
FIX_ADMIN = (
    "A token acts with its user's permissions. Make {user} a Sys Admin, or put it in a group "
    f"that grants both {procedure.ADMIN_PERMISSIONS} — or create the token for a user who "
    "already has them."
)
FIX_INSTALL = f"{procedure.INSTALL_API_V2} Issuetrak cloud sites always have it, so check the Base URL."

# The admin step reads at most this many of the token user's groups (one call each).
MAX_GROUPS_READ = 20

REACH_FAILURES = {
    Outcome.DNS: "The host name does not resolve from this server. Check the Base URL against "
                 f"the Application URL ({procedure.DEFAULTS_MENU}) and this server's DNS.",
    Outcome.CONNECT: "Nothing accepts connections there. Check the site is up and that "
                     "firewalls let this server reach it.",
    Outcome.TLS: "API v2 must be served over SSL with a certificate clients trust: install a "
                 "certificate from a trusted authority for exactly this host name.",
    Outcome.TIMEOUT: "The site did not answer in time. Check it is up and not overloaded — a "
                     "site too slow for this check is too slow for Zapier as well.",
    Outcome.REDIRECTED: "The site sends requests to another address. Use the Application URL "
                        f"exactly as {procedure.DEFAULTS_MENU} shows it.",
    Outcome.BLOCKED: "Nothing was sent. If the site really lives at that address, whoever runs "
                     "this server lists its network in ISSUETRAK_ALLOWED_NETWORKS (or its port in "
                     "ISSUETRAK_ALLOWED_PORTS); otherwise correct the Base URL.",
}


def unexpected(step: Step, result: ApiResult) -> StepResult:
    """A step met an answer it cannot judge: error (site trouble) or fail (not the API)."""
    if result.outcome == Outcome.RATE_LIMITED:
        wait = f"; Issuetrak asks to wait {result.retry_after:.0f} s" if result.retry_after else ""
        return step.errored(f"Rate limited by the site (HTTP 429){wait}.",
                            "Issuetrak's default limits are 20 requests a second and 100 a minute. "
                            "Run the checklist again later; if other tools share this token, give "
                            "each its own token.")
    if result.outcome == Outcome.SERVER_ERROR:
        trace = f" (traceId {result.trace_id})" if result.trace_id else ""
        return step.errored(f"The site failed with a server error{trace}.",
                            "Give the traceId to whoever runs the Issuetrak server, or to Issuetrak "
                            "Support; the site's API v2 logs say what went wrong.")
    if result.outcome in REACH_FAILURES:
        return step.errored(result.message, REACH_FAILURES[result.outcome])
    return step.errored(f"Unexpected answer: {result.message}",
                        "Run the checklist again; if it persists, check the site's API v2 logs.")


def check_base_url(run: SiteRun, step: Step) -> StepResult:
    url = run.subject.base_url
    if url.startswith("https://"):
        return step.passed(f"{url} is a well-formed https address.")
    if url.startswith("http://") and settings.ISSUETRAK_ALLOW_HTTP:
        return step.passed(f"{url} uses plain http, allowed here by ISSUETRAK_ALLOW_HTTP.")
    if url.startswith("http://"):
        return step.failed("Plain http: API v2 requires SSL.")
    return step.failed("The Base URL is not an http(s) address.")


def check_reachable(run: SiteRun, step: Step) -> StepResult:
    run.site_answer()
    if run.auth.outcome in REACH_FAILURES:
        return step.failed(run.auth.message, REACH_FAILURES[run.auth.outcome])
    return step.passed(f"The site answered in {run.auth.elapsed_ms} ms.")


def check_api_v2_installed(run: SiteRun, step: Step) -> StepResult:
    outcome = run.site_answer().outcome
    if outcome == Outcome.NOT_INSTALLED:
        return step.failed("Nothing answers under /api/v2: the web server's own 404 page came back.")
    if outcome == Outcome.BAD_RESPONSE:
        return step.failed(f"A web page answered where API v2 should: {run.auth.message}",
                           "Check the Base URL is the Application URL (not a portal or login page) "
                           "and that API v2 is installed under it.")
    if outcome in (Outcome.RATE_LIMITED, Outcome.SERVER_ERROR):
        return unexpected(step, run.auth)
    return step.passed("The API v2 application answers under /api/v2.")


def check_api_v2_enabled(run: SiteRun, step: Step) -> StepResult:
    if run.site_answer().outcome == Outcome.DISABLED:
        return step.failed("API v2 is installed but switched off for this site.")
    return step.passed("API v2 is switched on.")


def check_token_valid(run: SiteRun, step: Step) -> StepResult:
    if not run.subject.token:
        return step.failed("No API token stored yet.",
                           f"{procedure.CREATE_TOKEN} and copy the value shown once; a sysadmin "
                           f"stores it with “{procedure.STORE_TOKEN}”, which checks it first.")
    run.settings_read = run.client.system_settings()
    outcome = run.settings_read.outcome
    if outcome in (Outcome.OK, Outcome.FORBIDDEN):
        return step.passed("Issuetrak accepts the token.")
    if outcome == Outcome.UNAUTHORIZED:
        expires_on = run.subject.expires_on
        if expires_on and expires_on < run.today:
            return step.failed(f"The token was rejected: it expired on {expires_on:%Y-%m-%d}.")
        return step.failed("The token was rejected: it is wrong or revoked.",
                           "Check you pasted the whole New Token value with nothing around it. "
                           + procedure.NEW_TOKEN)
    return unexpected(step, run.settings_read)


def check_token_user(run: SiteRun, step: Step) -> StepResult:
    login_id = run.subject.token_user
    if not login_id:
        return step.warned("No token user recorded.")
    found = run.read("search_users", login_id)
    if found.outcome == Outcome.FORBIDDEN:
        run.users_forbidden = True
        return step.warned(f"Could not look up “{login_id}”: the token may not read users (403), "
                           "so its user is no administrator.", FIX_ADMIN.format(user=login_id))
    if not found.ok:
        return unexpected(step, found)
    # Users/Search answers whole User records (isActive, isSysAdmin): no GET /Users/{iid} needed.
    run.user = _exact_user(found.values, login_id)
    if run.user is None:
        return step.failed(f"No Issuetrak user has the User ID “{login_id}”.")
    read = {"user": user_facts(run.user)}
    if not run.user.get("isActive", False):
        return step.failed(f"User “{login_id}” is inactive in Issuetrak.",
                           "A token acts as its user: reactivate the user, or create the token for "
                           "an active administrator and replace it here.").with_details(**read)
    return step.passed(f"“{login_id}” ({run.user.get('displayName') or 'no display name'}) "
                       "exists and is active.").with_details(**read)


def user_facts(user: dict) -> dict:
    """What the "why not admin" panel needs of a user record (no contact details)."""
    keys = ("iid", "displayName", "isActive", "isAgent", "isSysAdmin")
    return {key: user.get(key) for key in keys}


def _exact_user(values, login_id: str) -> dict | None:
    for user in values or []:
        if str(user.get("id", "")).lower() == login_id.lower():
            return user
    return None


def check_token_admin(run: SiteRun, step: Step) -> StepResult:
    login_id = run.subject.token_user
    if run.users_forbidden or (run.settings_read and run.settings_read.outcome == Outcome.FORBIDDEN):
        who = f"“{login_id}”" if login_id else "the token's user"
        return step.failed(f"The site refuses administration reads (403): {who} is no "
                           "administrator.", FIX_ADMIN.format(user=who)).with_details(forbidden=True)
    if not login_id:
        return step.warned("Admin rights not verified: no token user recorded.", FIX_TOKEN_USER)
    if run.results["token_user"].status != StepStatus.PASS:
        return run.waiting_on(step, "token_user")
    return _admin_from_groups(run, step, login_id)


def _admin_from_groups(run: SiteRun, step: Step, login_id: str) -> StepResult:
    read = {"user": user_facts(run.user), "groups": []}
    if run.user.get("isSysAdmin"):
        return step.passed(f"“{login_id}” is a Sys Admin.").with_details(**read)
    memberships = run.read("user_groups", run.user["iid"])
    if not memberships.ok:
        return unexpected(step, memberships)
    # One call per group: a user in a hundred groups must not hold up the run (or the site).
    held = memberships.values
    for membership in held[:MAX_GROUPS_READ]:
        group = run.read("get_group", membership["groupIid"])
        if not group.ok:
            return unexpected(step, group)
        read["groups"].append({"iid": group.values["iid"], "name": group.values["name"],
                               "permissions": list(group.values["permissions"])})
    result = _judge_admin(step, login_id, read, len(held))
    if len(held) > MAX_GROUPS_READ and result.status != StepStatus.WARN:
        result = replace(result, message=f"{result.message} (Read the first {MAX_GROUPS_READ} of "
                                         f"{len(held)} groups.)")
    return result.with_details(**read, groups_held=len(held))


def _judge_admin(step: Step, login_id: str, read: dict, held: int = 0) -> StepResult:
    permissions = {p for group in read["groups"] for p in group["permissions"]}
    who = f"“{login_id}”"
    if held > len(read["groups"]) and "IsAdmin" not in permissions:
        return step.warned(f"No group among the first {MAX_GROUPS_READ} of {held} groups gives "
                           f"{who} “Can access and maintain Administration functions”; the other "
                           f"{held - len(read['groups'])} were not read.", FIX_ADMIN.format(user=who))
    if "IsAdmin" in permissions and "IsReadOnlyAdmin" in permissions:
        return step.failed(f"A group gives {who} “Allowed Read Only access to Administration "
                           "information”, which overrides “Can access and maintain Administration "
                           "functions”.",
                           "Remove the read-only administration permission from that user's groups. "
                           + FIX_ADMIN.format(user=who))
    if "IsAdmin" in permissions:
        return step.passed(f"A group gives {who} “Can access and maintain Administration functions”.")
    return step.failed(f"{who} is not a Sys Admin and no group gives it “Can access and maintain "
                       "Administration functions”.", FIX_ADMIN.format(user=who))
