"""The CLI as a shell sees it: exit codes, stdout only JSON, errors on stderr."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SECRET_TOKEN

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def manage(tmp_path):
    env = os.environ | {"DATA_DIR": str(tmp_path), "DEBUG": "1", "DATABASE_URL": ""}
    env.pop("DATABASE_URL")
    env["DJANGO_SETTINGS_MODULE"] = "issuetrak_admin.settings"

    def call(*args, stdin=""):
        return subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            input=stdin, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
        )

    assert call("migrate", "--noinput").returncode == 0
    return call


def test_the_cli_round_trip_in_a_real_process(manage, tmp_path):
    added = manage("connections", "add", "--label", "Zapier", "--base-url",
                   "https://support.example.com", "--token-stdin", "--notify", "a@example.com",
                   stdin=SECRET_TOKEN + "\n")
    assert added.returncode == 0, added.stderr

    listed = manage("connections", "list", "--json")
    assert listed.returncode == 0
    assert json.loads(listed.stdout)[0]["label"] == "Zapier"

    refused = manage("connections", "add", "--label", "Other", "--base-url", "ftp://x",
                     "--token-stdin", "--notify", "a@example.com", stdin=SECRET_TOKEN)
    assert refused.returncode != 0
    assert refused.stdout == ""
    assert "--base-url" in refused.stderr
    assert SECRET_TOKEN not in refused.stderr + added.stdout + added.stderr + listed.stdout

    # WAL mode: recent pages may still sit in the -wal file, so read every part.
    for part in tmp_path.glob("issuetrak-admin.sqlite3*"):
        assert SECRET_TOKEN.encode() not in part.read_bytes()
