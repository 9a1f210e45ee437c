"""Prometheus metrics at /metrics: off without METRICS_TOKEN, a bearer token, values from the DB."""

import datetime as dt

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from connections.models import ChecklistRun, Notice, NotifierJob, NotifierRun
from tests.conftest import SECRET_TOKEN

TOKEN = "scrape-me-7f3a"


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client, token=TOKEN, **headers):
    return client.get(reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {token}", **headers)


class Samples(dict):
    """A scrape parsed with prometheus_client's own parser: `values("name", label="Zapier")`."""

    def __init__(self, response):
        parsed = text_string_to_metric_families(response.content.decode())
        super().__init__({(s.name, frozenset(s.labels.items())): s.value
                          for family in parsed for s in family.samples})

    def __call__(self, name, **labels):
        return self[(name, frozenset(labels.items()))]

    def series(self, name, **labels) -> list:
        return [v for (n, ls), v in self.items() if n == name and set(labels.items()) <= ls]


def test_metrics_are_off_without_a_token(client, settings, db):
    settings.METRICS_TOKEN = ""
    assert client.get(reverse("metrics")).status_code == 404


def test_a_scraper_needs_the_bearer_token(client, metrics_on, db):
    assert client.get(reverse("metrics")).status_code == 401
    assert scrape(client, "wrong").status_code == 401
    refused = client.get(reverse("metrics"), HTTP_AUTHORIZATION=f"Basic {TOKEN}")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    assert scrape(client).status_code == 200


def test_each_connection_reports_expiry_result_steps_and_last_check(
    client, metrics_on, make_connection, simulator
):
    today = timezone.localdate()
    zapier = make_connection("Zapier", token="good-token", base_url=simulator.site_url("healthy"),
                             token_user="integration", expires_on=today + dt.timedelta(days=6))
    broken = make_connection("Broken", token="good-token", base_url=simulator.site_url("revoked-token"),
                             expires_on=today - dt.timedelta(days=2))
    ChecklistRun.check_now(zapier)
    ChecklistRun.check_now(broken)
    zapier.refresh_from_db()

    values = Samples(scrape(client))
    assert values("issuetrak_token_days_left", label="Zapier") == 6
    assert values("issuetrak_token_days_left", label="Broken") == -2
    midnight = timezone.make_aware(dt.datetime.combine(zapier.expires_on, dt.time.min))
    assert values("issuetrak_token_expiry_timestamp_seconds", label="Zapier") == midnight.timestamp()
    assert zapier.last_overall == "warn"  # six days left
    assert values("issuetrak_checklist_overall", label="Zapier", status="warn") == 1
    assert sum(values.series("issuetrak_checklist_overall", label="Zapier")) == 1
    assert values("issuetrak_checklist_overall", label="Broken", status="fail") == 1
    assert values("issuetrak_checklist_step", label="Zapier", step="token_admin", status="pass") == 1
    assert values("issuetrak_checklist_step", label="Broken", step="token_valid", status="fail") == 1
    assert values("issuetrak_checklist_last_check_timestamp_seconds", label="Zapier") == pytest.approx(
        zapier.last_checked_at.timestamp())
    assert len(values.series("issuetrak_checklist_step", label="Zapier")) == 11


def test_the_notifier_heartbeats_and_failed_notices(client, metrics_on, make_connection):
    zapier = make_connection()
    done = timezone.now() - dt.timedelta(hours=3)
    NotifierRun.objects.create(job=NotifierJob.EXPIRY_SCAN, finished_at=done)
    NotifierRun.objects.create(job=NotifierJob.EXPIRY_SCAN, finished_at=timezone.now(), error="boom")
    NotifierRun.objects.create(job=NotifierJob.REVALIDATION, finished_at=done)
    for i, error in enumerate(["delivery failed; retried on the next run", "", "smtp down"]):
        Notice.objects.create(connection=zapier, token_fingerprint="abcd1234", kind="expiring",
                              threshold=i, channel="email", summary="x", last_error=error)

    values = Samples(scrape(client))
    assert values("issuetrak_notifier_last_success_timestamp_seconds", job="expiry_scan") == pytest.approx(
        done.timestamp())  # the later run failed: not a success
    assert values.series("issuetrak_notifier_last_success_timestamp_seconds", job="revalidation")
    assert values("issuetrak_notices_failed", channel="email") == 2
    assert values("issuetrak_notices_failed", channel="webhook") == 0


def test_a_scrape_costs_the_same_few_queries_for_any_number_of_connections(
    client, metrics_on, make_connection, simulator
):
    def queries():
        with CaptureQueriesContext(db_connection) as captured:
            assert scrape(client).status_code == 200
        return len(captured)

    ChecklistRun.check_now(make_connection("One", token="good-token", base_url=simulator.site_url("healthy")))
    few = queries()
    for i in range(5):
        more = make_connection(f"More {i}", token="good-token", base_url=simulator.site_url("healthy"))
        ChecklistRun.check_now(more)
    assert queries() == few <= 3


def test_no_token_or_ciphertext_reaches_the_metrics(client, metrics_on, make_connection):
    zapier = make_connection()
    body = scrape(client).content.decode()
    assert "Zapier" in body
    assert SECRET_TOKEN not in body and zapier.token_ciphertext not in body


def test_openmetrics_is_served_when_asked_for(client, metrics_on, make_connection):
    make_connection()
    response = scrape(client, HTTP_ACCEPT="application/openmetrics-text; version=1.0.0")
    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.decode().rstrip().endswith("# EOF")
