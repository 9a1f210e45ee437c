"""Re-validation: one "broken" notice when a connection gets worse, one "recovered" after."""

import uuid

import pytest
from django.core import mail

from connections.models import ChecklistRun, Notice, NotifierRun
from connections.revalidation import revalidate_all


@pytest.fixture
def own_token(simulator):
    """A token of our own on the healthy site, so this test can revoke it."""
    token = f"tok-{uuid.uuid4().hex[:12]}"
    simulator.add_token("healthy", token, user_iid=17)
    yield token
    simulator.revoke_token("healthy", token)


def test_a_break_is_noticed_once_and_recovery_follows(make_connection, simulator, own_token):
    zapier = make_connection(token=own_token, base_url=simulator.site_url("healthy"),
                             token_user="integration")
    revalidate_all()
    assert not mail.outbox  # baseline: healthy

    simulator.revoke_token("healthy", own_token)
    revalidate_all()
    revalidate_all()  # still broken: not repeated
    assert len(mail.outbox) == 1
    assert "Token stopped working early" in mail.outbox[0].subject
    assert "revoked in Issuetrak, or its expiration date was recorded wrongly" in mail.outbox[0].body

    simulator.add_token("healthy", own_token, user_iid=17)
    revalidate_all()
    assert len(mail.outbox) == 2
    assert "Connection recovered" in mail.outbox[1].subject
    assert own_token not in "".join(m.body + m.alternatives[0][0] for m in mail.outbox)
    assert ChecklistRun.objects.filter(connection=zapier, trigger="schedule").count() == 4


def test_a_site_that_breaks_names_the_failing_step_and_its_fix(make_connection, simulator):
    zapier = make_connection(token="good-token", base_url=simulator.site_url("healthy"),
                             token_user="integration")
    revalidate_all()
    zapier.base_url = simulator.site_url("api-disabled")
    zapier.save()
    revalidate_all()
    [message] = mail.outbox
    assert "Connection broken" in message.subject
    assert "api_v2_enabled" in message.body and "Enable API v2" in message.body
    notice = Notice.objects.get()
    assert notice.sent_at and notice.recipients == ["sam@example.com"]


def test_a_connection_failing_from_the_start_is_reported_once(make_connection, simulator):
    make_connection(token="good-token", base_url=simulator.site_url("no-api"))
    revalidate_all()
    revalidate_all()
    assert len(mail.outbox) == 1


def test_each_round_records_a_heartbeat(make_connection, simulator):
    make_connection(token="good-token", base_url=simulator.site_url("healthy"),
                    token_user="integration")
    revalidate_all()
    beat = NotifierRun.objects.get(job="revalidation")
    assert beat.finished_at and beat.summary["checked"] == 1
    assert beat.summary["overall"]["pass"] == 1
