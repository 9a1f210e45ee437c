"""Django admin lists connections but never shows a token."""

from django.contrib.auth.models import User
from django.urls import reverse

from connections.models import ChecklistRun
from tests.conftest import SECRET_TOKEN


def test_the_admin_change_page_shows_only_the_fingerprint(client, make_connection):
    zapier = make_connection()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    for url in [reverse("admin:connections_connection_changelist"),
                reverse("admin:connections_connection_change", args=[zapier.pk])]:
        page = client.get(url).content.decode()
        assert zapier.token_fingerprint in page
        assert SECRET_TOKEN not in page
        assert zapier.token_ciphertext not in page


def test_every_model_has_an_admin_page_without_the_token(client, make_connection, simulator):
    zapier = make_connection(token="good-token", base_url=simulator.site_url("healthy"))
    ChecklistRun.check_now(zapier)
    client.force_login(User.objects.create_superuser("root2", "root2@example.com", "pw"))
    for model in ["checklistrun", "notice", "notifierrun", "tokenhistory", "onboardingconfirmation",
                  "auditevent", "connection"]:
        response = client.get(reverse(f"admin:connections_{model}_changelist"))
        assert response.status_code == 200, model
        assert "good-token" not in response.content.decode()
