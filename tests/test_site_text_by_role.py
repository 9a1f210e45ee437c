"""Onboarding staff and viewers see each step's result but never text a site wrote when it did
not answer as Issuetrak's API (page titles, error details); sysadmins still read them."""

import pytest
from django.core import mail
from django.urls import reverse
from django.utils.html import escape

from connections.issuetrak import IssuetrakClient
from connections.models import ChecklistRun
from connections.revalidation import revalidate_all
from tests.http_fixtures import Reply, ScriptedServer

SECRET_TITLE = "Jenkins on build-07 (admin password in README)"
DETAIL = "Npgsql: password authentication failed for user svc_issuetrak"
TRACE = "trace-from-an-internal-host"
AUTH = "/api/v2/Authenticate/test"
SETTINGS = "/api/v2/System/Settings"

SITES = {
    "html page": ({AUTH: Reply(200, f"<html><title>{SECRET_TITLE}</title></html>")}, "api_v2_installed",
                  "A web page answered where API v2 should: 200: expected the API's JSON, got an HTML page"),
    "web server 404": ({AUTH: Reply(200, {"traceId": "t"}),
                        SETTINGS: Reply(404, f"<html><title>{SECRET_TITLE}</title></html>")}, "token_valid",
                       "Unexpected answer: 404 from the web server, not API v2 (an HTML page): is API v2"),
    "json error": ({AUTH: Reply(200, {"traceId": "t"}),
                    SETTINGS: Reply(500, {"title": DETAIL, "traceId": TRACE})}, "token_valid",
                   "The site failed with a server error."),
    "bad request": ({AUTH: Reply(200, {"traceId": "t"}),
                     SETTINGS: Reply(400, {"information": [{"message": DETAIL}]})}, "token_valid",
                    "Unexpected answer: 400: the site refused the request as invalid"),
}


def _ran(client, sysadmin, make_connection, captured, routes):
    server = ScriptedServer(routes)
    with server:
        zapier = make_connection(base_url=server.url, token="some-token-value", token_user="")
        client.force_login(sysadmin)
        with captured(execute=True):
            client.post(reverse("connections:check", args=[zapier.public_id]))
    return zapier, ChecklistRun.objects.get()


@pytest.mark.parametrize("site", SITES)
def test_only_sysadmins_read_what_a_site_wrote(client, sysadmin, onboarding_clerk, viewer, make_connection,
                                              django_capture_on_commit_callbacks, site):
    routes, key, plain = SITES[site]
    zapier, run = _ran(client, sysadmin, make_connection, django_capture_on_commit_callbacks, routes)
    step = run.result_of(key)
    assert step.status in ("fail", "error")
    pages = [reverse("connections:run", args=[zapier.public_id, run.public_id]),
             reverse("connections:detail", args=[zapier.public_id]),
             reverse("connections:onboarding", args=[zapier.public_id])]
    for person, full in ((sysadmin, True), (onboarding_clerk, False), (viewer, False)):
        client.force_login(person)
        for url in pages:
            page = client.get(url).content.decode()
            quoted = any(text in page for text in (SECRET_TITLE, DETAIL, TRACE))
            assert quoted is full, (person.username, url)
            assert f'data-status="{step.status}"' in page or url != pages[0]
            if url == pages[0] and not full:
                assert escape(plain) in page


def test_a_broken_notice_does_not_quote_the_site(make_connection):
    """Whoever added the connection chose its recipients, so the mail carries the plain message."""
    routes, _key, plain = SITES["html page"]
    with ScriptedServer(routes) as server:
        make_connection(base_url=server.url, token="some-token-value")
        revalidate_all()
    [message] = mail.outbox
    assert plain in message.body
    assert SECRET_TITLE not in message.body + message.alternatives[0][0] + message.subject


def test_the_client_keeps_both_messages_and_redacts_both():
    token = "tok-abcdefghijklmnop"
    page = f"<html><title>{SECRET_TITLE} {token}</title></html>"
    with ScriptedServer({AUTH: Reply(200, page)}) as server:
        result = IssuetrakClient(server.url, token).authenticate_test()
    assert SECRET_TITLE in result.message and token not in result.message
    assert result.unquoted_message == "200: expected the API's JSON, got an HTML page"
