"""A refused or missing page is logged once, as one line without a traceback."""

import io
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from django.test import override_settings
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def log_output():
    """Everything the configured stream handlers print for django.request, in one buffer."""
    buffer, swapped = io.StringIO(), []
    logger = logging.getLogger("django.request")
    while logger:
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler:
                swapped.append((handler, handler.setStream(buffer)))
        logger = logger.parent if logger.propagate else None
    yield buffer
    for handler, stream in swapped:
        handler.setStream(stream)


@override_settings(DEBUG=True)  # Django's own console handler prints only in development
def test_a_403_is_logged_once_without_a_traceback(client, viewer, log_output):
    client.force_login(viewer)
    assert client.get(reverse("connections:audit")).status_code == 403
    output = log_output.getvalue()
    assert output.count("Forbidden (Permission denied): /audit/") == 1, output
    assert "Traceback" not in output


@override_settings(DEBUG=True)
def test_a_404_is_logged_once_without_a_traceback(client, viewer, log_output):
    client.force_login(viewer)
    path = reverse("connections:detail", args=[uuid.uuid4()])
    assert client.get(path).status_code == 404
    output = log_output.getvalue()
    assert output.count(f"Not Found: {path}") == 1, output
    assert "Traceback" not in output


def test_the_development_server_logs_a_404_once(tmp_path):
    """`make run`'s runserver: one line for a 404 (no access line repeating it), none with a traceback."""
    port = _free_port()
    env = os.environ | {"DATA_DIR": str(tmp_path), "DEBUG": "1", "DJANGO_SETTINGS_MODULE":
                        "issuetrak_admin.settings", "METRICS_TOKEN": ""}
    env.pop("DATABASE_URL", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=tmp_path, check=True, timeout=120)
    server = subprocess.Popen([*manage, "runserver", f"127.0.0.1:{port}", "--noreload"], env=env,
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(base)
        assert requests.get(base + "/metrics", timeout=10).status_code == 404  # off: no METRICS_TOKEN
        assert requests.get(base + "/accounts/login/", timeout=10).status_code == 200
        time.sleep(0.5)
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert output.count("/metrics") == 1, output
    assert "Not Found: /metrics" in output
    assert '"GET /accounts/login/ HTTP/1.1" 200' in output  # other requests keep their access line
    assert "Traceback" not in output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url, deadline_s=60):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/health/", timeout=5)
            return
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still importing
            time.sleep(0.2)
    pytest.fail(f"runserver did not answer within {deadline_s} s")
