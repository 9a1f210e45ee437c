"""A saved token appears in no page, log line or database file."""

import logging

import pytest
from django.db import connection as db_connection
from django.urls import reverse

from connections.issuetrak import IssuetrakClient
from connections.issuetrak.transport import Transport
from connections.models import ChecklistRun, Connection, RotationCheck
from tests.conftest import SECRET_TOKEN
from tests.http_fixtures import Reply, ScriptedServer


def test_a_saved_token_is_in_no_page_log_or_database_row(sam_client, caplog):
    caplog.set_level(logging.DEBUG)
    sam_client.post(reverse("connections:add"), {
        "label": "Zapier", "base_url": "https://support.example.com", "token": SECRET_TOKEN,
        "hosting": "self_hosted", "notify": "sam@example.com",
    })
    zapier = Connection.objects.get()
    pages = [
        sam_client.get(reverse("connections:list")),
        sam_client.get(zapier.get_absolute_url()),
        sam_client.get(reverse("connections:edit", args=[zapier.public_id])),
        sam_client.get(reverse("connections:archive", args=[zapier.public_id])),
    ]
    for page in pages:
        assert page.status_code == 200
        assert SECRET_TOKEN not in page.content.decode()
    assert SECRET_TOKEN not in caplog.text
    assert SECRET_TOKEN not in repr(zapier) + str(zapier)

    with db_connection.cursor() as cursor:
        cursor.execute("SELECT * FROM connections_connection")
        assert SECRET_TOKEN not in repr(cursor.fetchall())


# --- A site that echoes most of the token ----------------------------------------------------------

ECHOES = {
    "all but the last character": SECRET_TOKEN[:-1],
    "all but the first character": SECRET_TOKEN[1:],
    "eight characters from the middle": SECRET_TOKEN[10:18],
    "upper-cased, minus two": SECRET_TOKEN[:-2].upper(),
}


@pytest.mark.parametrize("echo", ECHOES.values(), ids=ECHOES.keys())
def test_a_site_echoing_any_eight_characters_of_the_token_gets_none_of_them_out(echo, caplog):
    caplog.set_level(logging.DEBUG)
    routes = {
        "/api/v2/System/Settings": Reply(
            403, {"type": "Permission", "information": [{"message": f"key {echo} refused"}],
                  "traceId": f"t-{echo}"}, {"X-Echo": echo}),
        "/api/v2/Users/1": Reply(200, {"values": {"apiKey": echo, echo: [echo]}}),
    }
    with ScriptedServer(routes) as site, IssuetrakClient(site.url, SECRET_TOKEN) as client:
        results = [client.system_settings(), client.get_user(1)]
    assert "[redacted]" in results[0].message and "refused" in results[0].message
    shown = repr(results) + caplog.text
    assert echo.lower() not in shown.lower()
    assert not any(SECRET_TOKEN[i:i + 8].lower() in shown.lower() for i in range(len(SECRET_TOKEN) - 7))


def test_seven_characters_of_the_token_are_left_alone():
    # Shorter runs are ordinary text (a word, a version): masking them would garble messages.
    with ScriptedServer({"/api/v2/System/Settings": Reply(
            403, {"type": "Permission", "information": [{"message": f"no {SECRET_TOKEN[:7]}"}]})}
    ) as site, IssuetrakClient(site.url, SECRET_TOKEN) as client:
        assert client.system_settings().message.endswith(f"no {SECRET_TOKEN[:7]}")


# --- The DEBUG error page -------------------------------------------------------------------------

# Spelled as an expression: the debug page shows this file's source around the crash below.
NEW_SECRET = SECRET_TOKEN[::-1]


def _crash_in_the_check(monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("the network stack fell over")

    monkeypatch.setattr(Transport, "exchange", crash)


def _crash_in_the_swap(monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("the database went away mid-swap")

    monkeypatch.setattr(ChecklistRun.objects, "create", crash)


@pytest.mark.parametrize("crash", [_crash_in_the_check, _crash_in_the_swap])
def test_a_crash_during_rotation_with_debug_on_shows_no_token(crash, sam_client, settings, simulator,
                                                              make_connection, monkeypatch):
    simulator.add_token("healthy", NEW_SECRET)
    zapier = make_connection(token=SECRET_TOKEN, base_url=simulator.site_url("healthy"),
                             token_user="integration")
    settings.DEBUG = True
    crash(monkeypatch)
    sam_client.raise_request_exception = False

    response = sam_client.post(reverse("connections:rotate", args=[zapier.public_id]), {
        "token": NEW_SECRET, "token_name": "Zapier", "expires_on": "", "accept_warnings": "on"},
        follow=True)

    # The check runs in a worker: its crash is said on the check's page, not as a 500.
    page = response.content.decode()
    assert response.status_code == 200 and "stopped unexpectedly" in page
    for secret in (NEW_SECRET, SECRET_TOKEN):
        assert not any(secret[i:i + 8] in page for i in range(len(secret) - 7))
    assert Connection.objects.get().reveal_token() == SECRET_TOKEN
    assert RotationCheck.objects.get().token_ciphertext == ""  # the candidate is gone
