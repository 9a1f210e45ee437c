"""A repair plan sends only what Issuetrak's OpenAPI document allows: every PUT body is a whole
UpdateGroup/UpdateUser (no read-only field, nothing unknown), validated against the document."""

import jsonschema
import pytest
import requests
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from connections.issuetrak import IssuetrakClient
from connections.repair import Planner
from connections.repair.planning import UPDATE_GROUP_FIELDS, UPDATE_USER_FIELDS
from connections.simulator.scenarios import INTEGRATION_IID
from tests.repair_support import ADMIN_TOKEN, fix, get, memberships, on_site
from tests.test_simulator_openapi import DOC_URI, load_openapi

SCHEMAS = {"create_group": "CreateGroup", "update_group": "UpdateGroup", "update_user": "UpdateUser",
           "add_membership": "GroupMembership", "remove_membership": "GroupMembership"}


@pytest.fixture(scope="module")
def openapi():
    return load_openapi()


def validate(openapi, schema_name, body):
    document = Resource.from_contents(openapi, default_specification=DRAFT4)
    registry = Registry().with_resource(DOC_URI, document)
    schema = {"$ref": f"{DOC_URI}#/components/schemas/{schema_name}"}
    if schema_name == "GroupMembership":
        schema = {"type": "array", "items": schema}
    jsonschema.Draft4Validator(schema, registry=registry).validate(body)


def plan_for(admin_sim, site, **flags):
    with IssuetrakClient(admin_sim.site_url(site), ADMIN_TOKEN) as client:
        return Planner(client, site, "integration").plan(**flags)


@pytest.mark.parametrize(("fields", "schema_name"), [
    (UPDATE_GROUP_FIELDS, "UpdateGroup"), (UPDATE_USER_FIELDS, "UpdateUser")])
def test_the_merge_fields_are_exactly_the_documents_writable_ones(openapi, fields, schema_name):
    schema = openapi["components"]["schemas"][schema_name]

    assert schema["additionalProperties"] is False
    assert sorted(fields) == sorted(schema["properties"])


def existing_group(admin_sim, site, member_iids):
    """An "API integration" group someone made earlier, lacking IsAdmin, with members of its own."""
    body = {"name": "API integration", "primaryOrganizationIid": 1, "isAgentOnly": True,
            "phoneNumber": "757-555-0100", "email": "api@example.com", "sms": "", "departmentIid": 2,
            "isRoundRobin": True, "permissions": ["CanUseApiV2"]}
    headers = {"X-Api-Key": ADMIN_TOKEN}
    url = f"{admin_sim.site_url(site)}/api/v2"
    created = requests.post(f"{url}/Groups", json=body, headers=headers, timeout=10)
    assert created.status_code == 201
    group = created.json()["values"]
    for iid in member_iids:
        added = requests.post(f"{admin_sim.site_url(site)}/api/v2/Users/{iid}/Memberships/Groups",
                              json=[{"groupIid": group["iid"]}], headers=headers, timeout=10)
        assert added.status_code == 201
    return group


def test_every_planned_body_is_valid_against_the_document(openapi, admin_sim):
    existing_group(admin_sim, "not-admin", member_iids=[2, 3])
    plans = [plan_for(admin_sim, "not-admin"),
             plan_for(admin_sim, "read-only-admin", remove_readonly_override=True),
             plan_for(admin_sim, "inactive-user", reactivate_user=True)]
    calls = [call for plan in plans for call in plan.calls]

    assert {call.action for call in calls} == set(SCHEMAS) - {"create_group"}
    for call in calls:
        validate(openapi, SCHEMAS[call.action], call.body)
        if call.method == "PUT":
            fields = UPDATE_GROUP_FIELDS if call.action == "update_group" else UPDATE_USER_FIELDS
            assert set(call.body) <= set(fields)


def test_a_new_group_body_is_valid_against_the_document(openapi, admin_sim):
    [create, membership] = plan_for(admin_sim, "not-admin").calls

    validate(openapi, "CreateGroup", create.body)
    assert membership.action == "add_membership"


def test_a_reused_group_is_completed_by_a_merge_that_keeps_its_other_fields(make_connection, admin_sim):
    on_site(make_connection, admin_sim, "not-admin")
    before = existing_group(admin_sim, "not-admin", member_iids=[2, 3])

    [put, add] = plan_for(admin_sim, "not-admin").calls
    assert (put.method, put.path, put.other_members) == ("PUT", f"/Groups/{before['iid']}", 2)
    assert put.diff == {"permissions": {"before": ["CanUseApiV2"], "after": ["CanUseApiV2", "IsAdmin"]}}
    code, out = fix("not-admin", "--apply")

    assert code == 0, out
    after = get(admin_sim, "not-admin", f"/Groups/{before['iid']}")
    changed = {key for key in before if before[key] != after[key]}
    assert changed == {"permissions", "modifiedDate"}
    assert after["permissions"] == ["CanUseApiV2", "IsAdmin"] and after["isRoundRobin"] is True
    assert before["iid"] in memberships(admin_sim, "not-admin", iid=INTEGRATION_IID)
