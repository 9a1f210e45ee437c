"""The run page's words: the "queued" flash goes once the run ends; a tokenless run says so."""

from django.urls import reverse

from connections.models import ChecklistRun, Connection

QUEUED = "Checklist queued"


def test_the_queued_flash_is_removed_when_the_run_ends(sam_client, make_connection, simulator):
    zapier = make_connection(token="good-token", base_url=simulator.site_url("healthy"))
    # Not committed in this test, so no worker picks the run up: it stays queued.
    page = sam_client.post(reverse("connections:check", args=[zapier.public_id]), follow=True)
    assert '<li id="flash-run-queued"' in page.content.decode()
    run = ChecklistRun.objects.get()
    url = reverse("connections:run", args=[zapier.public_id, run.public_id])
    assert 'hx-swap-oob="delete"' not in sam_client.get(url, HTTP_HX_REQUEST="true").content.decode()

    run.finish([], 5)
    partial = sam_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert '<div id="flash-run-queued" hx-swap-oob="delete"></div>' in partial  # htmx removes it


def test_a_run_that_is_already_over_shows_no_queued_flash(
    sam_client, make_connection, simulator, django_capture_on_commit_callbacks
):
    zapier = make_connection(token="good-token", base_url=simulator.site_url("healthy"))
    with django_capture_on_commit_callbacks(execute=True):  # the worker runs it at commit
        response = sam_client.post(reverse("connections:check", args=[zapier.public_id]))
    text = sam_client.get(response["Location"]).content.decode()
    assert "data-overall=" in text  # the run is over
    assert QUEUED not in text


def test_a_run_without_a_token_says_there_was_none(sam_client, simulator):
    site = Connection.objects.create(label="New site", base_url=simulator.site_url("healthy"))
    run = ChecklistRun.check_now(site)
    page = sam_client.get(reverse("connections:run", args=[site.public_id, run.public_id]))
    text = page.content.decode()
    assert "no token stored yet" in text
    assert "· token <span" not in text
    history = sam_client.get(reverse("connections:history", args=[site.public_id])).content.decode()
    assert '<span class="muted">none</span>' in history
