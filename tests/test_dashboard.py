"""The connections list: health, days to expiry, notices sent; filters and sorting."""

import datetime as dt

from django.core import mail
from django.urls import reverse
from django.utils import timezone

from connections import expiry
from connections.models import Connection, Notice

LIST = reverse("connections:list")


def days(n):
    return timezone.localdate() + dt.timedelta(days=n)


def labels_in(page: str) -> list[str]:
    return [part.split('"')[0] for part in page.split('data-label="')[1:]]


def test_it_shows_health_days_to_expiry_and_notices_sent(sam_client, make_connection):
    make_connection("Soon", expires_on=days(2))
    make_connection("Later", expires_on=days(20))
    make_connection("Fine", expires_on=days(200))
    make_connection("Forever", expires_on=None)
    Connection.objects.filter(label="Soon").update(last_overall="fail", last_checked_at=timezone.now())
    expiry.scan()
    page = sam_client.get(LIST).content.decode()
    assert '<span class="badge fail" title="' in page and ">2 d<" in page
    assert '<span class="badge warn"' in page and ">20 d<" in page
    assert '<span class="badge pass"' in page and ">200 d<" in page
    assert ">never<" in page
    assert '<span class="badge fail">Fail</span>' in page


def test_it_filters_expiring_within_n_days_and_failing(sam_client, make_connection):
    make_connection("Soon", expires_on=days(2))
    make_connection("Later", expires_on=days(20))
    make_connection("Forever", expires_on=None)
    Connection.objects.filter(label="Later").update(last_overall="fail")
    assert labels_in(sam_client.get(LIST, {"expiring": 7}).content.decode()) == ["Soon"]
    assert labels_in(sam_client.get(LIST, {"failing": 1}).content.decode()) == ["Later"]
    assert labels_in(sam_client.get(LIST, {"expiring": 7, "failing": 1}).content.decode()) == []
    assert "No connection matches" in sam_client.get(LIST, {"expiring": 0, "failing": 1}).content.decode()


def test_it_sorts_by_expiry_and_by_health(sam_client, make_connection):
    make_connection("A", expires_on=days(50))
    make_connection("B", expires_on=days(5))
    make_connection("C", expires_on=None)
    Connection.objects.filter(label="C").update(last_overall="fail")
    Connection.objects.filter(label="A").update(last_overall="warn")
    assert labels_in(sam_client.get(LIST, {"sort": "expires"}).content.decode()) == ["B", "A", "C"]
    assert labels_in(sam_client.get(LIST, {"sort": "health"}).content.decode()) == ["C", "A", "B"]


def test_bad_filter_values_are_ignored_not_a_500(sam_client, make_connection):
    make_connection("A")
    response = sam_client.get(LIST, {"expiring": "soon", "sort": "DROP TABLE", "page": "x"})
    assert response.status_code == 200 and labels_in(response.content.decode()) == ["A"]


def test_the_list_query_count_is_constant(sam_client, make_connection, django_assert_max_num_queries):
    for n in range(3):
        make_connection(f"c{n}")
    with django_assert_max_num_queries(20) as few:
        sam_client.get(LIST)
    for n in range(3, 60):
        make_connection(f"c{n}")
    with django_assert_max_num_queries(len(few)):
        sam_client.get(LIST)


def test_a_sysadmin_acknowledges_a_notice_and_the_next_threshold_still_fires(
    sam_client, make_connection, sysadmin
):
    zapier = make_connection("Zapier", expires_on=days(10))
    expiry.scan()
    notice = Notice.objects.get()
    planned = days(5)
    sam_client.post(reverse("connections:acknowledge", args=[zapier.public_id, notice.pk]),
                    {"planned_on": planned.isoformat()})
    notice.refresh_from_db()
    assert notice.acknowledged_by == sysadmin and notice.planned_on == planned
    page = sam_client.get(zapier.get_absolute_url()).content.decode()
    assert f"by sam on {timezone.localdate():%Y-%m-%d}: rotation planned for {planned:%Y-%m-%d}" in page

    expiry.scan()  # the acknowledged notice is not repeated
    assert len(mail.outbox) == 1
    Connection.objects.filter(pk=zapier.pk).update(expires_on=days(6))
    expiry.scan()  # the next threshold still fires
    assert len(mail.outbox) == 2


def test_acknowledging_in_the_past_or_as_a_viewer_is_refused(client, sam_client, viewer, make_connection):
    zapier = make_connection("Zapier", expires_on=days(10))
    expiry.scan()
    notice = Notice.objects.get()
    url = reverse("connections:acknowledge", args=[zapier.public_id, notice.pk])
    response = sam_client.post(url, {"planned_on": days(-3).isoformat()}, follow=True)
    assert "cannot be planned in the past" in response.content.decode()
    client.force_login(viewer)
    assert client.post(url, {"planned_on": days(3).isoformat()}).status_code == 403
    notice.refresh_from_db()
    assert notice.acknowledged_at is None
