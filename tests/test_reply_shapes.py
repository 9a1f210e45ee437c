"""A reply shape the OpenAPI document does not promise is a bad-response result, never an
exception: for every reader, for the checklist, and on the rotation page. Real HTTP servers."""

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from connections.checklist import STEP_KEYS, Subject, run_checklist
from connections.issuetrak import IssuetrakClient, Outcome, shapes
from connections.issuetrak.shapes import problem
from connections.models import Connection
from tests.http_fixtures import Reply, ScriptedServer

API = "/api/v2"
TOKEN = "shape-token-0123456789"
# Every reader and the path it asks; an iid of 7 throughout.
READERS = {
    "system_settings": ("System/Settings", ()),
    "search_users": ("Users/Search", ("integration",)),
    "get_user": ("Users/7", (7,)),
    "user_groups": ("Users/7/Memberships/Groups", (7,)),
    "get_group": ("Groups/7", (7,)),
    "list_users": ("Users", ()),
    "list_groups": ("Groups", ()),
    "create_group": ("Groups", ({"name": "x"},)),
    "update_group": ("Groups/7", (7, {"name": "x"})),
    "update_user": ("Users/7", (7, {"id": "x"})),
}
GOOD_USER = {"iid": 7, "id": "integration", "displayName": "Integration, API", "isActive": True,
             "isSysAdmin": False, "isAgent": True}


def _fine_site() -> dict:
    """Routes of a site whose every answer is the documented shape."""
    return {
        f"{API}/Authenticate/test": Reply(200, {"traceId": "t"}),
        f"{API}/System/Settings": Reply(200, {"values": {"listSize": 25}}),
        f"{API}/Users/Search": Reply(200, {"values": [GOOD_USER]}),
        f"{API}/Users/7": Reply(200, {"values": GOOD_USER}),
        f"{API}/Users/7/Memberships/Groups": Reply(200, {"values": [{"groupIid": 7}]}),
        f"{API}/Groups/7": Reply(200, {"values": {"iid": 7, "name": "Admins", "permissions": ["IsAdmin"]}}),
    }


def _subject(url: str) -> Subject:
    return Subject(label="Zapier", base_url=url, token=TOKEN, token_name="Zapier",
                   token_user="integration", expires_on=timezone.localdate() + dt.timedelta(days=90))


def test_the_documented_shapes_pass():
    with ScriptedServer(_fine_site()) as site:
        results = run_checklist(_subject(site.url))
    assert {str(r.status) for r in results if r.key != "version"} == {"pass"}


def test_users_search_answering_numbers_is_a_bad_response_for_that_step():
    routes = _fine_site() | {f"{API}/Users/Search": Reply(200, {"values": [1, 2, 3]})}
    with ScriptedServer(routes) as site:
        with IssuetrakClient(site.url, TOKEN) as client:
            found = client.search_users("integration")
        results = {r.key: r for r in run_checklist(_subject(site.url))}
    assert found.outcome == Outcome.BAD_RESPONSE and found.values is None
    assert "values[0] is a number, expected an object" in found.message
    assert str(results["token_user"].status) == "error"
    assert "not what the API documents" in results["token_user"].message


@pytest.mark.parametrize(("path", "body", "where"), [
    ("Users/7", {"values": {**GOOD_USER, "isActive": None}}, "values.isActive is null"),
    ("Users/7", {"values": {k: v for k, v in GOOD_USER.items() if k != "iid"}}, "has no “iid”"),
    ("Users/7", {"values": {**GOOD_USER, "iid": True}}, "values.iid is a boolean"),
    ("Users/7/Memberships/Groups", {"values": {"groupIid": 7}}, "values is an object"),
    ("Users/7/Memberships/Groups", {"values": [{"groupIid": "7"}]}, "values[0].groupIid is a string"),
    ("Groups/7", {"values": {"iid": 7, "name": "Admins", "permissions": "IsAdmin"}},
     "values.permissions is a string"),
    ("Groups/7", {"values": None}, "values is null"),
])
def test_each_broken_shape_ends_the_admin_steps_as_bad_responses(path, body, where):
    routes = _fine_site() | {f"{API}/{path}": Reply(200, body)}
    with ScriptedServer(routes) as site:
        results = run_checklist(_subject(site.url))
    assert [r.key for r in results] == list(STEP_KEYS)
    broken = [r for r in results if str(r.status) == "error"]
    assert broken and where in broken[0].message


@pytest.mark.django_db
def test_the_rotation_page_shows_the_bad_response_instead_of_failing(sam_client, make_connection):
    routes = _fine_site() | {f"{API}/Users/Search": Reply(200, {"values": [1, 2, 3]})}
    with ScriptedServer(routes) as site:
        zapier = make_connection("Zapier", token="old-token-1234", base_url=site.url,
                                 token_user="integration")
        before = Connection.objects.values().get()
        response = sam_client.post(reverse("connections:rotate", args=[zapier.public_id]), {
            "token": "new-token-5678", "token_name": "Zapier",
            "expires_on": (timezone.localdate() + dt.timedelta(days=365)).isoformat()}, follow=True)
    assert response.status_code == 200
    assert "not what the API documents" in response.content.decode()
    assert Connection.objects.values().get() == before


# --- Any JSON at all, for every reader and for the checklist --------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["iid", "id", "isActive", "isSysAdmin", "groupIid", "name", "permissions",
                         "displayName", "values", "x"]), inner, max_size=5),
    max_leaves=12,
)
BODIES = JSON | st.builds(lambda values: {"values": values}, JSON)


@pytest.fixture(scope="module")
def any_json_site():
    with ScriptedServer({}) as site:
        yield site


def _answer_everything_with(site, body) -> None:
    reply = Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})
    paths = [f"{API}/{path}" for path, _ in READERS.values()] + [f"{API}/Authenticate/test"]
    site._server.routes = {path: [reply] for path in paths}


@hypothesis_settings(max_examples=40, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODIES)
def test_every_reader_turns_any_json_into_a_result(any_json_site, body):
    _answer_everything_with(any_json_site, body)
    with IssuetrakClient(any_json_site.url, TOKEN) as client:
        for method, (_path, args) in READERS.items():
            result = getattr(client, method)(*args)
            assert result.outcome in (Outcome.OK, Outcome.BAD_RESPONSE), (method, result)
            if result.ok:
                expected = {"system_settings": shapes.ANY_OBJECT, "search_users": shapes.USER_REFS,
                            "get_user": shapes.USER, "user_groups": shapes.MEMBERSHIPS,
                            "get_group": shapes.GROUP, "list_users": shapes.USER_REFS,
                            "list_groups": shapes.GROUP_REFS, "create_group": shapes.GROUP,
                            "update_group": shapes.GROUP, "update_user": shapes.USER}[method]
                assert problem(result.values, expected) is None


@hypothesis_settings(max_examples=40, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODIES)
def test_the_checklist_turns_any_json_into_step_results(any_json_site, body):
    _answer_everything_with(any_json_site, body)
    results = run_checklist(_subject(any_json_site.url))
    assert [r.key for r in results] == list(STEP_KEYS)
