"""A wrong (but well-formed) TOKEN_ENCRYPTION_KEYS fails start-up and /health/; crashed runs alert
sysadmins through the fault alert, never a connection's owners as "broken"."""

import datetime as dt

import pytest
import time_machine
from celery import shared_task
from cryptography.fernet import Fernet
from django.core import mail
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse

from connections.models import ChecklistRun, Connection, Notice
from connections.revalidation import revalidate_all as _revalidate_all
from connections.tasks import queue_run
from issuetrak_admin.celery import _check_token_keys


@pytest.fixture
def wrong_key(settings):
    """Swap in a real, well-formed key that did not encrypt the stored tokens."""

    def swap():
        settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    return swap


@pytest.fixture
def healthy(make_connection, simulator):
    return make_connection(token="good-token", base_url=simulator.site_url("healthy"),
                           token_user="integration", recipients=["owner@example.com"])


def test_check_refuses_to_start_when_no_key_decrypts_the_stored_tokens(healthy, wrong_key, settings):
    call_command("check")  # the right key: clean
    old = settings.TOKEN_ENCRYPTION_KEYS[0]
    wrong_key()
    with pytest.raises(SystemCheckError) as refused:
        call_command("check")
    assert "connections.E002" in str(refused.value) and "TOKEN_ENCRYPTION_KEYS" in str(refused.value)
    assert "Zapier" in str(refused.value) and "good-token" not in str(refused.value)
    with pytest.raises(SystemCheckError, match="E002"):  # the worker runs the same check at start
        _check_token_keys()
    with pytest.raises(SystemCheckError, match="E002"):  # and so does every `connections` command
        call_command("connections", "list", skip_checks=False)
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old]  # rotation under way
    call_command("check")


def test_the_sample_finds_an_old_key_dropped_too_early(make_connection, settings):
    old = settings.TOKEN_ENCRYPTION_KEYS[0]
    make_connection("Old")
    new = Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = [new, old]
    for n in range(12):
        make_connection(f"New {n}")
    settings.TOKEN_ENCRYPTION_KEYS = [new]
    with pytest.raises(SystemCheckError, match="Old"):
        call_command("check")


def test_check_passes_without_any_stored_token(db, wrong_key):
    wrong_key()
    call_command("check")


@pytest.mark.django_db(transaction=True)
def test_health_answers_500_naming_the_setting(client, make_connection, wrong_key):
    make_connection()
    wrong_key()
    response = client.get(reverse("health"), HTTP_ACCEPT="application/json")
    assert response.status_code == 500
    assert "TOKEN_ENCRYPTION_KEYS" in response.json()["Token encryption keys"]


def test_a_scheduled_round_that_cannot_decrypt_alerts_sysadmins_not_owners(
        healthy, sysadmin, wrong_key, django_capture_on_commit_callbacks):
    def revalidate_all():  # as in a worker: the alert goes out once the crash is committed
        with django_capture_on_commit_callbacks(execute=True):
            return _revalidate_all()

    revalidate_all()
    assert not mail.outbox
    wrong_key()
    summary = revalidate_all()
    assert summary["crashed"] == 1
    assert [m.to for m in mail.outbox] == [["sam@example.com"]]
    alert = mail.outbox[0]
    assert "A checklist run crashed (Zapier)" in alert.subject and "TOKEN_ENCRYPTION_KEYS" in alert.body
    assert not Notice.objects.exists()
    healthy.refresh_from_db()
    assert healthy.site_health == "pass" and not healthy.alert_open
    revalidate_all()  # still broken within the hour: the banner counts, no second mail
    assert len(mail.outbox) == 1
    with time_machine.travel(dt.timedelta(hours=2)):
        revalidate_all()
    assert len(mail.outbox) == 2 and not Notice.objects.exists()


def test_a_run_started_on_the_page_that_crashes_alerts_sysadmins(healthy, sysadmin, wrong_key,
                                                                   django_capture_on_commit_callbacks):
    wrong_key()
    with django_capture_on_commit_callbacks(execute=True):
        run = queue_run(healthy, by=sysadmin)
    run.refresh_from_db()
    assert run.crashed
    assert [m.to for m in mail.outbox] == [["sam@example.com"]]


def test_the_banner_tells_sysadmins_only(client, healthy, sysadmin, viewer, wrong_key):
    wrong_key()
    ChecklistRun.check_now(healthy)
    client.force_login(sysadmin)
    page = client.get(reverse("connections:list")).content.decode()
    assert "1 checklist run crashed in the last 24 hours" in page and "TOKEN_ENCRYPTION_KEYS" in page
    client.force_login(viewer)
    assert "crashed" not in client.get(reverse("connections:list")).content.decode()


@shared_task(name="tests.failing_job")
def failing_job():
    Connection.objects.get(label="no such connection")


def test_a_background_job_that_raises_alerts_sysadmins(sysadmin):
    # As a worker runs it (eager tasks in tests otherwise re-raise before Celery's failure signal).
    assert failing_job.apply(throw=False).failed()
    assert [m.to for m in mail.outbox] == [["sam@example.com"]]
    assert "tests.failing_job failed" in mail.outbox[0].subject and "DoesNotExist" in mail.outbox[0].body
