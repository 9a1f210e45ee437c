"""Never fail silently: a banner for sysadmins and a non-200 /health/ when the notifier is late."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from connections import expiry
from connections.models import NotifierJob, NotifierRun


def _ran(job, hours_ago):
    at = timezone.now() - dt.timedelta(hours=hours_ago)
    NotifierRun.objects.create(job=job, started_at=at, finished_at=at)


# /health/ runs its checks in worker threads: they only see committed rows.
@pytest.mark.django_db(transaction=True)
def test_health_is_200_when_both_jobs_ran_recently(client, make_connection):
    _ran(NotifierJob.EXPIRY_SCAN, 2)
    _ran(NotifierJob.REVALIDATION, 1)
    response = client.get(reverse("health"), HTTP_ACCEPT="application/json")
    assert response.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_health_fails_and_sysadmins_see_a_banner_when_the_scan_is_overdue(
    client, sam_client, make_connection
):
    make_connection()
    _ran(NotifierJob.EXPIRY_SCAN, 27)
    _ran(NotifierJob.REVALIDATION, 1)
    response = client.get(reverse("health"), HTTP_ACCEPT="application/json")
    assert response.status_code == 500
    assert "Expiry scan" in response.content.decode()
    page = sam_client.get(reverse("connections:list")).content.decode()
    assert "The expiry scan is overdue" in page


def test_an_overdue_revalidation_is_flagged_after_12_hours(sam_client, make_connection):
    make_connection()
    _ran(NotifierJob.EXPIRY_SCAN, 1)
    _ran(NotifierJob.REVALIDATION, 13)
    assert "The re-validation is overdue" in sam_client.get(reverse("connections:list")).content.decode()


def test_a_fresh_install_is_not_overdue_until_there_was_something_to_watch(sam_client, make_connection):
    make_connection()
    assert "overdue" not in sam_client.get(reverse("connections:list")).content.decode()
    with time_machine.travel(timezone.now() + dt.timedelta(hours=30)):
        assert "The expiry scan is overdue" in sam_client.get(reverse("connections:list")).content.decode()


def test_viewers_do_not_get_the_banner(client, viewer, make_connection):
    make_connection()
    client.force_login(viewer)
    with time_machine.travel(timezone.now() + dt.timedelta(hours=30)):
        assert "overdue" not in client.get(reverse("connections:list")).content.decode()


def test_the_dashboard_says_when_the_scan_last_ran_and_is_next_due(sam_client, make_connection):
    make_connection()
    expiry.scan()
    page = sam_client.get(reverse("connections:list")).content.decode()
    assert "Expiry scan last ran 0" in page and "next due in" in page

@pytest.mark.django_db(transaction=True)
def test_health_names_its_checks_in_words(client):
    _ran(NotifierJob.EXPIRY_SCAN, 2)
    _ran(NotifierJob.REVALIDATION, 1)
    response = client.get(reverse("health"), HTTP_ACCEPT="application/json")
    assert set(response.json()) == {
        "Database", "Celery broker", "Notifier (expiry scan and re-validation)", "Token encryption keys"}
    page = client.get(reverse("health"), HTTP_ACCEPT="text/html").content.decode()
    assert "Database(alias=" not in page and "Broker()" not in page
