"""Operators script connections with `manage.py connections ...`."""

import io
import json
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from connections.models import Connection, Hosting
from tests.conftest import SECRET_TOKEN


def run(*args, stdin=""):
    """Run the command like a shell would; return (stdout, stderr) or raise CommandError."""
    out, err = io.StringIO(), io.StringIO()
    old_stdin, sys.stdin = sys.stdin, io.StringIO(stdin)
    try:
        call_command("connections", *args, stdout=out, stderr=err)
    finally:
        sys.stdin = old_stdin
    return out.getvalue(), err.getvalue()


ADD = ["add", "--label", "Zapier", "--base-url", "https://support.example.com/api/v2",
       "--token-stdin", "--token-name", "Zapier", "--expires", "2099-01-31",
       "--token-user", "integration", "--notify", "sam@example.com,ops@example.com"]


def test_it_adds_a_connection_reading_the_token_from_stdin(db):
    out, _ = run(*ADD, "--cloud", stdin=f"{SECRET_TOKEN}\n")

    zapier = Connection.objects.get()
    assert zapier.reveal_token() == SECRET_TOKEN
    assert zapier.base_url == "https://support.example.com"
    assert zapier.hosting == Hosting.CLOUD
    assert zapier.recipients == ["sam@example.com", "ops@example.com"]
    assert zapier.token_fingerprint in out and SECRET_TOKEN not in out


def test_list_json_prints_one_document_with_every_column(db):
    run(*ADD, stdin=SECRET_TOKEN)
    out, _ = run("list", "--json")
    rows = json.loads(out)
    assert rows == [{
        "label": "Zapier", "base_url": "https://support.example.com", "token_name": "Zapier",
        "token_fingerprint": Connection.objects.get().token_fingerprint,
        "token_user": "integration", "expires_on": "2099-01-31", "hosting": "self_hosted",
        "issuetrak_version": "", "notify": ["sam@example.com", "ops@example.com"],
        "archived": False,
    }]
    assert SECRET_TOKEN not in out


def test_edit_changes_only_the_options_given(db):
    run(*ADD, stdin=SECRET_TOKEN)
    run("edit", "zapier", "--token-user", "other-admin")
    zapier = Connection.objects.get()
    assert zapier.token_user == "other-admin"
    assert zapier.token_name == "Zapier" and zapier.reveal_token() == SECRET_TOKEN
    assert str(zapier.expires_on) == "2099-01-31"


def test_edit_refuses_a_token_and_points_to_rotate(db):
    run(*ADD, stdin=SECRET_TOKEN)
    before = Connection.objects.values().get()
    with pytest.raises(CommandError) as error:
        run("edit", "Zapier", "--token-stdin", "--token-user", "x", stdin="  brand-new-token \n")
    assert "connections rotate LABEL --token-stdin" in str(error.value)
    assert error.value.returncode != 0
    assert Connection.objects.values().get() == before


def test_archive_hides_it_from_the_list(db):
    run(*ADD, stdin=SECRET_TOKEN)
    run("archive", "Zapier")
    assert json.loads(run("list", "--json")[0]) == []
    assert json.loads(run("list", "--json", "--archived")[0])[0]["archived"] is True


@pytest.mark.parametrize(
    ("change", "stdin", "message"),
    [
        ({"--base-url": "ftp://x"}, SECRET_TOKEN, "--base-url: Enter a full http(s) address"),
        ({"--base-url": "https://u:p@x.example.com"}, SECRET_TOKEN, "Remove the user name"),
        ({"--expires": "2001-01-01"}, SECRET_TOKEN, "--expires: That date has passed"),
        ({"--expires": "soon"}, SECRET_TOKEN, "--expires: Enter a valid date"),
        ({"--label": "L" * 100_000}, SECRET_TOKEN, "--label: Ensure this value has at most 100"),
        ({"--notify": "nobody"}, SECRET_TOKEN, "--notify: “nobody” is not an e-mail address"),
        ({}, "   \n", "--token-stdin: Paste the API token: it cannot be empty"),
        ({}, "two words", "--token-stdin: An API token is one line"),
    ],
)
def test_bad_input_exits_non_zero_and_saves_nothing(db, change, stdin, message):
    args = list(ADD)
    for option, value in change.items():
        args[args.index(option) + 1] = value
    with pytest.raises(CommandError) as error:
        run(*args, stdin=stdin)
    assert message in str(error.value)
    assert "Nothing was saved" in str(error.value)
    assert SECRET_TOKEN not in str(error.value)
    assert not Connection.objects.exists()


def test_a_duplicate_label_is_refused(db):
    run(*ADD, stdin=SECRET_TOKEN)
    with pytest.raises(CommandError, match="already exists"):
        run(*ADD, stdin="another-token")
    assert Connection.objects.get().reveal_token() == SECRET_TOKEN


def test_a_bad_edit_changes_nothing(db):
    run(*ADD, stdin=SECRET_TOKEN)
    before = Connection.objects.values().get()
    with pytest.raises(CommandError):
        run("edit", "Zapier", "--token-stdin", "--base-url", "nope", stdin="new-token")
    assert Connection.objects.values().get() == before


def test_an_unknown_label_is_an_error(db):
    with pytest.raises(CommandError, match="No active connection is labelled “Ghost”"):
        run("archive", "Ghost")


def test_add_without_token_stdin_refuses(db):
    args = [a for a in ADD if a != "--token-stdin"]
    with pytest.raises(CommandError, match="--token-stdin"):
        run(*args)
