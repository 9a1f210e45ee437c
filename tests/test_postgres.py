"""The app on a real PostgreSQL server: migrations and the CLI in a fresh database."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import SECRET_TOKEN, require_service

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("POSTGRES_TEST_SERVER", "postgres://postgres@127.0.0.1:5432")


@pytest.fixture
def fresh_database():
    psycopg = pytest.importorskip("psycopg")
    name = f"itadmin_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        require_service("PostgreSQL", False, str(exc).splitlines()[0])
    admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{SERVER}/{name}"
    admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.close()


def test_migrate_and_cli_work_on_postgresql(fresh_database, tmp_path):
    env = os.environ | {"DATABASE_URL": fresh_database, "DEBUG": "1", "DATA_DIR": str(tmp_path),
                        "DJANGO_SETTINGS_MODULE": "issuetrak_admin.settings"}

    def manage(*args, stdin=""):
        done = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], input=stdin,
                              capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    manage("migrate", "--noinput")
    manage("connections", "add", "--label", "Zapier", "--base-url", "https://x.example.com",
           "--token-stdin", "--notify", "a@example.com", stdin=SECRET_TOKEN)
    assert json.loads(manage("connections", "list", "--json"))[0]["label"] == "Zapier"
    # Migrations are reversible.
    manage("migrate", "connections", "zero", "--noinput")
