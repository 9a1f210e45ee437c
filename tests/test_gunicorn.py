"""Production serving: gunicorn with DEBUG=0 and collected static files, as the README says."""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    """gunicorn started from the documented config, after migrate and collectstatic."""
    data, port = tmp_path_factory.mktemp("production"), _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env |= {"DEBUG": "0", "DATA_DIR": str(data), "SECRET_KEY": "x" * 50,
            "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "ALLOWED_HOSTS": "127.0.0.1",
            "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2",
            "CELERY_BROKER_URL": "filesystem://"}
    for step in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        done = subprocess.run([sys.executable, "manage.py", *step], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    log = (data / "gunicorn.log").open("w")
    server = subprocess.Popen([str(GUNICORN), "-c", "issuetrak_admin/gunicorn.conf.py"], cwd=ROOT,
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, server, data / "gunicorn.log")
        yield url, data / "gunicorn.log"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _wait_until_up(url, server, log_path, deadline_s=60):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        assert server.poll() is None, log_path.read_text()
        try:
            requests.get(url + "/health/", timeout=5, allow_redirects=False)
            return
        except (requests.ConnectionError, requests.Timeout):
            # Refused until gunicorn listens; slow while its first worker imports on a busy machine.
            time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer within {deadline_s} s:\n{log_path.read_text()}")


def https_get(url, **kwargs):
    # As the TLS-terminating proxy in front of gunicorn would forward it.
    return requests.get(url, headers={"X-Forwarded-Proto": "https"}, timeout=10,
                        allow_redirects=False, **kwargs)


def test_gunicorn_serves_the_sign_in_page_and_static_files_with_debug_off(production):
    url, log_path = production
    page = https_get(url + "/accounts/login/")
    assert page.status_code == 200
    assert "Sign in" in page.text
    assert "Traceback" not in page.text

    stylesheet = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page.text)
    assert stylesheet, "static files are served under their hashed (collected) names"
    css = https_get(url + stylesheet.group(1))
    assert css.status_code == 200 and ".badge" in css.text
    assert "max-age" in css.headers["Cache-Control"]  # WhiteNoise: hashed names cached for long

    icon = re.search(r'<link rel="icon" href="(/static/favicon\.[0-9a-f]{12}\.svg)"', page.text)
    assert icon and https_get(url + icon.group(1)).headers["Content-Type"].startswith("image/svg")
    assert https_get(url + "/favicon.ico").headers["Location"] == icon.group(1)
    assert "GET /accounts/login/" in log_path.read_text()  # gunicorn's access log


def test_plain_http_is_sent_to_https_in_production(production):
    url, _ = production
    response = requests.get(url + "/accounts/login/", timeout=10, allow_redirects=False)
    assert response.status_code == 301 and response.headers["Location"].startswith("https://")
