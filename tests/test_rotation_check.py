"""Rotation's check is a queued run: the web request never waits for the site, the page shows the
steps filling in, the candidate token is held only encrypted, and accepting warnings needs no
second paste."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse

from connections import secrets
from connections.models import CheckOutcome, Connection, RotationCheck, TokenHistory
from connections.tasks import execute_rotation_check
from issuetrak_admin.celery import app
from tests.test_celery_worker import broker  # noqa: F401 - the real-broker fixture

NEW = "new-token-5678-abcdef"


@pytest.fixture
def zapier(make_connection, simulator):
    simulator.add_token("healthy", "old-token-1234", user_iid=17)
    simulator.add_token("healthy", NEW, user_iid=17)
    return make_connection("Zapier", token="old-token-1234", base_url=simulator.site_url("healthy"),
                           token_user="integration")


@pytest.fixture
def queued_only(settings):
    """Tasks go to a broker instead of running inside the request (as in production)."""
    saved = app.conf.task_always_eager
    app.conf.update(task_always_eager=False, broker_url="memory://")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    yield
    app.conf.update(task_always_eager=saved)


def _rotate(client, connection, follow=False, **data):
    return client.post(reverse("connections:rotate", args=[connection.public_id]),
                       {"token": NEW, "token_name": "Zapier", "expires_on": ""} | data, follow=follow)


def _check_page(check, htmx=False):
    url = reverse("connections:rotation_check", args=[check.connection.public_id, check.public_id])
    return url, ({"HTTP_HX_REQUEST": "true"} if htmx else {})


def _no_token_in(text: str) -> bool:
    return not any(NEW[i:i + 8] in text for i in range(len(NEW) - 7))


def test_the_request_only_queues_the_check_even_for_a_site_that_never_answers(
        sam_client, make_connection, simulator, queued_only):
    slow = make_connection("Slow", token="old-token-1234", base_url=simulator.site_url("slow"),
                           token_user="integration")
    started = time.monotonic()
    response = _rotate(sam_client, slow)
    assert time.monotonic() - started < 1  # the slow site answers after 30 s
    check = RotationCheck.objects.get()
    assert response.status_code == 302 and response["Location"] == _check_page(check)[0]
    assert check.state == "queued" and not check.outcome
    # Held encrypted, never in clear.
    assert check.token_ciphertext and NEW not in check.token_ciphertext
    assert secrets.decrypt_token(check.token_ciphertext) == NEW
    url, _ = _check_page(check)
    page = sam_client.get(url).content.decode()
    assert f'hx-get="{url}"' in page and "Queued" in page and _no_token_in(page)
    assert Connection.objects.get(pk=slow.pk).reveal_token() == "old-token-1234"


def test_a_worker_proves_the_token_and_swaps_it_and_the_token_is_dropped(sam_client, zapier, queued_only):
    _rotate(sam_client, zapier, accept_warnings="on")
    check = RotationCheck.objects.get()
    execute_rotation_check(check.pk)  # what the worker does

    check.refresh_from_db()
    assert check.outcome == CheckOutcome.ROTATED and check.token_ciphertext == ""
    assert Connection.objects.get().reveal_token() == NEW
    url, htmx = _check_page(check, htmx=True)
    polled = sam_client.get(url, **htmx)  # decided: the poll sends the browser to the connection
    assert polled["HX-Redirect"] == zapier.get_absolute_url()
    page = sam_client.get(zapier.get_absolute_url()).content.decode()
    assert "Token rotated" in page and _no_token_in(page)


def test_warnings_are_accepted_with_a_button_without_pasting_the_token_again(sam_client, zapier):
    response = _rotate(sam_client, zapier, token_name="Another name", follow=True)
    page = response.content.decode()
    check = RotationCheck.objects.get()
    assert check.outcome == CheckOutcome.WARNINGS and "Accept the warnings and rotate" in page
    assert _no_token_in(page) and check.token_ciphertext
    assert Connection.objects.get().reveal_token() == "old-token-1234"

    url, _ = _check_page(check)
    accepted = sam_client.post(url, {"accept": "1"}, follow=True)  # no token in this form
    assert Connection.objects.get().reveal_token() == NEW
    assert "Token rotated" in accepted.content.decode()
    assert RotationCheck.objects.get().token_ciphertext == ""
    assert TokenHistory.objects.count() == 1

    again = sam_client.post(url, {"accept": "1"}, follow=True).content.decode()
    assert "no longer holds a token" in again and TokenHistory.objects.count() == 1


def test_accepting_after_someone_else_rotated_is_refused(sam_client, zapier, django_user_model, simulator):
    _rotate(sam_client, zapier, token_name="Another name")
    check = RotationCheck.objects.get()
    simulator.add_token("healthy", "sues-token-0000", user_iid=17)
    sue = django_user_model.objects.create_user("sue")
    Connection.objects.get().rotate_token("sues-token-0000", token_name="Zapier", expires_on=None,
                                          by=sue, accept_warnings=True)

    page = sam_client.post(_check_page(check)[0], {"accept": "1"}, follow=True).content.decode()
    assert "sue changed the stored token" in page
    assert Connection.objects.get().reveal_token() == "sues-token-0000"
    assert RotationCheck.objects.get().token_ciphertext == ""


def test_a_refused_token_is_not_kept(sam_client, zapier):
    page = _rotate(sam_client, zapier, token="not-a-real-token-at-all", follow=True).content.decode()
    check = RotationCheck.objects.get()
    assert check.outcome == CheckOutcome.REFUSED and check.token_ciphertext == ""
    assert "wrong or revoked" in page and "Nothing changed" in page
    assert "Accept the warnings" not in page


def test_only_sysadmins_see_or_accept_a_check(client, onboarding_clerk, viewer, sam_client, zapier):
    _rotate(sam_client, zapier, token_name="Another name")
    url, _ = _check_page(RotationCheck.objects.get())
    for person in (onboarding_clerk, viewer):
        client.force_login(person)
        assert client.get(url).status_code == 403
        assert client.post(url, {"accept": "1"}).status_code == 403
    assert Connection.objects.get().reveal_token() == "old-token-1234"


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_check_while_the_page_polls(broker, client, sysadmin,  # noqa: F811
                                                           make_connection, simulator):
    simulator.add_token("healthy", NEW, user_iid=17)
    zapier = make_connection("Zapier", token="good-token", base_url=simulator.site_url("healthy"),
                             token_user="integration")
    client.force_login(sysadmin)
    with start_worker(app, pool="threads", concurrency=1, perform_ping_check=False, loglevel="WARNING"):
        response = _rotate(client, zapier, accept_warnings="on")
        check = RotationCheck.objects.get()
        url, htmx = _check_page(check, htmx=True)
        deadline, polls = time.monotonic() + 20, []
        while time.monotonic() < deadline and "HX-Redirect" not in (polled := client.get(url, **htmx)):
            polls.append(polled.content.decode())
            time.sleep(0.2)
    assert response.status_code == 302
    assert polled.get("HX-Redirect") == zapier.get_absolute_url(), f"not decided on the {broker} broker"
    assert all('hx-trigger="every 1s"' in poll for poll in polls)  # live progress until then
    assert Connection.objects.get().reveal_token() == NEW
