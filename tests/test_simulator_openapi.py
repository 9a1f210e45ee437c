"""The simulator's answers, checked against Issuetrak's own OpenAPI document for API v2.

The document lives outside the project (`../shared/`); without it these tests skip, except under
CI=true, where a missing document is a failure.
"""

import json
import os
from pathlib import Path

import jsonschema
import pytest
import requests
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from connections.simulator import IssuetrakSimulator, bodies
from connections.simulator.permissions import PERMISSIONS


def _openapi_path() -> Path:
    """`../shared/` beside the checkout; ISSUETRAK_OPENAPI or /work/shared when CI clones elsewhere."""
    name = "issuetrak-api-v2.openapi.json"
    candidates = [Path(os.environ["ISSUETRAK_OPENAPI"])] if os.environ.get("ISSUETRAK_OPENAPI") else []
    candidates += [Path(__file__).resolve().parents[2] / "shared" / name, Path("/work/shared") / name]
    return next((path for path in candidates if path.exists()), candidates[0])


OPENAPI_PATH = _openapi_path()
DOC_URI = "urn:issuetrak:api-v2:openapi"
TOKEN = {"X-Api-Key": "good-token"}


def _with_nulls(node):
    """OpenAPI 3.0's ``nullable: true`` in JSON Schema terms: add "null" to the type."""
    if isinstance(node, list):
        return [_with_nulls(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _with_nulls(value) for key, value in node.items()}
    if converted.pop("nullable", False) is True and "type" in converted:
        converted["type"] = [converted["type"], "null"]
        if "enum" in converted:
            converted["enum"] = [*converted["enum"], None]
    return converted


def load_openapi():
    """The OpenAPI document as JSON Schema; skips the test when it is missing (fails under CI)."""
    if not OPENAPI_PATH.exists():
        message = f"the OpenAPI document is missing: {OPENAPI_PATH}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return _with_nulls(json.loads(OPENAPI_PATH.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def openapi():
    return load_openapi()


@pytest.fixture(scope="module")
def registry(openapi):
    return Registry().with_resource(DOC_URI, Resource.from_contents(openapi, default_specification=DRAFT4))


@pytest.fixture(scope="module")
def sim():
    with IssuetrakSimulator() as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def _fresh_rate_limits(sim):
    sim.reset_rate_limits()


def call(sim, method, path, site="healthy", headers=TOKEN, **kwargs):
    url = f"{sim.site_url(site)}/api/v2{path}"
    return requests.request(method, url, headers=headers, timeout=5, **kwargs)


def assert_matches(registry, schema, body):
    jsonschema.Draft4Validator(schema, registry=registry).validate(body)


def response_schema(openapi, template, method, status):
    """The document's JSON schema for one response, as a $ref into the document."""
    response = openapi["paths"][template][method.lower()]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    return {"$ref": DOC_URI + schema["$ref"]}


def component(name):
    return {"$ref": f"{DOC_URI}#/components/schemas/{name}"}


SUCCESSES = [
    ("GET", "/System/Settings", "/System/Settings", None),
    ("GET", "/Users", "/Users", None),
    ("GET", "/Users", "/Users?PageNumber=2&PageSize=5", None),
    ("POST", "/Users/Search", "/Users/Search", {"id": {"type": "MatchAny", "values": ["integration"]}}),
    ("POST", "/Users/Search", "/Users/Search",
     {"iid": {"type": "MatchAny", "values": [17, 2]}, "pageSize": 1}),
    ("GET", "/Users/{iid}", "/Users/17", None),
    ("GET", "/Users/{iid}/Memberships/Groups", "/Users/3/Memberships/Groups", None),
    ("GET", "/Groups", "/Groups?PageSize=3", None),
    ("POST", "/Groups/Search", "/Groups/Search", {"name": {"type": "Contains", "values": ["admin"]}}),
    ("GET", "/Groups/{iid}", "/Groups/7", None),
]


@pytest.mark.parametrize(("method", "template", "path", "body"), SUCCESSES)
def test_it_answers_each_endpoint_with_the_documented_schema(sim, openapi, registry, method, template, path,
                                                             body):
    if body is not None:  # our request bodies follow the document too
        request_body = openapi["paths"][template]["post"]["requestBody"]["content"]["application/json"]
        assert_matches(registry, {"$ref": DOC_URI + request_body["schema"]["$ref"]}, body)

    response = call(sim, method, path, json=body)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert_matches(registry, response_schema(openapi, template, method, 200), response.json())


def test_it_answers_authenticate_test_with_a_bare_trace_id(sim, openapi, registry):
    # The document lists 200 without a body; the simulator sends the traceId-only envelope.
    assert "content" not in openapi["paths"]["/Authenticate/test"]["get"]["responses"]["200"]

    response = call(sim, "GET", "/Authenticate/test")

    assert response.status_code == 200
    assert_matches(registry, component("ApiResponseTraceId"), response.json())


ERRORS = [
    ("GET", "/System/Settings", "/System/Settings", "not-admin", 403),
    ("GET", "/Users", "/Users", "not-admin", 403),
    ("POST", "/Users/Search", "/Users/Search", "not-admin", 403),
    ("GET", "/Groups/{iid}", "/Groups/1", "not-admin", 403),
    ("GET", "/Users/{iid}", "/Users/999", "healthy", 404),
    ("GET", "/Users/{iid}/Memberships/Groups", "/Users/999/Memberships/Groups", "healthy", 404),
    ("GET", "/Groups/{iid}", "/Groups/999", "healthy", 404),
    ("GET", "/Users", "/Users?PageSize=101", "healthy", 400),
    ("GET", "/Users", "/Users?PageSize=0", "healthy", 400),
    ("GET", "/Groups", "/Groups?PageNumber=0", "healthy", 400),
    ("GET", "/Users", "/Users?PageNumber=first", "healthy", 400),
    ("GET", "/Users", "/Users?SortDirection=Sideways", "healthy", 400),
    ("GET", "/Users/{iid}", "/Users/abc", "healthy", 400),
]


@pytest.mark.parametrize(("method", "template", "path", "site", "status"), ERRORS)
def test_it_answers_errors_with_the_documented_envelope(sim, openapi, registry, method, template, path, site,
                                                        status):
    body = {} if method == "POST" else None

    response = call(sim, method, path, site=site, json=body)

    assert response.status_code == status
    assert_matches(registry, response_schema(openapi, template, method, status), response.json())
    assert response.json()["information"][0]["message"]


@pytest.mark.parametrize("body", [
    {"id": {"type": "MatchAny", "values": []}},
    {"id": {"type": "Sometimes", "values": ["x"]}},
    {"iid": {"type": "MatchAny", "values": ["seventeen"]}},
    {"pageSize": 500},
    {"favouriteColour": {"type": "MatchAny", "values": ["blue"]}},
])  # fmt: skip
def test_it_answers_a_bad_search_with_400_and_the_envelope(sim, openapi, registry, body):
    response = call(sim, "POST", "/Users/Search", json=body)

    assert response.status_code == 400
    assert_matches(registry, response_schema(openapi, "/Users/Search", "POST", 400), response.json())


def test_it_documents_401_without_a_body_and_sends_none(sim, openapi):
    documented = openapi["paths"]["/Users"]["get"]["responses"]["401"]
    assert "content" not in documented

    response = call(sim, "GET", "/Users", headers={"X-Api-Key": "wrong-token"})

    assert response.status_code == 401
    assert response.content == b""


def test_it_pages_users_with_consistent_paging_information(sim):
    pages = [call(sim, "GET", f"/Users?PageSize=5&PageNumber={n}").json() for n in (1, 2, 3, 4)]

    paging = [p["pagingInformation"] for p in pages]
    total = paging[0]["itemTotal"]
    assert total > 10
    assert [p["page"] for p in paging] == [1, 2, 3, 4]
    assert {p["pageCount"] for p in paging} == {-(-total // 5)}
    iids = [user["iid"] for p in pages for user in p["values"]]
    assert len(iids) == len(set(iids)) == total
    assert pages[3]["values"] == []  # past the end: an empty page, not an error


def test_it_uses_only_permissions_from_the_documented_enum(sim, openapi):
    documented = openapi["components"]["schemas"]["Permissions"]["enum"]
    assert list(PERMISSIONS) == documented and len(documented) == 60

    groups = call(sim, "GET", "/Groups?PageSize=100").json()["values"]

    assert {p for group in groups for p in group["permissions"]} <= set(documented)


GROUP = {"name": "API integration", "primaryOrganizationIid": 1, "isAgentOnly": True,
         "permissions": ["IsAdmin", "CanUseApiV2"]}
USER = {"displayName": "Integration, API", "firstName": "API", "lastName": "Integration",
        "homePage": "IssueHub", "redirectAfterIssueSubmit": "IssueView", "primaryOrganizationIid": 1,
        "timeZone": "EST", "isAgent": True, "isActive": True, "canLogin": False,
        "email": "integration@example.com", "issueHubViewIid": None,
        "udfs": {"textFields": [], "dateFields": [], "listFields": []}}
# (method, template, path, request body, status, site). Writes go to their own simulator, below.
WRITES = [
    ("POST", "/Groups", "/Groups", GROUP, 201, "healthy"),
    ("PUT", "/Groups/{iid}", "/Groups/6", {**GROUP, "name": "API Integrations", "isActive": False}, 200,
     "healthy"),
    ("PUT", "/Users/{iid}", "/Users/17", USER, 200, "healthy"),
    ("POST", "/Users/{iid}/Memberships/Groups", "/Users/17/Memberships/Groups", [{"groupIid": 7}], 201,
     "healthy"),
    ("DELETE", "/Users/{iid}/Memberships/Groups", "/Users/3/Memberships/Groups", [{"groupIid": 4}], 200,
     "healthy"),
    ("POST", "/Groups", "/Groups", {**GROUP, "permissions": ["IsAdmin", "IsReadOnlyAdmin"]}, 400, "healthy"),
    ("PUT", "/Groups/{iid}", "/Groups/6", {**GROUP, "permissions": ["CanBeAssignedIssues"]}, 400, "healthy"),
    ("PUT", "/Groups/{iid}", "/Groups/999", GROUP, 404, "healthy"),
    ("PUT", "/Users/{iid}", "/Users/999", USER, 404, "healthy"),
    ("POST", "/Groups", "/Groups", GROUP, 403, "read-only-admin"),
    ("PUT", "/Users/{iid}", "/Users/17", USER, 403, "not-admin"),
    ("DELETE", "/Users/{iid}/Memberships/Groups", "/Users/999/Memberships/Groups", [{"groupIid": 4}], 404,
     "healthy"),
]  # fmt: skip


@pytest.fixture
def writable_sim():
    with IssuetrakSimulator() as simulator:
        yield simulator


def request_schema(openapi, template, method):
    return openapi["paths"][template][method.lower()]["requestBody"]["content"]["application/json"]["schema"]


@pytest.mark.parametrize(("method", "template", "path", "body", "status", "site"), WRITES)
def test_writes_take_documented_bodies_and_answer_documented_replies(writable_sim, openapi, registry, method,
                                                                     template, path, body, status, site):
    schema = request_schema(openapi, template, method)
    assert_matches(registry, {"$ref": DOC_URI + schema["$ref"]} if "$ref" in schema else
                   {**schema, "items": {"$ref": DOC_URI + schema["items"]["$ref"]}}, body)

    response = call(writable_sim, method, path, site=site, json=body)

    assert response.status_code == status, response.text
    assert_matches(registry, response_schema(openapi, template, method, status), response.json())


@pytest.mark.parametrize(("schema_name", "spec", "required"), [
    ("CreateGroup", bodies.CREATE_GROUP, bodies.GROUP_REQUIRED),
    ("UpdateGroup", bodies.UPDATE_GROUP, bodies.GROUP_REQUIRED),
    ("UpdateUser", bodies.UPDATE_USER, bodies.USER_REQUIRED),
])  # fmt: skip
def test_the_simulator_checks_the_fields_the_document_defines(openapi, schema_name, spec, required):
    schema = openapi["components"]["schemas"][schema_name]

    assert schema["additionalProperties"] is False
    assert set(spec) == set(schema["properties"])
    assert sorted(required) == sorted(schema["required"])
    for name, prop in schema["properties"].items():
        assert spec[name].max_length == prop.get("maxLength", spec[name].max_length), name
        assert spec[name].nullable == ("null" in prop.get("type", [])), name
        if "$ref" in prop and "enum" in (target := _component(openapi, prop["$ref"])):
            assert spec[name].choices == tuple(target["enum"]), name


def _component(openapi, ref):
    return openapi["components"]["schemas"][ref.rsplit("/", 1)[-1]]
