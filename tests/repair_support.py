"""Helpers for the permission repair tests: the CLI with a token on stdin, and reads of the
simulated site with the Sys Admin's token (the `admin_sim` fixture lives in conftest)."""

import io
import json
import sys
import time

import pytest
import requests
from django.core.management import call_command

from connections.simulator.scenarios import INTEGRATION_IID

ADMIN_TOKEN = "sysadmin-typed-9f2c41d7"


def on_site(make_connection, admin_sim, site):
    return make_connection(label=site, token_name=site, token="good-token", base_url=admin_sim.site_url(site),
                           token_user="integration")


def fix(label, *flags, token=ADMIN_TOKEN):
    out, err = io.StringIO(), io.StringIO()
    old_stdin, sys.stdin = sys.stdin, io.StringIO(token + "\n")
    try:
        with pytest.raises(SystemExit) as exit_:
            call_command("connections", "fix-permissions", label, "--admin-token-stdin", *flags,
                         stdout=out, stderr=err)
    finally:
        sys.stdin = old_stdin
    return exit_.value.code, out.getvalue()


def get(admin_sim, site, path):
    """A read of the test's own; it waits out a 429 the repair's calls left behind, once."""
    url = f"{admin_sim.site_url(site)}/api/v2{path}"
    response = requests.get(url, headers={"X-Api-Key": ADMIN_TOKEN}, timeout=10)
    if response.status_code == 429:
        time.sleep(float(response.headers.get("Retry-After", "1")))
        response = requests.get(url, headers={"X-Api-Key": ADMIN_TOKEN}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["values"]


def all_groups(admin_sim, site):
    """Every group record, in one read (the test's reads share the site's 20 a second)."""
    return {g["iid"]: g for g in get(admin_sim, site, "/Groups?PageSize=100")}


def memberships(admin_sim, site, iid=INTEGRATION_IID):
    return sorted(m["groupIid"] for m in get(admin_sim, site, f"/Users/{iid}/Memberships/Groups"))


def checklist(label):
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("connections", "check", label, "--json", stdout=out)
    return {s["key"]: s["status"] for s in json.loads(out.getvalue())["steps"]}
