"""The default on-disk broker opens without kombu's "No hostname was supplied" warning."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
from issuetrak_admin.celery import app
connection = app.connection_for_write()
connection.clone().info()  # where kombu warns about a missing hostname
with connection:
    connection.ensure_connection(max_retries=1)
print("connected to", connection.as_uri())
"""


def test_the_filesystem_broker_connects_without_a_hostname_warning(tmp_path):
    env = os.environ | {"DATA_DIR": str(tmp_path), "DEBUG": "1", "CELERY_BROKER_URL": "filesystem://",
                        "DJANGO_SETTINGS_MODULE": "issuetrak_admin.settings"}
    done = subprocess.run([sys.executable, str(ROOT / "manage.py"), "shell", "-c", PROBE],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "connected to filesystem://" in done.stdout
    assert "No hostname" not in done.stderr + done.stdout
