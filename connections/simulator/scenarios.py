"""The built-in scenario sites, written in the sites-file format of `connections.simulator.sites`.

Every site shares one small help-desk directory (a dozen users, seven groups, so lists page);
what differs is the token user ``integration`` (iid 17) and the site's flags. ``good-token``
works on every site except ``revoked-token``, and represents ``integration`` except on
``inactive-user``, where it represents the active Sys Admin ``admin`` so that the connection's
recorded user can be shown as inactive.

| site | what it answers |
| --- | --- |
| healthy | everything; ``integration`` is an active Sys Admin agent, also in "API Integrations" |
| group-admin | everything; ``integration`` is no Sys Admin but in "API Administrators" (IsAdmin) |
| not-admin | /Authenticate/test 200; System/Settings, Users, Groups → 403 |
| read-only-admin | all reads 200; ``integration`` has IsAdmin *and* IsReadOnlyAdmin (read-only wins) |
| inactive-user | ``integration`` is inactive; ``good-token`` is ``admin``'s; ``inactive-token`` → 401 |
| no-api | the web server's HTML 404 everywhere (API v2 not installed) |
| api-disabled | 403 ``ApiDisabled`` on every API path |
| revoked-token | 401 without a body on every API path |
| slow | like healthy, after ``slow_seconds`` |
| rate-limited | 429 with ``Retry-After: 120`` |
| server-error | 500 with an error envelope |
| garbage | 200 with an HTML page |
| redirect-away | 302 to ``http://elsewhere.invalid/…`` |
| slow-groups | ``integration`` is in 100 groups (the last grants IsAdmin); every answer takes 1 s |
"""

from connections.simulator.sites import Site, parse_sites

GOOD_TOKEN = "good-token"
INTEGRATION_IID = 17
ADMIN_IID = 1

_AGENT_BASICS = [
    "CanViewIssueHub", "CanViewSearchIssues", "CanViewSubmitIssue", "CanViewKnowledgeBase",
    "CanChangePassword", "CanUseQuickNotes",
]  # fmt: skip

GROUPS = [
    {"iid": 1, "name": "Administrators", "permissions": [
        "IsAdmin", "CanUseApiV2", "CanAssignIssues", "CanBeAssignedIssues",
        "CanViewAssignmentInformationInIssuesAndEmailNotifications", "CanCloseIssues", "CanEditIssues",
        "CanViewReports", "CanRunSummaryReports", *_AGENT_BASICS]},
    {"iid": 2, "name": "Help Desk Agents", "permissions": [
        "CanBeAssignedIssues", "CanViewAssignmentInformationInIssuesAndEmailNotifications",
        "CanSelfAssignIssuesInUnassignedQueue", "CanEditIssues", "CanCloseIssues",
        "CanInteractWithPrivateNotesOnIssues", *_AGENT_BASICS]},
    {"iid": 3, "name": "End Users", "permissions": [
        "CanViewSubmitIssue", "CanViewKnowledgeBase", "CanChangePassword"]},
    {"iid": 4, "name": "Asset Managers", "permissions": [
        "CanManageAssets", "CanSelectAssetOnIssues", "CanViewIssueHub"]},
    {"iid": 5, "name": "Auditors", "permissions": [
        "IsReadOnlyAdmin", "ReadOnlyAccessToAssets", "CanViewReports", "CanViewIssueHub"]},
    {"iid": 6, "name": "API Integrations", "permissions": ["CanUseApiV2"]},
    {"iid": 7, "name": "API Administrators", "permissions": ["IsAdmin", "CanUseApiV2"]},
]  # fmt: skip


# 100 groups for "slow-groups"; only the last grants IsAdmin, so a bounded read never sees it.
MANY_GROUPS = [{"iid": iid, "name": f"Team {iid}", "permissions": ["CanUseApiV2", "CanViewIssueHub"]}
               for iid in range(101, 200)] + [{"iid": 200, "name": "Team 200",
                                               "permissions": ["CanUseApiV2", "IsAdmin"]}]


def _person(iid, login, display, groups, **flags):
    first_last = display.split(", ")
    email = f"{first_last[-1]}.{first_last[0]}@example.com".lower().replace(" ", "")
    return {"iid": iid, "id": login, "displayName": display, "email": email, "groups": groups, **flags}


PEOPLE = [
    _person(ADMIN_IID, "admin", "Administrator, Site", [1], isSysAdmin=True),
    _person(2, "jdoe", "Doe, Jane", [2]),
    _person(3, "rpatel", "Patel, Ravi", [2, 4]),
    _person(4, "mgarcia", "Garcia, Maria", [2]),
    _person(5, "kwong", "Wong, Kevin", [1]),
    _person(6, "lchen", "Chen, Li", [3], isAgent=False),
    _person(8, "tbrown", "Brown, Tom", [3], isAgent=False),
    _person(9, "asmith", "Smith, Alice", [3], isAgent=False, isActive=False),
    _person(11, "smiller", "Miller, Sam", [2], isActive=False, canLogin=False),
    _person(12, "lnguyen", "Nguyen, Linh", [5]),
    _person(14, "zapier", "Zapier, Connector", [6], canLogin=False),
]


def _integration(groups, **flags):
    return {"iid": INTEGRATION_IID, "id": "integration", "displayName": "Integration, API",
            "isAgent": True, "canLogin": False, "email": "integration@example.com",
            "groups": groups, **flags}  # fmt: skip


def _site(name, description, integration, behaviour=None, tokens=None, **flags):
    return {
        "name": name,
        "description": description,
        "flags": {"behaviour": behaviour, **flags},
        "users": [*PEOPLE, integration],
        "groups": GROUPS,
        "tokens": {GOOD_TOKEN: INTEGRATION_IID} if tokens is None else tokens,
    }


_HEALTHY_USER = _integration([6], isSysAdmin=True)

SCENARIOS = [
    _site("healthy", "Everything works: integration is an active Sys Admin.", _HEALTHY_USER),
    _site("group-admin", "integration is an administrator through its group (IsAdmin).",
          _integration([7])),
    _site("not-admin", "The token works, but integration is no administrator: admin reads 403.",
          _integration([6, 2])),
    _site("read-only-admin", "integration has IsAdmin, but IsReadOnlyAdmin from Auditors overrides it.",
          _integration([7, 5])),
    _site("inactive-user", "The token works (it is admin's), but integration is inactive.",
          _integration([7], isActive=False),
          tokens={GOOD_TOKEN: ADMIN_IID, "inactive-token": INTEGRATION_IID}),
    _site("no-api", "API v2 is not installed: the web server answers 404.", _HEALTHY_USER,
          api_installed=False),
    _site("api-disabled", "API v2 is installed but switched off: 403 ApiDisabled.", _HEALTHY_USER,
          api_enabled=False),
    {**_site("revoked-token", "The token was revoked: 401 on every call.", _HEALTHY_USER, tokens={}),
     "revoked_tokens": [GOOD_TOKEN]},
    _site("slow", "Answers only after a long delay (a timeout test).", _HEALTHY_USER, behaviour="slow"),
    _site("rate-limited", "Always over the rate limit: 429, Retry-After 120.", _HEALTHY_USER,
          behaviour="rate_limited"),
    _site("server-error", "The API application fails: 500.", _HEALTHY_USER, behaviour="server_error"),
    _site("garbage", "Something else answers: an HTML page with 200.", _HEALTHY_USER,
          behaviour="garbage"),
    _site("redirect-away", "Redirects to another host.", _HEALTHY_USER, behaviour="redirect_away"),
    {**_site("slow-groups", "integration is in 100 groups and every answer takes 1 s.",
             _integration(list(range(101, 201))), latency_seconds=1.0),
     "groups": [*GROUPS, *MANY_GROUPS]},
]  # fmt: skip


def builtin_sites() -> list[Site]:
    """The scenario sites every simulator serves."""
    return parse_sites(SCENARIOS)
