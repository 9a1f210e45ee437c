"""A saved token appears in no page, log line or database file."""

import logging

from django.db import connection as db_connection
from django.urls import reverse

from connections.models import Connection
from tests.conftest import SECRET_TOKEN


def test_a_saved_token_is_in_no_page_log_or_database_row(sam_client, caplog):
    caplog.set_level(logging.DEBUG)
    sam_client.post(reverse("connections:add"), {
        "label": "Zapier", "base_url": "https://support.example.com", "token": SECRET_TOKEN,
        "hosting": "self_hosted", "notify": "sam@example.com",
    })
    zapier = Connection.objects.get()
    pages = [
        sam_client.get(reverse("connections:list")),
        sam_client.get(zapier.get_absolute_url()),
        sam_client.get(reverse("connections:edit", args=[zapier.public_id])),
        sam_client.get(reverse("connections:archive", args=[zapier.public_id])),
    ]
    for page in pages:
        assert page.status_code == 200
        assert SECRET_TOKEN not in page.content.decode()
    assert SECRET_TOKEN not in caplog.text
    assert SECRET_TOKEN not in repr(zapier) + str(zapier)

    with db_connection.cursor() as cursor:
        cursor.execute("SELECT * FROM connections_connection")
        assert SECRET_TOKEN not in repr(cursor.fetchall())
