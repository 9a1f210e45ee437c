"""Checklist runs from the browser (queued to Celery, polled live), and stored history."""

import logging

from django.urls import reverse

from connections.models import ChecklistRun, RunState
from tests.conftest import SECRET_TOKEN


def on_site(make_connection, simulator, site, **fields):
    return make_connection(label=fields.pop("label", "Zapier"), token=fields.pop("token", "good-token"),
                           base_url=simulator.site_url(site), token_user="integration", **fields)


def test_run_checklist_queues_a_run_and_the_page_shows_it_turn_green(
    sam_client, make_connection, simulator, django_capture_on_commit_callbacks, sysadmin
):
    zapier = on_site(make_connection, simulator, "healthy")
    with django_capture_on_commit_callbacks(execute=True):
        response = sam_client.post(reverse("connections:check", args=[zapier.public_id]))

    run = ChecklistRun.objects.get()
    assert response["Location"] == reverse("connections:run", args=[zapier.public_id, run.public_id])
    assert run.state == RunState.FINISHED and run.overall == "pass"
    assert run.started_by == sysadmin and run.duration_ms < 1000
    assert [s["status"] for s in run.steps] == ["pass"] * 11

    partial = sam_client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert 'data-overall="pass"' in partial
    assert "hx-trigger" not in partial  # done: the page stops polling
    zapier.refresh_from_db()
    assert zapier.last_overall == "pass" and zapier.last_checked_at


def test_a_queued_run_is_polled_until_it_is_done(sam_client, make_connection, simulator):
    zapier = on_site(make_connection, simulator, "healthy")
    sam_client.post(reverse("connections:check", args=[zapier.public_id]))  # never committed: stays queued
    run = ChecklistRun.objects.get()
    url = reverse("connections:run", args=[zapier.public_id, run.public_id])

    page = sam_client.get(url).content.decode()
    assert 'hx-trigger="every 1s"' in page and "Queued" in page
    assert page.count('data-status="queued"') == 11

    # A worker finishes two steps: the next poll shows them and keeps polling.
    run.state = RunState.RUNNING
    run.steps = [{"key": "base_url", "status": "pass", "message": "ok", "fix": ""},
                 {"key": "reachable", "status": "pass", "message": "answered", "fix": ""}]
    run.save()
    partial = sam_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert partial.count('data-status="pass"') == 2
    assert partial.count('data-status="running"') == 9
    assert 'hx-trigger="every 1s"' in partial


def test_the_connection_page_shows_the_latest_result_and_a_fix(
    sam_client, make_connection, simulator
):
    zapier = on_site(make_connection, simulator, "api-disabled")
    ChecklistRun.check_now(zapier)
    page = sam_client.get(zapier.get_absolute_url()).content.decode()
    assert 'data-overall="fail"' in page
    assert "Enable API v2" in page


def test_history_is_newest_first_and_paginated(sam_client, make_connection, simulator):
    zapier = on_site(make_connection, simulator, "revoked-token")
    for _ in range(22):
        ChecklistRun.check_now(zapier)
    page = sam_client.get(reverse("connections:history", args=[zapier.public_id])).content.decode()
    assert "Page 1 of 2" in page
    runs = list(zapier.runs.all())
    assert str(runs[0].public_id) in page and str(runs[19].public_id) in page
    assert str(runs[20].public_id) not in page
    assert page.index(str(runs[0].public_id)) < page.index(str(runs[19].public_id))


def test_a_viewer_may_look_but_not_start_a_run(client, viewer, make_connection, simulator):
    zapier = on_site(make_connection, simulator, "healthy")
    client.force_login(viewer)
    assert "Run checklist" not in client.get(zapier.get_absolute_url()).content.decode()
    assert client.post(reverse("connections:check", args=[zapier.public_id])).status_code == 403
    assert not ChecklistRun.objects.exists()


def test_onboarding_staff_may_run_the_checklist(client, onboarding_clerk, make_connection, simulator):
    zapier = on_site(make_connection, simulator, "healthy")
    client.force_login(onboarding_clerk)
    assert client.post(reverse("connections:check", args=[zapier.public_id])).status_code == 302


def test_the_token_is_in_no_stored_run_and_no_log(make_connection, simulator, caplog):
    caplog.set_level(logging.DEBUG)
    for site in ["healthy", "revoked-token", "server-error", "not-admin", "garbage", "no-api"]:
        ChecklistRun.check_now(on_site(make_connection, simulator, site, label=site, token=SECRET_TOKEN))
    good = on_site(make_connection, simulator, "healthy", label="good")
    ChecklistRun.check_now(good)
    stored = repr(list(ChecklistRun.objects.values()))
    assert SECRET_TOKEN not in stored and "good-token" not in stored
    assert SECRET_TOKEN not in caplog.text and "good-token" not in caplog.text


def test_a_crash_is_recorded_on_the_run_not_a_500(sam_client, make_connection, simulator, settings):
    zapier = on_site(make_connection, simulator, "healthy")
    settings.TOKEN_ENCRYPTION_KEYS = ["bm90LWEta2V5LWF0LWFsbC1ub3QtYS1rZXktYXQtYWxsLQ=="]  # cannot decrypt
    run = ChecklistRun.check_now(zapier)
    assert run.state == RunState.CRASHED and run.overall == "fail"
