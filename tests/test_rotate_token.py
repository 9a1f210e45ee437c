"""Safe rotation: the new token is proved on the site first; failure changes nothing."""

import datetime as dt
import io
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from connections.models import ChecklistRun, Connection, TokenHistory

NEXT_YEAR = (timezone.localdate() + dt.timedelta(days=365)).isoformat()


@pytest.fixture
def zapier(make_connection, simulator):
    simulator.add_token("healthy", "old-token-1234", user_iid=17)
    simulator.add_token("healthy", "new-token-5678", user_iid=17)
    return make_connection("Zapier", token="old-token-1234", base_url=simulator.site_url("healthy"),
                           token_user="integration")


def rotate_page(zapier):
    return reverse("connections:rotate", args=[zapier.public_id])


def test_a_bad_token_changes_nothing_and_says_which_step_failed(sam_client, zapier):
    before = Connection.objects.values().get()
    response = sam_client.post(rotate_page(zapier), {"token": "not-a-real-token",
                                                     "token_name": "Zapier", "expires_on": NEXT_YEAR},
                               follow=True)
    page = response.content.decode()
    assert response.status_code == 200
    assert "API token is accepted" in page and "wrong or revoked" in page
    assert Connection.objects.values().get() == before
    assert not TokenHistory.objects.exists()
    assert "not-a-real-token" not in page


def test_a_good_token_is_swapped_in_and_the_old_kept_as_a_fingerprint(sam_client, zapier, sysadmin):
    old = zapier.token_fingerprint
    response = sam_client.post(rotate_page(zapier), {"token": "new-token-5678",
                                                     "token_name": "Zapier", "expires_on": NEXT_YEAR},
                               follow=True)
    zapier.refresh_from_db()
    assert zapier.reveal_token() == "new-token-5678" and zapier.token_fingerprint != old
    assert str(zapier.expires_on) == NEXT_YEAR
    retired = TokenHistory.objects.get()
    assert retired.token_fingerprint == old and retired.retired_by == sysadmin
    page = response.content.decode()
    assert "revoke the old token in Issuetrak" in page and "Zapier connection" in page
    history = sam_client.get(rotate_page(zapier)).content.decode()
    assert old in history and zapier.token_fingerprint in history
    assert ChecklistRun.objects.get(trigger="rotation").overall == "pass"


def test_warnings_must_be_accepted_before_rotating(sam_client, zapier):
    data = {"token": "new-token-5678", "token_name": "Other name", "expires_on": ""}
    page = sam_client.post(rotate_page(zapier), data, follow=True).content.decode()
    assert "accept them to rotate" in page and "Accept the warnings and rotate" in page
    assert Connection.objects.get().reveal_token() == "old-token-1234"

    sam_client.post(rotate_page(zapier), data | {"accept_warnings": "on"})
    assert Connection.objects.get().reveal_token() == "new-token-5678"


def test_a_crash_during_the_swap_leaves_the_old_token_working(zapier, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("database went away mid-swap")

    monkeypatch.setattr(ChecklistRun.objects, "create", crash)
    with pytest.raises(RuntimeError):
        zapier.rotate_token("new-token-5678", token_name="Zapier", expires_on=None,
                            accept_warnings=True)
    zapier.refresh_from_db()
    assert zapier.reveal_token() == "old-token-1234"
    assert not TokenHistory.objects.exists()


def test_rotation_needs_a_sysadmin(client, onboarding_clerk, viewer, zapier):
    for person in (onboarding_clerk, viewer):
        client.force_login(person)
        assert client.get(rotate_page(zapier)).status_code == 403
        assert client.post(rotate_page(zapier), {"token": "new-token-5678"}).status_code == 403
    assert Connection.objects.get().reveal_token() == "old-token-1234"


def cli_rotate(*args, stdin):
    out, old = io.StringIO(), sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        call_command("connections", "rotate", *args, stdout=out)
    finally:
        sys.stdin = old
    return out.getvalue()


def test_cli_rotate_exits_0_on_pass(zapier):
    with pytest.raises(SystemExit) as exit_:
        cli_rotate("Zapier", "--token-stdin", "--expires", NEXT_YEAR, stdin="new-token-5678\n")
    assert exit_.value.code == 0
    assert Connection.objects.get().reveal_token() == "new-token-5678"


def test_cli_rotate_refuses_a_bad_token_with_exit_2(zapier):
    with pytest.raises(CommandError) as error:
        cli_rotate("Zapier", "--token-stdin", "--expires", NEXT_YEAR, stdin="bad-token")
    assert error.value.returncode == 2 and "Nothing changed" in str(error.value)
    assert Connection.objects.get().reveal_token() == "old-token-1234"


def test_cli_rotate_with_warnings_needs_accept_warnings(zapier):
    with pytest.raises(CommandError) as error:
        cli_rotate("Zapier", "--token-stdin", stdin="new-token-5678")
    assert error.value.returncode == 1
    assert Connection.objects.get().reveal_token() == "old-token-1234"
    with pytest.raises(SystemExit) as exit_:
        cli_rotate("Zapier", "--token-stdin", "--accept-warnings", stdin="new-token-5678")
    assert exit_.value.code == 1
    assert Connection.objects.get().reveal_token() == "new-token-5678"
