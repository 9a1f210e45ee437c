"""Hostile text: labels, token names, versions and addresses refuse control characters and bidi
overrides (page and CLI, nothing saved); `connections list` never prints a raw escape from an
older row; mail subjects are plain text; webhook text is escaped for Slack and Teams markup."""

import datetime as dt
import json

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from connections import expiry, onboarding, webhook
from connections.models import Connection, Notice
from tests.conftest import SECRET_TOKEN
from tests.http_fixtures import Reply, ScriptedServer
from tests.test_cli_connections import ADD, run
from tests.test_connection_pages import form

ESC, RLO = "\x1b", "\u202e"

HOSTILE = [
    ("label", f"Zapier{ESC}[2J", "label contains a control character (U+001B)"),
    ("label", f"Zap{RLO}reipa", "label contains a text-direction control (U+202E)"),
    ("token_name", f"Zapier{RLO}", "token name contains a text-direction control"),
    ("token_user", f"admin{ESC}]0;pwned\x07", "token user contains a control character"),
    ("issuetrak_version", f"14.10{RLO}", "version contains a text-direction control"),
    ("base_url", f"https://support.example.com/{ESC}[31m", "Base URL contains a control character"),
    ("base_url", f"https://support{RLO}.example.com", "Base URL contains a text-direction control"),
    ("notify", f"sam@exa{RLO}mple.com", "list of addresses contains a text-direction control"),
    ("notify", "sam@example.com,\x85ops@example.com", "list of addresses contains a control character"),
]


@pytest.mark.parametrize("field, value, message", HOSTILE)
def test_the_form_refuses_control_and_bidi_characters(sam_client, field, value, message):
    response = sam_client.post(reverse("connections:add"), form(**{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Connection.objects.exists()


CLI_OPTIONS = {"label": "--label", "token_name": "--token-name", "token_user": "--token-user",
               "base_url": "--base-url", "notify": "--notify"}


@pytest.mark.parametrize("field, value, message", [h for h in HOSTILE if h[0] in CLI_OPTIONS])
def test_the_cli_refuses_them_too(db, field, value, message):
    args = list(ADD)
    args[args.index(CLI_OPTIONS[field]) + 1] = value
    with pytest.raises(Exception, match="Nothing was saved") as error:
        run(*args, stdin=SECRET_TOKEN)
    assert message in str(error.value)
    assert not Connection.objects.exists()


def test_an_edit_and_a_confirmed_version_refuse_them(sam_client, make_connection, sysadmin):
    zapier = make_connection()
    response = sam_client.post(reverse("connections:edit", args=[zapier.public_id]),
                               form(label=f"Zapier{RLO}", token=""))
    assert "text-direction control" in response.content.decode()
    with pytest.raises(Exception, match="control character"):
        onboarding.confirm(zapier, "version", by=sysadmin, value=f"14.10{ESC}")
    zapier.refresh_from_db()
    assert zapier.label == "Zapier" and zapier.issuetrak_version == ""


def test_ordinary_text_and_newlines_between_addresses_still_pass(sam_client):
    sam_client.post(reverse("connections:add"),
                    form(label="Zapier – Café", notify="a@example.com\nb@example.com"))
    assert Connection.objects.get().label == "Zapier – Café"


def test_list_shows_escapes_from_older_rows_instead_of_printing_them(make_connection):
    make_connection(label=f"Zapier{ESC}[2J{RLO}", token_name=f"x{ESC}",
                    base_url=f"https://support.example.com/{ESC}]0;title\x07")
    out, _ = run("list")
    assert ESC not in out and RLO not in out and "\x07" not in out
    assert "Zapier\\x1b[2J\\u202e" in out and "\\x07" in out
    assert out.count("\t") == 4 and out.endswith("\n")  # the layout is untouched


HOSTILE_LABEL = "R&D <!channel> *urgent* [click](https://evil.example) <https://evil.example|Zapier>"


def test_mail_subjects_are_plain_text_on_one_line(make_connection):
    make_connection(label=HOSTILE_LABEL, expires_on=timezone.localdate() + dt.timedelta(days=3))
    expiry.scan()
    [message] = mail.outbox
    assert HOSTILE_LABEL in message.subject
    assert "&lt;" not in message.subject and "&amp;" not in message.subject
    assert "\n" not in message.subject
    assert "&lt;!channel&gt;" in message.alternatives[0][0]  # the HTML part stays escaped


def test_a_subject_from_an_older_row_shows_its_escapes(make_connection):
    make_connection(label=f"Zapier{ESC}[2J\r\nBcc: x@example.com",
                    expires_on=timezone.localdate() + dt.timedelta(days=3))
    expiry.scan()
    [message] = mail.outbox
    assert "Zapier\\x1b[2J Bcc: x@example.com" in message.subject
    assert message.bcc == [] and "\r" not in message.subject


def test_slack_text_escapes_ampersand_and_angle_brackets(make_connection):
    zapier = make_connection(label=HOSTILE_LABEL)
    notice = Notice(connection=zapier, summary="a <b> & c")
    text = webhook.message_text([notice], webhook.flavour_for("https://hooks.slack.com/services/T/B/x"))
    assert "R&amp;D &lt;!channel&gt;" in text and "&lt;https://evil.example|Zapier&gt;" in text
    assert "<" not in text.split("\n", 1)[1] and "a &lt;b&gt; &amp; c" in text


def test_teams_text_escapes_markdown(make_connection, settings, monkeypatch):
    make_connection(label=HOSTILE_LABEL, expires_on=timezone.localdate() + dt.timedelta(days=3))
    with ScriptedServer({"/hook": Reply(200, "ok")}) as hook:
        settings.EXPIRY_WEBHOOK_URL = f"{hook.url}/hook"  # not Slack: Markdown escaping
        expiry.scan()
    text = json.loads(hook.seen[0].body)["text"]
    assert (r"R\&D \<\!channel\> \*urgent\* \[click\]\(https://evil.example\) "
            r"\<https://evil.example\|Zapier\>") in text
