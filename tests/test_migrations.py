"""The refactor's migrations reverse cleanly and keep the data (notify → recipients)."""

import json

import pytest
from django.core.management import call_command
from django.db import connection as db

from connections.models import Connection


@pytest.mark.django_db(transaction=True)
def test_renaming_notify_to_recipients_reverses_and_keeps_the_addresses(make_connection):
    make_connection("Zapier", recipients=["sam@example.com", "ops@example.com"])
    try:
        call_command("migrate", "connections", "0009", verbosity=0)
        with db.cursor() as cursor:
            cursor.execute("SELECT notify FROM connections_connection")
            [(stored,)] = cursor.fetchall()
        addresses = json.loads(stored) if isinstance(stored, str) else stored
        assert addresses == ["sam@example.com", "ops@example.com"]
    finally:
        call_command("migrate", "connections", verbosity=0)
    assert Connection.objects.get().recipients == ["sam@example.com", "ops@example.com"]
