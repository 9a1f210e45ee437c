"""Onboarding staff walk through Issuetrak's set-up procedure; progress is kept."""

from django.urls import reverse

from connections import onboarding
from connections.models import AuditEvent, ChecklistRun, OnboardingConfirmation, TokenHistory


def page_of(client, connection):
    return client.get(reverse("connections:onboarding", args=[connection.public_id])).content.decode()


def confirm(client, connection, step, value=""):
    return client.post(reverse("connections:onboarding_confirm", args=[connection.public_id, step]),
                       {"value": value}, follow=True)


def test_a_new_connection_starts_with_everything_open(client, onboarding_clerk, make_connection):
    zapier = make_connection()
    client.force_login(onboarding_clerk)
    page = page_of(client, zapier)
    assert 'value="1" max="8"' in page  # only "revoke the old token" has nothing to wait for
    assert "No automatic result yet: run the checklist." in page
    assert "gear icon → System → Features" in page


def test_completing_every_step(client, onboarding_clerk, make_connection, simulator):
    zapier = make_connection("Zapier", token="good-token", base_url=simulator.site_url("healthy"),
                             token_user="integration")
    ChecklistRun.check_now(zapier)
    client.force_login(onboarding_clerk)
    assert 'value="7" max="8"' in page_of(client, zapier)  # the version waits for a person

    response = confirm(client, zapier, "version", "17.3.1")
    assert "Step confirmed." in response.content.decode()
    zapier.refresh_from_db()
    assert zapier.issuetrak_version == "17.3.1"
    assert 'value="8" max="8"' in page_of(client, zapier)
    confirmation = OnboardingConfirmation.objects.get(step="version")
    assert confirmation.confirmed_by == onboarding_clerk
    assert AuditEvent.objects.filter(action="onboarding_confirmed", actor=onboarding_clerk).exists()


def test_a_step_whose_check_later_fails_opens_again(make_connection, simulator, onboarding_clerk):
    zapier = make_connection("Zapier", token="good-token", base_url=simulator.site_url("healthy"),
                             token_user="integration")
    ChecklistRun.check_now(zapier)
    assert {s.step.key: s.done for s in onboarding.progress(zapier)}["api_v2_enabled"]
    zapier.base_url = simulator.site_url("api-disabled")
    zapier.save()
    ChecklistRun.check_now(zapier)
    assert not {s.step.key: s.done for s in onboarding.progress(zapier)}["api_v2_enabled"]


def test_a_bad_version_is_refused_and_nothing_is_recorded(client, onboarding_clerk, make_connection):
    zapier = make_connection()
    client.force_login(onboarding_clerk)
    response = confirm(client, zapier, "version", "fourteen")
    assert "numbers and dots" in response.content.decode()
    assert not OnboardingConfirmation.objects.exists()


def test_confirming_the_old_token_revoked_after_a_rotation(client, onboarding_clerk, make_connection):
    zapier = make_connection()
    TokenHistory.objects.create(connection=zapier, token_fingerprint="aaaa1111", set_at=zapier.token_set_at)
    client.force_login(onboarding_clerk)
    assert "aaaa1111" in page_of(client, zapier)
    confirm(client, zapier, "old_token_revoked", "revoked")
    assert TokenHistory.objects.get().revoked_confirmed_by == onboarding_clerk


def test_onboarding_staff_never_see_a_token_and_viewers_cannot_confirm(
    client, onboarding_clerk, viewer, make_connection
):
    zapier = make_connection()
    client.force_login(onboarding_clerk)
    for url in [zapier.get_absolute_url(), reverse("connections:onboarding", args=[zapier.public_id])]:
        assert zapier.reveal_token() not in client.get(url).content.decode()
    client.force_login(viewer)
    response = client.post(reverse("connections:onboarding_confirm", args=[zapier.public_id, "version"]),
                           {"value": "17.3"})
    assert response.status_code == 403


def test_onboarding_staff_add_a_connection_without_a_token_and_start_here(
    client, onboarding_clerk, sysadmin, simulator
):
    from django.test import Client

    from connections.models import Connection

    client.force_login(onboarding_clerk)
    form_page = client.get(reverse("connections:add")).content.decode()
    assert "API Token" not in form_page
    response = client.post(reverse("connections:add"), {
        "label": "Zapier", "base_url": simulator.site_url("healthy"), "token": "sneaked-in",
        "token_name": "Zapier", "token_user": "integration", "hosting": "self_hosted",
        "notify": "olive@example.com"})
    zapier = Connection.objects.get()
    assert response["Location"] == reverse("connections:onboarding", args=[zapier.public_id])
    assert not zapier.has_token and zapier.reveal_token() == ""

    results = {s["key"]: s["status"] for s in ChecklistRun.check_now(zapier).steps}
    assert results["api_v2_installed"] == "pass" and results["token_valid"] == "fail"

    sam = Client()
    sam.force_login(sysadmin)
    page = sam.post(reverse("connections:rotate", args=[zapier.public_id]),
                    {"token": "good-token", "token_name": "Zapier", "accept_warnings": "on"})
    assert page.status_code == 302
    zapier.refresh_from_db()
    assert zapier.reveal_token() == "good-token"
