"""`manage.py permissions plan`: the planner for scripts, in a real process."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def permissions(*args):
    env = os.environ | {"DEBUG": "1", "DJANGO_SETTINGS_MODULE": "issuetrak_admin.settings"}
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), "permissions", *args],
                          capture_output=True, text=True, env=env, timeout=60)


def test_it_prints_the_repaired_set_as_json():
    result = permissions("plan", "ReadOnlyAccessToAssets", "CanBeAssignedIssues", "CanManageAssets", "--json")

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["permissions"] == ["CanBeAssignedIssues", "CanManageAssets",
                                       "CanViewAssignmentInformationInIssuesAndEmailNotifications"]
    assert [(c["permission"], c["action"]) for c in document["changes"]] == [
        ("CanViewAssignmentInformationInIssuesAndEmailNotifications", "added"),
        ("ReadOnlyAccessToAssets", "removed")]
    assert all(set(c) == {"permission", "action", "reason"} for c in document["changes"])


def test_it_prints_names_and_reasons_for_people():
    result = permissions("plan", "IsAdmin", "IsReadOnlyAdmin")

    assert result.returncode == 0
    assert "IsAdmin  (Can access and maintain Administration functions)" in result.stdout
    assert "removed: IsReadOnlyAdmin" in result.stdout and "higher of the two is kept" in result.stdout


def test_a_valid_set_needs_no_changes():
    result = permissions("plan", "IsAdmin", "CanUseApiV2")

    assert result.returncode == 0
    assert "No changes" in result.stdout


def test_an_unknown_value_exits_2_naming_it_and_the_closest_ones():
    result = permissions("plan", "IsAdmin", "CanUseApi", "--json")

    assert result.returncode == 2
    assert result.stdout == ""
    assert "'CanUseApi' is not an Issuetrak permission; did you mean CanUseApiV2" in result.stderr
