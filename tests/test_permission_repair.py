"""`manage.py connections fix-permissions`: a Sys Admin's token repairs the token user's rights on
the simulator — red checklist before, green after, every other group byte-for-byte the same."""

import json

import pytest
import requests
from django.core.management.base import CommandError

from connections.choices import AuditAction
from connections.models import AuditEvent
from connections.repair.applying import WRITE_SPACING_S
from connections.simulator.scenarios import INTEGRATION_IID
from tests.repair_support import ADMIN_TOKEN, all_groups, checklist, fix, get, memberships, on_site


def test_not_admin_dry_run_prints_the_calls_and_changes_nothing(make_connection, admin_sim):
    on_site(make_connection, admin_sim, "not-admin")
    groups_before = all_groups(admin_sim, "not-admin")

    code, out = fix("not-admin", "--json")

    plan = json.loads(out)
    assert code == 1
    assert [(c["method"], c["path"]) for c in plan["calls"]] == [
        ("POST", "/Groups"), ("POST", f"/Users/{INTEGRATION_IID}/Memberships/Groups")]
    create = plan["calls"][0]
    assert create["body"]["permissions"] == ["CanUseApiV2", "IsAdmin"]
    assert create["body"]["isAgentOnly"] is True
    assert create["diff"]["name"] == {"before": None, "after": "API integration"}
    assert create["other_members"] == 0
    assert all_groups(admin_sim, "not-admin") == groups_before
    assert memberships(admin_sim, "not-admin") == [2, 6]
    assert not AuditEvent.objects.filter(action=AuditAction.PERMISSIONS_REPAIRED).exists()


def test_not_admin_apply_turns_the_checklist_green_and_leaves_other_groups_alone(make_connection, admin_sim):
    on_site(make_connection, admin_sim, "not-admin")
    assert checklist("not-admin")["token_admin"] == "fail"
    groups_before = all_groups(admin_sim, "not-admin")

    code, out = fix("not-admin", "--apply")

    assert code == 0, out
    assert "token_admin passes" in out
    assert checklist("not-admin")["token_admin"] == "pass"
    groups_after = all_groups(admin_sim, "not-admin")
    new = [g for iid, g in groups_after.items() if iid not in groups_before]
    assert [(g["name"], g["permissions"], g["isAgentOnly"]) for g in new] == [
        ("API integration", ["CanUseApiV2", "IsAdmin"], True)]
    assert {iid: groups_after[iid] for iid in groups_before} == groups_before  # byte for byte
    assert memberships(admin_sim, "not-admin") == [2, 6, new[0]["iid"]]
    events = AuditEvent.objects.filter(action=AuditAction.PERMISSIONS_REPAIRED).order_by("pk")
    assert [e.summary.split(" with ")[0] for e in events] == [
        "POST /Groups", f"POST /Users/{INTEGRATION_IID}/Memberships/Groups"]
    from connections.secrets import fingerprint
    assert all(f"admin token {fingerprint(ADMIN_TOKEN)}" in e.summary for e in events)
    assert f'"groupIid": {new[0]["iid"]}' in events[1].summary or "API integration" in events[1].summary


def test_a_second_run_reuses_the_group_and_needs_nothing(make_connection, admin_sim):
    on_site(make_connection, admin_sim, "not-admin")
    assert fix("not-admin", "--apply")[0] == 0

    code, out = fix("not-admin")

    assert code == 0
    assert "already an administrator" in out


def test_read_only_admin_is_offered_the_override_removal_and_applies_it(make_connection, admin_sim):
    on_site(make_connection, admin_sim, "read-only-admin")
    assert checklist("read-only-admin")["token_admin"] == "fail"
    groups_before = all_groups(admin_sim, "read-only-admin")

    code, out = fix("read-only-admin")
    assert code == 1
    assert "--remove-readonly-override" in out and "Auditors" in out
    code, out = fix("read-only-admin", "--apply")
    assert code == 2  # nothing planned without consent: still not an administrator
    assert memberships(admin_sim, "read-only-admin") == [5, 7]

    code, out = fix("read-only-admin", "--apply", "--remove-readonly-override")

    assert code == 0, out
    assert checklist("read-only-admin")["token_admin"] == "pass"
    assert memberships(admin_sim, "read-only-admin") == [7]
    assert all_groups(admin_sim, "read-only-admin") == groups_before  # no group changed at all
    assert memberships(admin_sim, "read-only-admin", iid=12) == [5]  # Auditors' other member keeps it


def test_an_inactive_token_user_is_reactivated_by_a_merge_put(make_connection, admin_sim):
    on_site(make_connection, admin_sim, "inactive-user")
    assert checklist("inactive-user")["token_user"] == "fail"
    user_before = get(admin_sim, "inactive-user", f"/Users/{INTEGRATION_IID}")
    groups_before = all_groups(admin_sim, "inactive-user")

    code, out = fix("inactive-user", "--reactivate-user", "--json")
    plan = json.loads(out)
    assert code == 1
    [put] = plan["calls"]
    assert (put["method"], put["path"]) == ("PUT", f"/Users/{INTEGRATION_IID}")
    assert put["diff"] == {"isActive": {"before": False, "after": True}}

    code, out = fix("inactive-user", "--reactivate-user", "--apply")

    assert code == 0, out
    steps = checklist("inactive-user")
    assert steps["token_user"] == "pass" and steps["token_admin"] == "pass"
    user_after = get(admin_sim, "inactive-user", f"/Users/{INTEGRATION_IID}")
    changed = {k for k in user_before if user_before[k] != user_after[k]}
    assert changed - {"modifiedByUserIid"} == {"isActive", "modifiedDate"}
    assert all_groups(admin_sim, "inactive-user") == groups_before


def test_a_put_stops_when_the_object_changed_after_the_plan(make_connection, admin_sim, monkeypatch):
    connection = on_site(make_connection, admin_sim, "inactive-user")
    from connections.choices import Trigger
    from connections.issuetrak import IssuetrakClient
    from connections.repair import Planner, RepairError, apply_plan

    with IssuetrakClient(connection.base_url, ADMIN_TOKEN) as client:
        repair = Planner(client, connection.label, "integration").plan(reactivate_user=True)
    # Someone edits the user in between (a merge of their own, changing the phone number).
    record = get(admin_sim, "inactive-user", f"/Users/{INTEGRATION_IID}")
    body = {k: v for k, v in record.items() if k in repair.calls[0].body} | {"phoneNumber": "555-0100"}
    edited = requests.put(f"{admin_sim.site_url('inactive-user')}/api/v2/Users/{INTEGRATION_IID}", json=body,
                          headers={"X-Api-Key": ADMIN_TOKEN}, timeout=10)
    assert edited.status_code == 200

    with pytest.raises(RepairError, match="changed on the site since the plan"):
        apply_plan(connection, ADMIN_TOKEN, repair, trigger=Trigger.CLI, via="cli")

    assert get(admin_sim, "inactive-user", f"/Users/{INTEGRATION_IID}")["isActive"] is False
    assert get(admin_sim, "inactive-user", f"/Users/{INTEGRATION_IID}")["phoneNumber"] == "555-0100"
    assert not AuditEvent.objects.filter(action=AuditAction.PERMISSIONS_REPAIRED).exists()


def test_writes_are_paced_under_five_a_second(make_connection, admin_sim):
    on_site(make_connection, admin_sim, "read-only-admin")
    admin_sim.set_rate_limits("read-only-admin", writes_per_second=5)

    code, _ = fix("read-only-admin", "--apply", "--remove-readonly-override")

    assert code == 0
    assert admin_sim.peak(admin_sim.site_url("read-only-admin"), "writes_per_second") <= 1 / WRITE_SPACING_S


def test_a_token_that_is_not_a_sys_admins_changes_nothing(make_connection, admin_sim):
    on_site(make_connection, admin_sim, "not-admin")

    with pytest.raises(CommandError, match="may not .*403.*Sys Admin") as refused:
        fix("not-admin", token="good-token")

    assert refused.value.returncode == 2
    assert "good-token" not in str(refused.value)
    assert [g["name"] for g in get(admin_sim, "not-admin", "/Groups?PageSize=100")][-1] != "API integration"
    assert memberships(admin_sim, "not-admin") == [2, 6]


def test_no_admin_token_is_refused(make_connection, admin_sim):
    on_site(make_connection, admin_sim, "not-admin")

    with pytest.raises(CommandError, match="No admin token"):
        fix("not-admin", token="  ")


def test_the_admin_token_goes_only_to_the_connections_own_origin(make_connection, db):
    from tests.http_fixtures import Reply, ScriptedServer

    with ScriptedServer({}) as elsewhere:
        moved = Reply(307, headers={"Location": f"{elsewhere.url}/api/v2/Users/Search"})
        with ScriptedServer({"/api/v2/Users/Search": moved}) as site:
            make_connection(label="moved", base_url=site.url, token_user="integration")

            with pytest.raises(CommandError, match="redirects to another host") as refused:
                fix("moved")

    assert refused.value.returncode == 2
    assert [seen.headers.get("X-Api-Key") for seen in site.seen] == [ADMIN_TOKEN]
    assert elsewhere.seen == []


def test_a_site_echoing_the_admin_token_gets_it_redacted_from_the_message(make_connection, db):
    from tests.http_fixtures import Reply, ScriptedServer

    echo = Reply(400, {"traceId": "t-1", "information": [
        {"type": "Validation", "message": f"Bad key {ADMIN_TOKEN} for this search"}]})
    with ScriptedServer({"/api/v2/Users/Search": echo}) as site:
        make_connection(label="echo", base_url=site.url, token_user="integration")

        with pytest.raises(CommandError) as refused:
            fix("echo")

    assert ADMIN_TOKEN not in str(refused.value)
    assert "[redacted]" in str(refused.value) and "Nothing was changed." in str(refused.value)
