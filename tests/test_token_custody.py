"""A stored token is bound to its site's origin and changes only through the checked rotation.

Editing a connection (page, CLI, code) can move it along a path on the same site, never to
another origin: that is a rotation, with the token typed again and checked at the new address
first. A connection without a token gets its first one through the same check ("Store the token").
"""

import datetime as dt
import io
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from connections.choices import AuditAction
from connections.issuetrak.rules import same_origin
from connections.models import (
    AuditEvent,
    ChecklistRun,
    Connection,
    OriginChangeRefused,
    RotatedMeanwhile,
    TokenHistory,
)
from connections.simulator import IssuetrakSimulator

NEXT_YEAR = (timezone.localdate() + dt.timedelta(days=365)).isoformat()


@pytest.fixture
def zapier(make_connection, simulator):
    simulator.add_token("healthy", "new-token-5678")
    simulator.add_token("healthy", "third-token-9012")
    return make_connection("Zapier", token="good-token", base_url=simulator.site_url("healthy"),
                           token_user="integration")


@pytest.fixture(scope="module")
def _second_server():
    with IssuetrakSimulator() as sim:
        yield sim


@pytest.fixture
def new_home(_second_server):
    """The same Issuetrak sites on another port: where a site moved to (another origin)."""
    _second_server.reset_rate_limits()
    return _second_server


def requests_to(sim, site: str) -> int:
    return sim.rate_stats()["sites"].get(sim.site_url(site), {}).get("requests", 0)


def edit_data(connection, **overrides):
    return {"label": connection.label, "base_url": connection.base_url,
            "token_name": connection.token_name, "expires_on": connection.expires_on.isoformat(),
            "token_user": connection.token_user, "hosting": connection.hosting,
            "notify": ", ".join(connection.recipients)} | overrides


def cli(*args, stdin=""):
    out, old = io.StringIO(), sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        call_command("connections", *args, stdout=out)
    finally:
        sys.stdin = old
    return out.getvalue()


# --- What counts as the same site ----------------------------------------------------------------

@pytest.mark.parametrize(("a", "b", "same"), [
    ("https://support.example.com", "https://support.example.com/issuetrak", True),
    ("https://support.example.com", "https://SUPPORT.example.com:443/x", True),
    ("http://127.0.0.1:8765/healthy", "http://127.0.0.1:8765/other", True),
    ("https://support.example.com", "http://support.example.com", False),
    ("https://support.example.com", "https://support.example.com:8443", False),
    ("https://support.example.com", "https://support.example.com.attacker.net", False),
    ("http://127.0.0.1:8765/healthy", "http://localhost:8765/healthy", False),
    ("https://[::1]:8443", "https://[::1]:443", False),
])
def test_an_origin_is_scheme_host_and_port(a, b, same):
    assert same_origin(a, b) is same


# --- Editing -------------------------------------------------------------------------------------

def other_origins(site_url: str) -> list[str]:
    port = int(site_url.split(":")[2].split("/")[0])
    return [site_url.replace("127.0.0.1", "localhost"),         # another host
            site_url.replace("http://", "https://"),            # another scheme
            site_url.replace(f":{port}", f":{port + 1}"),       # another port
            "http://attacker.example:6379/x"]


def test_an_edit_to_another_origin_is_refused_and_points_to_rotate(sam_client, zapier):
    edit = reverse("connections:edit", args=[zapier.public_id])
    before = Connection.objects.values().get()
    for url in other_origins(zapier.base_url):
        response = sam_client.post(edit, edit_data(zapier, base_url=url))
        page = response.content.decode()
        assert response.status_code == 200, url
        assert "bound to" in page and "Rotate token" in page, url
    assert Connection.objects.values().get() == before
    assert not AuditEvent.objects.filter(action=AuditAction.CONNECTION_EDITED).exists()


def test_a_path_change_on_the_same_origin_is_an_ordinary_edit(sam_client, zapier, simulator):
    edit = reverse("connections:edit", args=[zapier.public_id])
    response = sam_client.post(edit, edit_data(zapier, base_url=simulator.site_url("group-admin")))
    assert response.status_code == 302
    zapier.refresh_from_db()
    assert zapier.base_url == simulator.site_url("group-admin")
    assert zapier.reveal_token() == "good-token"


def test_no_code_path_can_save_a_stored_token_with_another_origin(zapier):
    before = Connection.objects.values().get()
    loaded = Connection.objects.get()
    loaded.base_url = "https://attacker.example"
    with pytest.raises(OriginChangeRefused):
        loaded.save()
    assert Connection.objects.values().get() == before


def test_a_connection_without_a_token_may_move_to_another_origin(sam_client, simulator):
    bare = Connection.objects.create(label="Bare", base_url="https://old.example.com",
                                     recipients=["sam@example.com"])
    response = sam_client.post(reverse("connections:edit", args=[bare.public_id]), {
        "label": "Bare", "base_url": "https://new.example.com", "hosting": "self_hosted",
        "notify": "sam@example.com"})
    assert response.status_code == 302
    assert Connection.objects.get().base_url == "https://new.example.com"


def test_cli_edit_to_another_origin_exits_non_zero_and_changes_nothing(zapier):
    before = Connection.objects.values().get()
    with pytest.raises(CommandError) as error:
        cli("edit", "Zapier", "--base-url", other_origins(zapier.base_url)[0])
    assert error.value.returncode != 0
    assert "bound to" in str(error.value) and "connections rotate" in str(error.value)
    assert Connection.objects.values().get() == before


# --- Rotating to a new Base URL --------------------------------------------------------------------

def test_rotate_moves_a_site_with_the_same_token_typed_again(sam_client, zapier, new_home, simulator):
    fingerprint = zapier.token_fingerprint
    response = sam_client.post(reverse("connections:rotate", args=[zapier.public_id]), {
        "token": "good-token", "base_url": new_home.site_url("healthy"), "token_name": "Zapier",
        "expires_on": NEXT_YEAR}, follow=True)
    page = response.content.decode()
    zapier.refresh_from_db()
    assert zapier.base_url == new_home.site_url("healthy")
    assert zapier.token_fingerprint == fingerprint and zapier.reveal_token() == "good-token"
    assert "same token" in page and "revoke" not in page
    assert not TokenHistory.objects.exists()
    assert requests_to(new_home, "healthy") > 0  # checked at the new address first
    assert requests_to(simulator, "healthy") == 0
    assert ChecklistRun.objects.get(trigger="rotation").overall == "pass"
    event = AuditEvent.objects.get(action=AuditAction.TOKEN_ROTATED)
    assert "moved" in event.summary and new_home.site_url("healthy") in event.summary


def test_a_move_that_fails_its_check_changes_nothing(sam_client, zapier, new_home):
    before = Connection.objects.values().get()
    page = sam_client.post(reverse("connections:rotate", args=[zapier.public_id]), {
        "token": "good-token", "base_url": new_home.site_url("revoked-token"),
        "token_name": "Zapier", "expires_on": NEXT_YEAR}, follow=True).content.decode()
    assert "The new token was not saved" in page and "Nothing changed" in page
    assert Connection.objects.values().get() == before
    assert not AuditEvent.objects.exists() and not ChecklistRun.objects.exists()


def test_cli_rotate_takes_a_new_base_url(zapier, new_home):
    with pytest.raises(SystemExit) as exit_:
        cli("rotate", "Zapier", "--token-stdin", "--base-url", new_home.site_url("healthy"),
            "--expires", NEXT_YEAR, stdin="good-token\n")
    assert exit_.value.code == 0
    moved = Connection.objects.get()
    assert moved.base_url == new_home.site_url("healthy") and moved.reveal_token() == "good-token"


# --- The same token, and tokens only through rotation ---------------------------------------------

@pytest.mark.parametrize("new_path", [None, "group-admin"])
def test_rotating_to_the_current_token_on_the_same_origin_is_refused(sam_client, zapier, simulator,
                                                                      new_path):
    before = Connection.objects.values().get()
    data = {"token": " good-token\n", "token_name": "Zapier", "expires_on": NEXT_YEAR}
    if new_path:
        data["base_url"] = simulator.site_url(new_path)
    page = sam_client.post(reverse("connections:rotate", args=[zapier.public_id]), data)
    text = page.content.decode()
    assert "already stored" in text and "Nothing changed" in text and "revoke" not in text
    assert Connection.objects.values().get() == before
    assert requests_to(simulator, "healthy") == 0  # refused before any call to the site
    assert not TokenHistory.objects.exists() and not AuditEvent.objects.exists()


def test_cli_rotate_to_the_current_token_exits_2(zapier):
    with pytest.raises(CommandError) as error:
        cli("rotate", "Zapier", "--token-stdin", stdin="good-token")
    assert error.value.returncode == 2 and "already stored" in str(error.value)
    assert not TokenHistory.objects.exists()


def test_a_stale_rotate_page_is_refused_naming_who_rotated_when(sam_client, zapier, sysadmin,
                                                              django_user_model):
    page = sam_client.get(reverse("connections:rotate", args=[zapier.public_id])).content.decode()
    assert f'value="{zapier.token_fingerprint}"' in page  # the token this page started from
    sue = django_user_model.objects.create_user("sue")
    zapier.rotate_token("new-token-5678", token_name="Zapier", expires_on=None, by=sue,
                        accept_warnings=True)
    current = Connection.objects.values().get()

    response = sam_client.post(reverse("connections:rotate", args=[zapier.public_id]), {
        "token": "third-token-9012", "token_name": "Zapier", "expires_on": NEXT_YEAR,
        "expected_fingerprint": zapier.token_fingerprint}, follow=True)

    text = response.content.decode()
    assert "sue changed the stored token at" in text and current["token_fingerprint"] in text
    assert Connection.objects.values().get() == current
    assert TokenHistory.objects.count() == 1


# --- The first token ----------------------------------------------------------------------------

@pytest.fixture
def bare(simulator, db):
    return Connection.objects.create(label="Zapier", base_url=simulator.site_url("healthy"),
                                     token_user="integration", token_name="Zapier",
                                     recipients=["sam@example.com"])


def test_the_first_token_is_stored_through_the_checked_flow_without_rotate_wording(sam_client, bare):
    detail = sam_client.get(bare.get_absolute_url()).content.decode()
    assert "Store the token" in detail and "Rotate token" not in detail
    assert sam_client.get(reverse("connections:rotate", args=[bare.public_id]))["Location"] == \
        reverse("connections:store_token", args=[bare.public_id])
    form = sam_client.get(reverse("connections:store_token", args=[bare.public_id])).content.decode()
    assert "Store the token" in form and "Check and store" in form
    assert "rotate" not in form.lower() and 'name="base_url"' not in form

    response = sam_client.post(reverse("connections:store_token", args=[bare.public_id]), {
        "token": "good-token", "token_name": "Zapier", "expires_on": NEXT_YEAR,
        "expected_fingerprint": ""}, follow=True)

    page = response.content.decode()
    assert "Token stored" in page and "revoke" not in page.lower()
    bare.refresh_from_db()
    assert bare.reveal_token() == "good-token"
    assert not TokenHistory.objects.exists()
    assert "stored" in AuditEvent.objects.get(action=AuditAction.TOKEN_ROTATED).summary


def test_a_first_token_that_fails_its_check_is_not_stored(sam_client, bare):
    page = sam_client.post(reverse("connections:store_token", args=[bare.public_id]), {
        "token": "not-a-real-token", "token_name": "Zapier", "expires_on": NEXT_YEAR,
        "expected_fingerprint": ""}, follow=True).content.decode()
    assert "wrong or revoked" in page and "Nothing changed" in page
    assert not Connection.objects.get().has_token


# --- Archived connections ---------------------------------------------------------------------------

def test_an_archived_connection_refuses_every_change(sam_client, zapier):
    notice = zapier.notices.create(token_fingerprint=zapier.token_fingerprint, kind="expiring",
                                   threshold=7, channel="email", summary="x")
    zapier.archive()
    before = Connection.objects.values().get()
    events = AuditEvent.objects.count()
    c = zapier.public_id
    posts = {
        "edit": (reverse("connections:edit", args=[c]), edit_data(zapier, token_name="X")),
        "rotate": (reverse("connections:rotate", args=[c]),
                   {"token": "new-token-5678", "accept_warnings": "on"}),
        "store_token": (reverse("connections:store_token", args=[c]), {"token": "new-token-5678"}),
        "check": (reverse("connections:check", args=[c]), {}),
        "archive": (reverse("connections:archive", args=[c]), {}),
        "acknowledge": (reverse("connections:acknowledge", args=[c, notice.pk]), {}),
        "confirm": (reverse("connections:onboarding_confirm", args=[c, "version"]),
                    {"value": "17.3"}),
    }
    for name, (url, data) in posts.items():
        response = sam_client.post(url, data)
        assert response.status_code == 403, name
        assert "is archived" in response.content.decode(), name
    assert Connection.objects.values().get() == before
    assert AuditEvent.objects.count() == events
    assert not ChecklistRun.objects.exists() and not TokenHistory.objects.exists()
    assert not zapier.confirmations.exists()
    notice.refresh_from_db()
    assert notice.acknowledged_at is None


def test_rotate_token_itself_refuses_an_archived_connection(zapier):
    from connections.models import RotationRefused

    zapier.archive()
    with pytest.raises(RotationRefused, match="is archived"):
        zapier.rotate_token("new-token-5678", token_name="Zapier", expires_on=None,
                            accept_warnings=True)
    assert Connection.objects.get().reveal_token() == "good-token"


def test_the_swap_refuses_a_token_changed_since_the_candidate_was_made(zapier):
    candidate = zapier.rotation_candidate("new-token-5678", token_name="Zapier", expires_on=None)
    Connection.objects.get().rotate_token("new-token-5678", token_name="Zapier", expires_on=None,
                                          accept_warnings=True)
    with pytest.raises(RotatedMeanwhile):
        zapier.swap_token(candidate, "pass", [])


def test_django_admin_cannot_point_a_stored_token_at_another_origin(admin_client, zapier):
    before = Connection.objects.values().get()
    response = admin_client.post(reverse("admin:connections_connection_change", args=[zapier.pk]), {
        "label": "Zapier", "base_url": "https://attacker.example/x", "token_name": "Zapier",
        "expires_on": zapier.expires_on.isoformat(), "token_user": "integration",
        "hosting": "self_hosted", "recipients": '["sam@example.com"]'})
    # (A read-only admin would answer 403; either way nothing may change.)
    assert response.status_code == 403 or "is bound to" in response.content.decode()
    assert Connection.objects.values().get() == before
