"""Proxy trust and HSTS come only from the environment; every page carries a Content-Security-Policy."""

import json
import os
import subprocess
import sys
from pathlib import Path

from django.test import override_settings
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
SHOWN = ["SECURE_PROXY_SSL_HEADER", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
         "SECURE_HSTS_PRELOAD", "AXES_FAILURE_LIMIT", "AXES_COOLOFF_TIME", "PASSWORD_RESET",
         "TRUSTED_PROXY_COUNT"]


def _production_settings(**env) -> dict:
    """The settings module as production reads it (DEBUG=0), with these variables set."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("DJANGO_SETTINGS_MODULE", *SHOWN, "AXES_COOLOFF_MINUTES")}
    clean |= {"DEBUG": "0", "SECRET_KEY": "x" * 50, "TOKEN_ENCRYPTION_KEYS": "k" * 43 + "=",
              "DJANGO_SETTINGS_MODULE": "issuetrak_admin.settings", **env}
    code = ("import json, django; from django.conf import settings as s; "
            f"print(json.dumps({{n: str(getattr(s, n)) for n in {SHOWN!r}}}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True,
                         text=True, timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_production_trusts_no_proxy_header_and_sends_no_hsts_unless_configured():
    plain = _production_settings()
    assert plain["SECURE_PROXY_SSL_HEADER"] == "None"
    assert (plain["SECURE_HSTS_SECONDS"], plain["SECURE_HSTS_INCLUDE_SUBDOMAINS"],
            plain["SECURE_HSTS_PRELOAD"]) == ("0", "False", "False")
    assert (plain["AXES_FAILURE_LIMIT"], plain["AXES_COOLOFF_TIME"], plain["PASSWORD_RESET"]) == (
        "5", "0:15:00", "False")

    configured = _production_settings(
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto", SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="1", SECURE_HSTS_PRELOAD="1", AXES_FAILURE_LIMIT="10",
        AXES_COOLOFF_MINUTES="60", PASSWORD_RESET="1", TRUSTED_PROXY_COUNT="1")
    assert configured == {
        "SECURE_PROXY_SSL_HEADER": "('HTTP_X_FORWARDED_PROTO', 'https')", "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "True", "SECURE_HSTS_PRELOAD": "True",
        "AXES_FAILURE_LIMIT": "10", "AXES_COOLOFF_TIME": "1:00:00", "PASSWORD_RESET": "True",
        "TRUSTED_PROXY_COUNT": "1"}


@override_settings(SECURE_SSL_REDIRECT=True)
def test_a_forged_forwarded_proto_does_not_pass_for_https(client, db):
    response = client.get(reverse("login"), HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301 and response["Location"].startswith("https://")
    assert "Strict-Transport-Security" not in client.get(reverse("login"), secure=True)


@override_settings(SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
                   SECURE_HSTS_SECONDS=600, SECURE_HSTS_INCLUDE_SUBDOMAINS=True, SECURE_HSTS_PRELOAD=True)
def test_a_configured_proxy_header_and_hsts_are_honoured(client, db):
    response = client.get(reverse("login"), HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=600; includeSubDomains; preload"


def test_every_page_carries_the_content_security_policy(client, sysadmin):
    policy = client.get(reverse("login"))["Content-Security-Policy"]
    for directive in ["default-src 'self'", "script-src 'self'", "style-src 'self'",
                      "object-src 'none'", "frame-ancestors 'none'", "form-action 'self'"]:
        assert directive in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    client.force_login(sysadmin)
    assert client.get(reverse("connections:list"))["Content-Security-Policy"] == policy


def test_no_template_holds_an_inline_script_or_style():
    for template in (ROOT / "templates").rglob("*.html"):
        if template.parent.name == "emails":  # mail clients, not browsers under our policy
            continue
        text = template.read_text()
        assert "style=" not in text and "<style" not in text, template
        assert "<script>" not in text and " on" + "click=" not in text, template
