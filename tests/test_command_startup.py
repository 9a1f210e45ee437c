"""Commands start without what only the web or the worker needs; those still work when used.

How fast is measured in benchmarks/command_startup.py; these tests pin what makes it fast.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
WEB_ONLY = ("health_check", "dns.asyncresolver", "redis.asyncio")


def manage(tmp_path, *args, importtime=False):
    """Run `manage.py` as a real process on a SQLite file in `tmp_path`."""
    env = os.environ | {"DATA_DIR": str(tmp_path), "DEBUG": "1", "CELERY_BROKER_URL": "memory://",
                        "DJANGO_SETTINGS_MODULE": "issuetrak_admin.settings"}
    env.pop("DATABASE_URL", None)
    flags = ["-X", "importtime"] if importtime else []
    return subprocess.run([sys.executable, *flags, str(ROOT / "manage.py"), *args],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)


def imported_by(tmp_path, *args):
    """The modules a real `manage.py` process imported (from ``-X importtime``), and its result."""
    finished = manage(tmp_path, *args, importtime=True)
    modules = {line.rsplit("|", 1)[-1].strip() for line in finished.stderr.splitlines()
               if line.startswith("import time:")}
    return modules, finished


def test_a_connections_command_does_not_import_the_health_checks(tmp_path):
    migrated = manage(tmp_path, "migrate", "-v0")
    assert migrated.returncode == 0, migrated.stderr

    modules, finished = imported_by(tmp_path, "connections", "list")

    assert finished.returncode == 0, finished.stderr
    assert "No connections yet." in finished.stdout
    assert "connections.expiry" in modules  # the probe sees what the command imports
    assert [m for m in WEB_ONLY if m in modules] == []


def test_the_connections_command_still_refuses_unusable_token_keys(db, settings):
    settings.TOKEN_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    with pytest.raises(SystemCheckError, match="connections.E001"):
        call_command("connections", "list", skip_checks=False)


@pytest.mark.django_db(transaction=True)
def test_the_health_page_still_renders_its_html_page(client):
    response = client.get(reverse("health"), HTTP_ACCEPT="text/html")
    page = response.content.decode()
    assert response.status_code in (200, 500)  # 500: no notifier run yet, which is overdue
    assert "<html" in page.lower() and "Notifier (expiry scan and re-validation)" in page


def test_tasks_are_sent_through_the_projects_celery_app(settings):
    from connections.tasks import expiry_scan

    assert expiry_scan.app.main == "issuetrak_admin"
    assert expiry_scan.app.conf.broker_url == settings.CELERY_BROKER_URL
