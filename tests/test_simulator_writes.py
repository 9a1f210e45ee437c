"""The simulator's writes refuse what Issuetrak's API refuses, and a PUT replaces the object."""

import time

import pytest
import requests

from connections.simulator import IssuetrakSimulator
from connections.simulator.ratelimit import RateLimiter
from connections.simulator.scenarios import ADMIN_IID, INTEGRATION_IID

ADMIN = {"X-Api-Key": "admin-token"}  # a Sys Admin's token, as a person would type it for a repair
INTEGRATION = {"X-Api-Key": "good-token"}
# Group record fields that UpdateGroup accepts (the others are read-only).
GROUP_WRITABLE = ("name", "isActive", "primaryOrganizationIid", "isAgentOnly", "phoneNumber", "email", "sms",
                  "departmentIid", "isRoundRobin", "permissions")


@pytest.fixture
def sim():
    """A fresh simulator per test: writes change its sites."""
    with IssuetrakSimulator() as simulator:
        for site in simulator.sites:
            simulator.add_token(site, "admin-token", ADMIN_IID)
        yield simulator


def call(sim, method, path, site="not-admin", headers=ADMIN, **kwargs):
    url = f"{sim.site_url(site)}/api/v2{path}"
    return requests.request(method, url, headers=headers, timeout=10, **kwargs)


def messages(response):
    assert response.status_code == 400
    return [item["message"] for item in response.json()["information"]
            if item["type"] == "Validation"]


def group_names(sim, site="not-admin"):
    return [g["name"] for g in call(sim, "GET", "/Groups?PageSize=100", site=site).json()["values"]]


def writable(record):
    return {key: record[key] for key in GROUP_WRITABLE}


def test_it_creates_a_group_with_valid_permissions(sim):
    body = {"name": "API integration", "primaryOrganizationIid": 1, "isAgentOnly": True,
            "permissions": ["IsAdmin", "CanUseApiV2"]}

    created = call(sim, "POST", "/Groups", json=body)

    assert created.status_code == 201
    group = created.json()["values"]
    assert group["permissions"] == ["IsAdmin", "CanUseApiV2"] and group["isActive"] is True
    assert group["createdByUserIid"] == ADMIN_IID
    assert call(sim, "GET", f"/Groups/{group['iid']}").json()["values"] == group


@pytest.mark.parametrize(("permissions", "expected"), [
    (["IsAdmin", "IsReadOnlyAdmin"], "'IsAdmin' cannot be granted together with 'IsReadOnlyAdmin'"),
    (["ReadOnlyAccessToAssets", "CanManageAssets"], "'CanManageAssets' cannot be granted together with"),
    (["CanBeAssignedIssues"],
     "'CanBeAssignedIssues' requires permission 'CanViewAssignmentInformationInIssuesAndEmailNotifications'"),
])  # fmt: skip
def test_it_refuses_a_set_zapier_would_repair_and_creates_nothing(sim, permissions, expected):
    before = group_names(sim)

    response = call(sim, "POST", "/Groups", json={"name": "Mixed", "primaryOrganizationIid": 1,
                                                   "permissions": permissions})

    assert any(expected in message for message in messages(response))
    assert group_names(sim) == before


def test_it_names_each_broken_rule_in_its_own_item(sim):
    everything = ["IsAdmin", "IsReadOnlyAdmin", "CanManageAssets", "ReadOnlyAccessToAssets",
                  "CanBeAssignedIssues"]

    response = call(sim, "POST", "/Groups", json={"name": "All", "primaryOrganizationIid": 1,
                                                   "permissions": everything})

    assert len(messages(response)) == 3


@pytest.mark.parametrize(("method", "path", "body", "expected"), [
    ("POST", "/Groups", {"name": "X", "primaryOrganizationIid": 1, "iid": 99}, "Unknown field(s): iid"),
    ("POST", "/Groups", {"name": "X"}, "Required field(s) missing: primaryOrganizationIid"),
    ("POST", "/Groups", {"name": "X", "primaryOrganizationIid": 1, "permissions": ["IsGod"]}, "not valid"),
    ("PUT", "/Groups/7", {"name": "X", "primaryOrganizationIid": 1, "modifiedDate": "2026-01-01T00:00:00"},
     "Unknown field(s): modifiedDate"),
    ("PUT", "/Groups/7", {"primaryOrganizationIid": 1}, "Required field(s) missing: name"),
    ("PUT", "/Groups/7", {"name": "x" * 51, "primaryOrganizationIid": 1}, "at most 50 characters"),
    ("PUT", "/Users/17", {"displayName": "Integration, API"}, "Required field(s) missing: firstName"),
    ("PUT", "/Users/17", {"id": "integration"}, "Unknown field(s): id"),
    ("POST", "/Users/17/Memberships/Groups", [{"groupIid": 999}], "Group with IID 999 does not exist"),
    ("POST", "/Users/17/Memberships/Groups", [{"groupIid": 7, "name": "x"}], "exactly {\"groupIid\""),
    ("DELETE", "/Users/17/Memberships/Groups", "not json", "not valid JSON"),
])  # fmt: skip
def test_it_refuses_bad_bodies_with_a_validation_message(sim, method, path, body, expected):
    kwargs = {"data": body} if isinstance(body, str) else {"json": body}

    response = call(sim, method, path, **kwargs)

    assert any(expected in message for message in messages(response)), response.json()


def test_a_put_replaces_the_group_and_moves_modified_date(sim):
    before = call(sim, "GET", "/Groups/7").json()["values"]

    call(sim, "PUT", "/Groups/7", json={**writable(before), "isActive": False, "email": "api@example.com"})
    disabled = call(sim, "GET", "/Groups/7").json()["values"]
    naive = call(sim, "PUT", "/Groups/7", json={"name": before["name"], "primaryOrganizationIid": 1,
                                                 "permissions": before["permissions"]})

    assert disabled["isActive"] is False and disabled["modifiedDate"] > before["modifiedDate"]
    after = naive.json()["values"]
    assert after["isActive"] is True  # left out: re-activated, as documented
    assert after["email"] == ""  # left out: gone, which is why a merge must send every field
    assert after["modifiedDate"] > disabled["modifiedDate"]
    assert after["createdDate"] == before["createdDate"] and after["id"] == before["id"]


def test_a_merge_put_changes_only_what_it_meant_to(sim):
    before = call(sim, "GET", "/Groups/2").json()["values"]

    response = call(sim, "PUT", "/Groups/2", json={**writable(before), "isRoundRobin": True})

    after = response.json()["values"]
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"isRoundRobin", "modifiedDate"}


def test_a_user_put_that_omits_is_active_reactivates_the_user(sim):
    user = call(sim, "GET", f"/Users/{INTEGRATION_IID}", site="inactive-user").json()["values"]
    assert user["isActive"] is False
    required = {k: user[k] for k in ("displayName", "firstName", "lastName", "homePage",
                                     "redirectAfterIssueSubmit", "primaryOrganizationIid", "timeZone")}

    response = call(sim, "PUT", f"/Users/{INTEGRATION_IID}", site="inactive-user", json=required)

    after = response.json()["values"]
    assert after["isActive"] is True and after["modifiedDate"] > user["modifiedDate"]
    assert call(sim, "GET", "/Authenticate/test", site="inactive-user",
                headers={"X-Api-Key": "inactive-token"}).status_code == 200  # it may authenticate again


def test_only_a_sys_admin_may_change_sys_admin(sim):
    sim.add_token("group-admin", "group-admin-token", INTEGRATION_IID)  # IsAdmin through its group
    user = call(sim, "GET", "/Users/2", site="group-admin").json()["values"]
    keys = ("displayName", "firstName", "lastName", "homePage", "redirectAfterIssueSubmit",
            "primaryOrganizationIid", "timeZone", "isAgent")
    body = {k: user[k] for k in keys} | {"isSysAdmin": True}

    response = call(sim, "PUT", "/Users/2", site="group-admin", headers={"X-Api-Key": "group-admin-token"},
                    json=body)

    assert response.status_code == 403
    assert call(sim, "GET", "/Users/2", site="group-admin").json()["values"]["isSysAdmin"] is False


def test_membership_changes_decide_who_is_an_administrator(sim):
    assert call(sim, "GET", "/System/Settings", headers=INTEGRATION).status_code == 403

    added = call(sim, "POST", f"/Users/{INTEGRATION_IID}/Memberships/Groups", json=[{"groupIid": 7}])
    assert added.status_code == 201
    assert call(sim, "GET", "/System/Settings", headers=INTEGRATION).status_code == 200
    groups = call(sim, "GET", f"/Users/{INTEGRATION_IID}/Memberships/Groups").json()["values"]
    assert {"groupIid": 7} in groups

    removed = call(sim, "DELETE", f"/Users/{INTEGRATION_IID}/Memberships/Groups", json=[{"groupIid": 7}])
    assert removed.status_code == 200
    assert call(sim, "GET", "/System/Settings", headers=INTEGRATION).status_code == 403


def test_an_agent_only_group_refuses_a_customer(sim):
    response = call(sim, "POST", "/Users/6/Memberships/Groups", json=[{"groupIid": 7}])  # lchen: no agent

    assert "for agents only" in messages(response)[0]


@pytest.mark.parametrize(("site", "token"), [("read-only-admin", INTEGRATION), ("not-admin", INTEGRATION)])
def test_writes_need_a_full_administrator(sim, site, token):
    before = call(sim, "GET", "/Groups/5", site=site).json()["values"]

    body = writable(before) | {"permissions": []}

    response = call(sim, "PUT", "/Groups/5", site=site, headers=token, json=body)

    assert response.status_code == 403
    assert call(sim, "GET", "/Groups/5", site=site).json()["values"] == before


def test_writes_count_against_five_writes_a_second(sim):
    started = time.monotonic()
    sent = 0
    while sent < 30:
        response = call(sim, "POST", "/Groups", json={})
        if response.status_code == 429:
            break
        sent += 1
    elapsed = time.monotonic() - started

    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    if elapsed < 0.9:  # all inside one second: exactly five writes got through (reads would allow 20)
        assert sent == 5


def test_the_limiter_counts_each_write_method():
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])

    for method in ("POST", "PUT", "DELETE", "POST", "PUT"):
        assert limiter.admit("site", method) is None
    assert limiter.admit("site", "PUT") == 1
    assert limiter.admit("site", "GET") is None  # reads have their own, larger window
    now[0] = 1.01
    assert limiter.admit("site", "DELETE") is None
