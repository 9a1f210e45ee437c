"""Django admin lists connections but never shows a token."""

from django.contrib.auth.models import User
from django.urls import reverse

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
