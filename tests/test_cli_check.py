"""`manage.py connections check`: exit codes, JSON, and --all with a dead site."""

import io
import json
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def check(*args):
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("connections", "check", *args, stdout=out)
    return exit_.value.code, out.getvalue()


def on_site(make_connection, simulator, site, label=None, **fields):
    return make_connection(label=label or site, token="good-token", base_url=simulator.site_url(site),
                           token_user="integration", **fields)


def test_a_healthy_site_exits_0_with_a_json_document(make_connection, simulator):
    on_site(make_connection, simulator, "healthy", token_name="healthy")
    code, out = check("healthy", "--json")
    document = json.loads(out)
    assert code == 0
    assert set(document) == {"connection", "overall", "steps", "duration_ms"}
    assert document["connection"] == "healthy" and document["overall"] == "pass"
    assert [set(s) for s in document["steps"]] == [{"key", "status", "message", "fix"}] * 11


def test_a_warning_exits_1(make_connection, simulator):
    on_site(make_connection, simulator, "healthy", token_name="something else")
    code, out = check("healthy")
    assert code == 1
    assert "healthy: WARN" in out and "label_matches_token_name" in out


def test_a_failure_exits_2_and_prints_the_fix(make_connection, simulator):
    on_site(make_connection, simulator, "api-disabled")
    code, out = check("api-disabled")
    assert code == 2
    assert "fail  api_v2_enabled" in out and "Enable API v2" in out


def test_an_unknown_label_is_an_error_on_stderr(db):
    with pytest.raises(CommandError, match="No active connection") as error:
        call_command("connections", "check", "ghost")
    assert error.value.returncode == 2


def test_check_all_checks_every_active_connection_and_a_dead_site_costs_only_its_timeout(
    make_connection, simulator, settings
):
    settings.ISSUETRAK_TIMEOUT_S = 1
    for site in ["healthy", "group-admin", "slow", "revoked-token"]:
        on_site(make_connection, simulator, site)
    started = time.monotonic()
    code, out = check("--all", "--json")
    elapsed = time.monotonic() - started

    documents = {d["connection"]: d for d in json.loads(out)}
    assert documents["slow"]["overall"] == "fail"
    assert documents["healthy"]["overall"] == "pass"
    assert documents["revoked-token"]["overall"] == "fail"
    assert code == 2
    assert elapsed < 3  # the slow site's 1 s timeout, not 4 × anything


def test_check_all_records_a_crash_and_still_checks_the_others(make_connection, simulator):
    from connections.models import Connection

    on_site(make_connection, simulator, "healthy")
    broken = on_site(make_connection, simulator, "group-admin")
    Connection.objects.filter(pk=broken.pk).update(token_ciphertext="not-fernet-at-all")
    code, out = check("--all", "--json")
    documents = {d["connection"]: d["overall"] for d in json.loads(out)}
    assert documents == {"healthy": "pass", "group-admin": "fail"}
    assert code == 2
