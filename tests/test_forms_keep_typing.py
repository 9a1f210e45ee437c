"""Forms that keep what was typed: htmx submits get the re-rendered form (never the token) or a
full-page redirect; Save & test queues a run; Notify defaults sensibly without an address."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone

from connections.access import SYSADMIN
from connections.models import ChecklistRun, Connection
from tests.conftest import SECRET_TOKEN

HTMX = {"HX-Request": "true"}
NEXT_YEAR = (timezone.localdate() + dt.timedelta(days=365)).isoformat()


def add_form(**overrides):
    data = {"label": "Zapier", "base_url": "https://support.example.com", "token": SECRET_TOKEN,
            "token_name": "Zapier", "expires_on": NEXT_YEAR, "token_user": "integration",
            "hosting": "self_hosted", "notify": "ops@example.com"}
    return data | overrides


def test_an_htmx_submit_with_an_error_gets_the_form_back_without_the_token(sam_client):
    response = sam_client.post(reverse("connections:add"), add_form(notify="nope"), headers=HTMX)
    page = response.content.decode()
    assert response.status_code == 200 and 'id="connection-form"' in page
    assert "“nope” is not an e-mail address." in page
    assert 'hx-preserve="true"' in page and SECRET_TOKEN not in page
    assert not Connection.objects.exists()


def test_an_htmx_submit_that_saves_navigates_the_whole_page(sam_client):
    response = sam_client.post(reverse("connections:add"), add_form(), headers=HTMX)
    connection = Connection.objects.get()
    assert response.status_code == 200 and response["HX-Redirect"] == connection.get_absolute_url()


def test_save_and_test_queues_a_run_and_opens_it(sam_client, sysadmin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        response = sam_client.post(reverse("connections:add"), add_form(and_test="1"))
    run = ChecklistRun.objects.get()
    assert response["Location"] == reverse("connections:run", args=[run.connection.public_id, run.public_id])
    assert (run.state, run.trigger, run.started_by) == ("queued", "browser", sysadmin)
    assert len(queued) == 1  # the Celery task, sent once the row is committed


def test_a_refused_rotation_over_htmx_returns_only_the_form_block_without_the_token(
        sam_client, make_connection, simulator):
    zapier = make_connection(token="good-token", base_url=simulator.site_url("healthy"))
    response = sam_client.post(reverse("connections:rotate", args=[zapier.public_id]),
                               {"token": "not-a-real-token-123", "token_name": "Zapier"}, headers=HTMX)
    page = response.content.decode()
    assert 'id="token-form"' in page and 'id="rotation-refused"' in page
    assert "not-a-real-token-123" not in page


@pytest.fixture
def no_address_sysadmin(db):
    user = User.objects.create_user("root", "", "pw-root")
    user.groups.add(Group.objects.get_or_create(name=SYSADMIN)[0])
    return user


def test_notify_defaults_to_the_sysadmins_when_the_user_has_no_address(client, no_address_sysadmin):
    other = User.objects.create_user("ops", "ops@example.com", "x", is_superuser=True)
    client.force_login(no_address_sysadmin)
    page = client.get(reverse("connections:add")).content.decode()
    assert 'value="ops@example.com"' in page
    client.post(reverse("connections:add"), add_form(notify=""))
    assert Connection.objects.get().recipients == [other.email]


def test_without_any_address_to_default_to_the_form_says_so(client, no_address_sysadmin):
    client.force_login(no_address_sysadmin)
    page = client.post(reverse("connections:add"), add_form(notify="")).content.decode()
    assert "no sysadmin has an e-mail address to default to" in page
    assert not Connection.objects.exists()
