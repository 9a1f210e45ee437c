"""A sysadmin adds, edits and archives connections in the browser."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from connections.models import Connection
from tests.conftest import SECRET_TOKEN

NEXT_YEAR = (timezone.localdate() + dt.timedelta(days=365)).isoformat()


def form(**overrides):
    data = {
        "label": "Zapier",
        "base_url": "https://support.example.com/issuetrak/api/v2/",
        "token": f"  {SECRET_TOKEN}\n",
        "token_name": "Zapier",
        "expires_on": NEXT_YEAR,
        "token_user": "integration",
        "hosting": "self_hosted",
        "notify": "sam@example.com, ops@example.com",
    }
    return data | overrides


def test_every_page_requires_sign_in(client, make_connection):
    zapier = make_connection()
    for url in [reverse("connections:list"), reverse("connections:add"),
                zapier.get_absolute_url(), reverse("connections:edit", args=[zapier.public_id])]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_the_login_page_uses_the_site_look(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"pico.min.css" in response.content and b"Sign in" in response.content


def test_it_shows_an_empty_state_first(sam_client):
    response = sam_client.get(reverse("connections:list"))
    assert "No connections yet" in response.content.decode()


def test_it_adds_a_connection_with_the_token_encrypted(sam_client, sysadmin):
    response = sam_client.post(reverse("connections:add"), form(), follow=True)

    zapier = Connection.objects.get()
    assert zapier.base_url == "https://support.example.com/issuetrak"
    assert zapier.reveal_token() == SECRET_TOKEN
    assert zapier.token_fingerprint in response.content.decode()
    assert zapier.recipients == ["sam@example.com", "ops@example.com"]
    assert zapier.created_by == sysadmin
    assert SECRET_TOKEN not in response.content.decode()
    assert "Connection “Zapier” saved." in response.content.decode()


def test_the_add_form_defaults_notify_to_the_creator_and_explains_expiry(sam_client):
    page = sam_client.get(reverse("connections:add")).content.decode()
    assert 'value="sam@example.com"' in page
    assert "strongly advised" in page


def test_the_edit_form_has_no_token_field_and_a_path_change_keeps_the_token(sam_client,
                                                                          make_connection):
    zapier = make_connection()
    edit = reverse("connections:edit", args=[zapier.public_id])
    page = sam_client.get(edit).content.decode()
    assert SECRET_TOKEN not in page and 'name="token"' not in page
    assert "changes only through" in page and zapier.token_fingerprint in page

    response = sam_client.post(edit, form(base_url="https://support.example.com/issuetrak"))

    assert response.status_code == 302
    zapier.refresh_from_db()
    assert zapier.base_url == "https://support.example.com/issuetrak"
    assert zapier.reveal_token() == SECRET_TOKEN


def test_a_token_posted_to_the_edit_form_is_ignored(sam_client, make_connection):
    zapier = make_connection()
    old_fingerprint = zapier.token_fingerprint
    sam_client.post(reverse("connections:edit", args=[zapier.public_id]), form(token="fresh-one"))
    zapier.refresh_from_db()
    assert zapier.reveal_token() == SECRET_TOKEN
    assert zapier.token_fingerprint == old_fingerprint


def test_editing_keeps_a_past_expiry_that_was_not_changed(sam_client, make_connection):
    zapier = make_connection(expires_on=timezone.localdate() - dt.timedelta(days=3))
    response = sam_client.post(
        reverse("connections:edit", args=[zapier.public_id]),
        form(token="", expires_on=zapier.expires_on.isoformat(), token_name="Renamed"),
    )
    assert response.status_code == 302
    zapier.refresh_from_db()
    assert zapier.token_name == "Renamed"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("base_url", "not a url", "Enter a full http(s) address"),
        ("base_url", "ftp://support.example.com", "Enter a full http(s) address"),
        ("base_url", "https://me:pw@support.example.com", "Remove the user name or password"),
        ("base_url", "https://support.example.com/#x", "no fragment"),
        ("token", "", "cannot be empty"),
        ("token", "   \n", "cannot be empty"),
        ("token", "two words", "no spaces"),
        ("expires_on", "2001-01-01", "That date has passed"),
        ("expires_on", "31/12/2030", "Enter a valid date"),
        ("label", "x" * 100_000, "at most 100 characters"),
        ("label", "", "This field is required"),
        ("notify", "not-an-address", "is not an e-mail address"),
    ],
)
def test_bad_input_is_explained_next_to_the_field_and_nothing_is_saved(
    sam_client, field, value, message
):
    response = sam_client.post(reverse("connections:add"), form(**{field: value}))
    assert response.status_code == 200
    assert message in str(response.context["form"].errors[field])
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not Connection.objects.exists()
    assert SECRET_TOKEN not in response.content.decode()


def test_a_duplicate_label_is_refused_ignoring_case(sam_client, make_connection):
    make_connection("Zapier")
    response = sam_client.post(reverse("connections:add"), form(label="ZAPIER"))
    assert "already exists" in str(response.context["form"].errors["label"])
    assert Connection.objects.count() == 1


def test_bad_input_on_edit_changes_nothing(sam_client, make_connection):
    zapier = make_connection()
    before = Connection.objects.values().get()
    sam_client.post(
        reverse("connections:edit", args=[zapier.public_id]),
        form(token="new-token", base_url="ftp://nope"),
    )
    assert Connection.objects.values().get() == before


def test_archiving_asks_first_then_hides_the_connection(sam_client, make_connection, sysadmin):
    zapier = make_connection()
    archive = reverse("connections:archive", args=[zapier.public_id])
    assert "Archive “Zapier”?" in sam_client.get(archive).content.decode()

    response = sam_client.post(archive, follow=True)

    zapier.refresh_from_db()
    assert zapier.archived_by == sysadmin
    assert "archived" in response.content.decode()
    assert "No connections yet" in response.content.decode()
    # The label is free again for a new connection.
    sam_client.post(reverse("connections:add"), form())
    assert Connection.objects.active().get().label == "Zapier"


def test_a_viewer_sees_the_list_but_cannot_change_anything(client, viewer, make_connection):
    zapier = make_connection()
    client.force_login(viewer)
    page = client.get(reverse("connections:list")).content.decode()
    assert "Zapier" in page and "Add connection" not in page
    assert client.get(reverse("connections:add")).status_code == 403
    assert client.post(reverse("connections:archive", args=[zapier.public_id])).status_code == 403
    assert client.post(reverse("connections:edit", args=[zapier.public_id]), form()).status_code == 403
    zapier.refresh_from_db()
    assert not zapier.is_archived


def test_an_unknown_connection_is_a_404(sam_client):
    response = sam_client.get("/connections/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404


def test_the_list_is_paginated(sam_client, make_connection):
    for n in range(55):
        make_connection(f"Conn {n:02d}")
    page = sam_client.get(reverse("connections:list")).content.decode()
    assert 'data-label="Conn 49"' in page and 'data-label="Conn 50"' not in page
    assert 'href="?page=last"' in page
    last = sam_client.get(reverse("connections:list"), {"page": "last"}).content.decode()
    assert 'data-label="Conn 05"' in last and 'data-label="Conn 04"' not in last
