"""Each scenario site answers the way its failure looks on a real Issuetrak site.

The simulator runs on a real socket; requests speaks to it as the client will.
"""

import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from django.core.management.base import CommandError

from connections.management.commands.issuetrak_simulator import Command, build_simulator
from connections.simulator import IssuetrakSimulator
from connections.simulator.sites import SiteFileError

ROOT = Path(__file__).resolve().parent.parent
GOOD = {"X-Api-Key": "good-token"}
TRACE_ID = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-00$")


@pytest.fixture(scope="module")
def sim():
    with IssuetrakSimulator(slow_seconds=1) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def _fresh_rate_limits(sim):
    sim.reset_rate_limits()


def get(sim, site, path, headers=GOOD, **kwargs):
    kwargs.setdefault("timeout", 5)
    return requests.get(f"{sim.site_url(site)}/api/v2{path}", headers=headers, **kwargs)


def search(sim, site, login, headers=GOOD):
    body = {"id": {"type": "MatchAny", "values": [login]}}
    return requests.post(f"{sim.site_url(site)}/api/v2/Users/Search", headers=headers, json=body, timeout=5)


def groups_of(sim, site, iid):
    memberships = get(sim, site, f"/Users/{iid}/Memberships/Groups").json()["values"]
    return [get(sim, site, f"/Groups/{m['groupIid']}").json()["values"] for m in memberships]


def information(response):
    return response.json()["information"][0]


# --- healthy and the permission scenarios -----------------------------------------------------

def test_it_serves_the_healthy_site_to_a_sys_admin_token(sim):
    answer = get(sim, "healthy", "/Authenticate/test")
    assert answer.status_code == 200
    assert TRACE_ID.match(answer.json()["traceId"])

    found = search(sim, "healthy", "INTEGRATION").json()  # MatchAny is case-insensitive
    assert [u["id"] for u in found["values"]] == ["integration"]
    user = get(sim, "healthy", f"/Users/{found['values'][0]['iid']}").json()["values"]
    assert user["isSysAdmin"] and user["isActive"] and user["isAgent"]
    assert any("CanUseApiV2" in g["permissions"] for g in groups_of(sim, "healthy", user["iid"]))
    assert get(sim, "healthy", "/System/Settings").json()["values"]["listSize"] == 25


def test_it_searches_users_by_iid(sim):
    body = {"iid": {"type": "MatchAny", "values": [2, 3]}}
    url = f"{sim.site_url('healthy')}/api/v2/Users/Search"
    found = requests.post(url, headers=GOOD, json=body, timeout=5)
    assert [u["id"] for u in found.json()["values"]] == ["jdoe", "rpatel"]


def test_it_makes_integration_an_administrator_through_its_group_on_group_admin(sim):
    user = search(sim, "group-admin", "integration").json()["values"][0]
    assert user["isSysAdmin"] is False
    permissions = {p for g in groups_of(sim, "group-admin", user["iid"]) for p in g["permissions"]}
    assert {"IsAdmin", "CanUseApiV2"} <= permissions and "IsReadOnlyAdmin" not in permissions
    assert get(sim, "group-admin", "/System/Settings").status_code == 200


def test_it_refuses_admin_reads_to_a_non_administrator(sim):
    assert get(sim, "not-admin", "/Authenticate/test").status_code == 200
    for answer in (get(sim, "not-admin", "/System/Settings"), get(sim, "not-admin", "/Users"),
                   get(sim, "not-admin", "/Groups"), search(sim, "not-admin", "integration")):
        assert answer.status_code == 403
        assert information(answer)["type"] == "Authorization"


def test_it_lets_a_read_only_admin_read_and_shows_the_overriding_permission(sim):
    assert get(sim, "read-only-admin", "/System/Settings").status_code == 200
    user = search(sim, "read-only-admin", "integration").json()["values"][0]
    permissions = {p for g in groups_of(sim, "read-only-admin", user["iid"]) for p in g["permissions"]}
    assert {"IsAdmin", "IsReadOnlyAdmin"} <= permissions


def test_it_shows_the_recorded_user_as_inactive_while_the_token_works(sim):
    assert get(sim, "inactive-user", "/System/Settings").status_code == 200  # good-token is admin's
    user = search(sim, "inactive-user", "integration").json()["values"][0]
    assert user["isActive"] is False
    # integration's own token cannot authenticate: an inactive user answers like a wrong token.
    refused = get(sim, "inactive-user", "/Authenticate/test", headers={"X-Api-Key": "inactive-token"})
    assert refused.status_code == 401 and refused.content == b""


@pytest.mark.parametrize("header", [{}, {"X-Api-Key": '"good-token"'}, {"X-Api-Key": "good-token "},
                                    {"X-Api-Key": "Bearer good-token"}, {"X-Api-Key": "GOOD-TOKEN"}])
def test_it_answers_401_without_a_body_to_anything_but_the_raw_token(sim, header):
    answer = get(sim, "healthy", "/Authenticate/test", headers=header)
    assert answer.status_code == 401
    assert answer.content == b""


# --- sites whose API is absent, off, or answers oddly ------------------------------------------

@pytest.mark.parametrize("url_tail", [
    "/no-api/api/v2/Authenticate/test", "/no-api/api/v2/Users/3", "/nonexistent/api/v2/Authenticate/test",
    "/healthy/", "/healthy/Login.asp", "/healthy/api/v20/Users",
])  # fmt: skip
def test_it_answers_the_web_servers_html_404_where_no_api_is_installed(sim, url_tail):
    answer = requests.get(sim.root_url + url_tail, headers=GOOD, timeout=5)
    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "404" in answer.text


def test_it_answers_403_api_disabled_before_looking_at_the_token(sim):
    for headers in (GOOD, {}):
        answer = get(sim, "api-disabled", "/Authenticate/test", headers=headers)
        assert answer.status_code == 403
        assert information(answer)["type"] == "ApiDisabled"
        assert "disabled" in information(answer)["message"]


@pytest.mark.parametrize("path", ["/Authenticate/test", "/System/Settings", "/Users/17", "/Groups"])
def test_it_answers_401_without_a_body_for_a_revoked_token(sim, path):
    answer = get(sim, "revoked-token", path)
    assert answer.status_code == 401
    assert answer.content == b""


def test_it_is_always_over_the_limit_on_rate_limited(sim):
    answer = get(sim, "rate-limited", "/Authenticate/test")
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "120"
    assert information(answer)["type"] == "RateLimit"


def test_it_fails_with_a_500_envelope_on_server_error(sim):
    answer = get(sim, "server-error", "/System/Settings")
    assert answer.status_code == 500
    assert TRACE_ID.match(answer.json()["traceId"])
    assert information(answer)["message"]


def test_it_answers_an_html_page_with_200_on_garbage(sim):
    answer = get(sim, "garbage", "/Authenticate/test")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        answer.json()


def test_it_redirects_to_another_host_on_redirect_away(sim):
    answer = get(sim, "redirect-away", "/Authenticate/test", allow_redirects=False)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("http://elsewhere.invalid/")


def test_it_accepts_a_new_token_and_refuses_a_revoked_one_from_the_next_request():
    with IssuetrakSimulator() as simulator:
        simulator.add_token("healthy", "rotated-token")
        simulator.revoke_token("healthy", "good-token")

        assert get(simulator, "healthy", "/Authenticate/test", headers={"X-Api-Key": "rotated-token"}).ok
        assert get(simulator, "healthy", "/Authenticate/test").status_code == 401
        assert get(simulator, "group-admin", "/Authenticate/test").status_code == 200  # other sites unchanged


# --- rate limits, slowness, shutdown ------------------------------------------------------------

def test_it_answers_429_with_retry_after_beyond_20_requests_a_second(sim):
    with requests.Session() as session:
        session.headers.update(GOOD)
        url = f"{sim.site_url('healthy')}/api/v2/Authenticate/test"
        statuses = [session.get(url, timeout=5) for _ in range(25)]
    refused = [r for r in statuses if r.status_code == 429]
    assert refused, "25 requests in well under a second must exceed 20/s"
    assert int(refused[0].headers["Retry-After"]) >= 1
    assert information(refused[0])["type"] == "RateLimit"

    sim.reset_rate_limits()
    assert get(sim, "healthy", "/Authenticate/test").status_code == 200


def test_it_allows_only_5_searches_a_second(sim):
    statuses = [search(sim, "healthy", "integration").status_code for _ in range(7)]
    assert statuses[:5] == [200] * 5
    assert 429 in statuses[5:]


def test_it_counts_per_site_whatever_the_token(sim):
    for _ in range(20):
        get(sim, "healthy", "/Authenticate/test")
    assert get(sim, "healthy", "/Authenticate/test").status_code == 429
    assert get(sim, "healthy", "/Authenticate/test", headers={"X-Api-Key": "other"}).status_code == 429
    assert get(sim, "group-admin", "/Authenticate/test").status_code == 200


def test_it_answers_the_slow_site_late_without_holding_up_others(sim):
    slow = {}

    def ask_slow():
        started = time.monotonic()
        slow["status"] = get(sim, "slow", "/Authenticate/test").status_code
        slow["seconds"] = time.monotonic() - started

    worker = threading.Thread(target=ask_slow)
    worker.start()
    time.sleep(0.1)
    started = time.monotonic()
    assert get(sim, "healthy", "/Authenticate/test").status_code == 200
    assert time.monotonic() - started < 0.5
    worker.join(timeout=5)
    assert slow["status"] == 200
    assert 0.9 <= slow["seconds"] < 3


def test_it_stops_promptly_with_a_slow_request_in_flight():
    simulator = IssuetrakSimulator(slow_seconds=30).start()
    outcome = {}

    def ask_slow():
        try:
            get(simulator, "slow", "/Authenticate/test", timeout=10)
        except requests.ConnectionError:
            outcome["dropped"] = True

    worker = threading.Thread(target=ask_slow)
    worker.start()
    time.sleep(0.2)
    started = time.monotonic()
    simulator.stop()
    assert time.monotonic() - started < 1
    worker.join(timeout=2)
    assert outcome == {"dropped": True}


# --- TLS ------------------------------------------------------------------------------------

def test_it_serves_https_with_a_self_signed_certificate(tmp_path):
    with IssuetrakSimulator(tls=True, cert_dir=tmp_path) as simulator:
        assert simulator.root_url.startswith("https://127.0.0.1:")
        trusted = get(simulator, "healthy", "/Authenticate/test", verify=str(simulator.cert_path))
        assert trusted.status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            get(simulator, "healthy", "/Authenticate/test", verify=True)
    first = simulator.cert_path.read_bytes()

    with IssuetrakSimulator(tls=True, cert_dir=tmp_path) as again:
        assert again.cert_path.read_bytes() == first  # reused, so a trusted certificate stays trusted


# --- extra sites and the management command -----------------------------------------------------

ACME = {
    "name": "acme",
    "flags": {"api_installed": True, "api_enabled": True, "behaviour": None},
    "users": [{"iid": 40, "id": "zap", "displayName": "Zap, Integration", "groups": [9]}],
    "groups": [{"iid": 9, "name": "API Admins", "permissions": ["IsAdmin", "CanUseApiV2"]}],
    "tokens": {"acme-token": 40},
}


def test_it_serves_extra_sites_next_to_the_built_in_ones():
    with IssuetrakSimulator(extra_sites=[ACME]) as simulator:
        acme = {"X-Api-Key": "acme-token"}
        assert get(simulator, "acme", "/Users/40", headers=acme).json()["values"]["id"] == "zap"
        assert get(simulator, "acme", "/Authenticate/test").status_code == 401  # good-token is not acme's
        assert get(simulator, "healthy", "/Authenticate/test").status_code == 200


@pytest.mark.parametrize(("change", "complaint"), [
    ({"groups": [{"iid": 9, "name": "API Admins", "permissions": ["IsSuperAdmin"]}]}, "IsSuperAdmin"),
    ({"users": [{"iid": 40, "id": "zap", "displayName": "Zap", "isadmin": True}]}, "isadmin"),
    ({"tokens": {"acme-token": 41}}, "41"),
    ({"flags": {"behaviour": "sleepy"}}, "sleepy"),
    ({"name": "a/b"}, "name"),
])  # fmt: skip
def test_it_rejects_a_site_that_does_not_follow_the_format(change, complaint):
    with pytest.raises(SiteFileError, match=complaint):
        IssuetrakSimulator(extra_sites=[{**ACME, **change}])


def test_the_command_builds_its_simulator_from_the_options(tmp_path, settings):
    settings.DATA_DIR = tmp_path
    sites_file = tmp_path / "sites.json"
    sites_file.write_text(json.dumps({"sites": [ACME]}))
    parser = Command().create_parser("manage.py", "issuetrak_simulator")
    arguments = ["--port", "0", "--tls", "--sites", str(sites_file), "--slow-seconds", "2"]
    options = vars(parser.parse_args(arguments))

    simulator = build_simulator(**options)

    assert (simulator.host, simulator.tls, simulator.slow_seconds) == ("127.0.0.1", True, 2.0)
    assert "acme" in simulator.sites and "healthy" in simulator.sites
    with simulator:
        assert simulator.cert_path.parent == tmp_path / "simulator-tls"


def test_the_command_refuses_a_broken_sites_file(tmp_path):
    broken = tmp_path / "sites.json"
    broken.write_text('[{"name": "x", "tokens": {"t": 1}}]')
    with pytest.raises(CommandError, match="--sites"):
        build_simulator(host="127.0.0.1", port=0, tls=False, sites=broken, slow_seconds=1)


def test_the_command_serves_until_interrupted_and_never_logs_a_token(tmp_path):
    env = os.environ | {"DATA_DIR": str(tmp_path), "DEBUG": "1", "PYTHONUNBUFFERED": "1",
                        "DJANGO_SETTINGS_MODULE": "issuetrak_admin.settings"}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "issuetrak_simulator", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )
    try:
        banner = process.stdout.readline()
        root = re.search(r"https?://127\.0\.0\.1:\d+", banner).group(0)
        healthy_line = next(line for line in iter(process.stdout.readline, "") if "healthy" in line)
        assert f"{root}/healthy" in healthy_line and "good-token" in healthy_line

        answer = requests.get(f"{root}/healthy/api/v2/Users/17", headers=GOOD, timeout=5)
        assert answer.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "Simulator stopped." in out
    assert "GET healthy /api/v2/Users/17 200" in err
    assert "good-token" not in err


def test_it_never_logs_a_token(sim, caplog):
    secret = "s3cret-token-value"
    with caplog.at_level(logging.DEBUG, logger="connections.simulator"):
        get(sim, "healthy", "/Users?PageSize=2", headers={"X-Api-Key": secret})
        get(sim, "healthy", "/Users?PageSize=2")
    assert "GET healthy /api/v2/Users 200" in caplog.text
    assert secret not in caplog.text and "good-token" not in caplog.text
