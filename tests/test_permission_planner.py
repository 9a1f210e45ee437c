"""The catalogue matches Issuetrak's enum, and the planner repairs any set as Zapier does."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connections.permissions import CATALOGUE, CONFLICTS, PREREQUISITES, SECTIONS, effective, plan, violations
from connections.permissions.catalogue import DERIVED, OVERRIDES
from connections.permissions.planner import UnknownPermission
from tests.test_simulator_openapi import OPENAPI_PATH, load_openapi

ALL = sorted(CATALOGUE)
permission_sets = st.lists(st.sampled_from(ALL), max_size=25)
# No per-example deadline: the machine is shared, and a slow example is no planner bug.
settings.register_profile("shared-machine", deadline=None, max_examples=200)
settings.load_profile("shared-machine")


@pytest.fixture(scope="module")
def enum():
    return load_openapi()["components"]["schemas"]["Permissions"]["enum"]


def test_it_catalogues_exactly_the_documented_enum(enum):
    assert sorted(CATALOGUE) == sorted(enum) and len(enum) == 60
    assert sorted(v for values in SECTIONS.values() for v in values) == sorted(enum)  # each in one section


def test_it_marks_which_names_are_published_and_which_derived():
    published = {v: p.name for v, p in CATALOGUE.items() if not p.derived}
    assert published["IsAdmin"] == "Can access and maintain Administration functions"
    assert published["CanUseApiV2"] == "Can authenticate with the API v2"
    assert len(published) == 7
    assert CATALOGUE["CanViewCalendar"].name == "Can view calendar"
    assert CATALOGUE["CanViewCalendar"].name_source == DERIVED


def test_published_names_appear_in_their_sources(enum):
    article = (OPENAPI_PATH.parent / "seeds" / "using-zapier-with-issuetrak.txt").read_text(encoding="utf-8")
    document = OPENAPI_PATH.read_text(encoding="utf-8")
    for p in CATALOGUE.values():
        if not p.derived:
            assert p.name in (article if "help article" in p.name_source else document), p.value


def test_every_rule_has_its_source_sentence_and_known_values():
    for rule in [*PREREQUISITES, *CONFLICTS, *OVERRIDES]:
        assert rule.sentence.endswith(".") and rule.source
        assert set(vars(rule).values()) & set(CATALOGUE)
    # A prerequisite that a conflict removes would make the rules contradict each other.
    assert not {p.requires for p in PREREQUISITES} & {c.lower for c in CONFLICTS}


def test_it_adds_a_prerequisite_and_says_why():
    result = plan(["CanBeAssignedIssues"])

    assert result.permissions == ("CanBeAssignedIssues",
                                  "CanViewAssignmentInformationInIssuesAndEmailNotifications")
    [change] = result.changes
    assert change.action == "added"
    assert change.reason == ("\u201cCan be assigned Issues\u201d requires \u201cCan view Assigned To "
                             "information in Issues and email notifications\u201d.")


@pytest.mark.parametrize(("higher", "lower"), [("IsAdmin", "IsReadOnlyAdmin"),
                                               ("CanManageAssets", "ReadOnlyAccessToAssets")])
def test_it_keeps_the_higher_of_a_conflicting_pair(higher, lower):
    result = plan([lower, higher, "CanUseApiV2"])

    assert result.permissions == tuple(sorted([higher, "CanUseApiV2"]))
    assert [(c.permission, c.action) for c in result.changes] == [(lower, "removed")]
    assert "higher of the two is kept" in result.changes[0].reason


def test_it_refuses_unknown_values_by_name():
    with pytest.raises(UnknownPermission) as refused:
        plan(["IsAdmin", "IsAdmn"])
    assert refused.value.values == ["IsAdmn"]


@given(permission_sets)
def test_a_plan_is_valid_and_closed_under_prerequisites(requested):
    result = set(plan(requested).permissions)

    assert violations(result) == []
    assert all(c.lower not in result for c in CONFLICTS if c.higher in result)
    assert all(p.requires in result for p in PREREQUISITES if p.permission in result)


@given(permission_sets)
def test_planning_twice_changes_nothing_more(requested):
    once = plan(requested)
    twice = plan(once.permissions)

    assert twice.permissions == once.permissions and twice.changes == ()


@given(permission_sets)
def test_it_changes_only_what_a_rule_requires(requested):
    result = plan(requested)
    kept = set(result.permissions)

    for change in result.changes:
        if change.action == "added":
            assert change.permission not in requested
            assert any(p.requires == change.permission and p.permission in kept for p in PREREQUISITES)
        else:
            assert change.permission in requested
            assert any(c.lower == change.permission and c.higher in kept for c in CONFLICTS)
    assert kept ^ set(requested) == {c.permission for c in result.changes}
    if not violations(requested):
        assert result.changes == ()


@given(permission_sets, st.randoms(use_true_random=False))
def test_order_and_repetition_do_not_matter(requested, random):
    shuffled = [*requested, *requested]
    random.shuffle(shuffled)

    assert plan(shuffled) == plan(requested)


def test_a_plan_serialises_as_the_cli_prints_it():
    document = json.loads(json.dumps(plan(["IsReadOnlyAdmin", "IsAdmin"]).as_dict()))

    assert document == {"permissions": ["IsAdmin"], "changes": [{
        "permission": "IsReadOnlyAdmin", "action": "removed", "reason": document["changes"][0]["reason"]}]}


def test_across_groups_the_read_only_permission_wins():
    # The opposite of a group repair: a user with IsAdmin from one group and IsReadOnlyAdmin from
    # another is a read-only administrator.
    assert effective({"IsAdmin", "IsReadOnlyAdmin", "CanUseApiV2"}) == {"IsReadOnlyAdmin", "CanUseApiV2"}
    assert effective({"CanManageAssets", "ReadOnlyAccessToAssets"}) == {"ReadOnlyAccessToAssets"}
    assert effective({"IsAdmin", "CanUseApiV2"}) == {"IsAdmin", "CanUseApiV2"}
