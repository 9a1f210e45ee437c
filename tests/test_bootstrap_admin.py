import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.urls import reverse

from connections.access import is_sysadmin


def test_it_creates_the_first_sysadmin_from_the_environment(db, monkeypatch):
    monkeypatch.setenv("ADMIN_USERNAME", "boss")
    monkeypatch.setenv("ADMIN_PASSWORD", "a-long-password-1")
    out = io.StringIO()
    call_command("bootstrap_admin", stdout=out)
    boss = User.objects.get(username="boss")
    assert boss.check_password("a-long-password-1") and is_sysadmin(boss)
    assert "a-long-password-1" not in out.getvalue()


def test_it_prints_a_generated_password_once_and_then_does_nothing(db, monkeypatch):
    monkeypatch.delenv("ADMIN_USERNAME", raising=False)
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    first, second = io.StringIO(), io.StringIO()
    call_command("bootstrap_admin", stdout=first)
    password = first.getvalue().split("password: ")[1].split()[0]
    assert User.objects.get(username="admin").check_password(password)

    call_command("bootstrap_admin", stdout=second)
    assert second.getvalue() == "" and User.objects.count() == 1
    assert "No ADMIN_EMAIL" in first.getvalue()


@pytest.mark.parametrize("password, reason", [
    ("a", "too short"), ("password123", "too common"), ("84629175302", "entirely numeric"),
    ("boss-boss-boss", "too similar")])
def test_a_weak_admin_password_is_refused_with_a_clear_message(db, monkeypatch, password, reason):
    monkeypatch.setenv("ADMIN_USERNAME", "boss-boss-boss")
    monkeypatch.setenv("ADMIN_PASSWORD", password)
    with pytest.raises(CommandError, match="ADMIN_PASSWORD is refused") as refused:
        call_command("bootstrap_admin", stdout=io.StringIO())
    assert reason in str(refused.value) and "Nothing was created" in str(refused.value)
    assert len(password) < 8 or password not in str(refused.value)
    assert not User.objects.exists()


def test_admin_email_becomes_the_notify_default_of_the_add_form(client, db, monkeypatch):
    monkeypatch.setenv("ADMIN_USERNAME", "boss")
    monkeypatch.setenv("ADMIN_PASSWORD", "a-long-password-1")
    monkeypatch.setenv("ADMIN_EMAIL", "boss@example.com")
    call_command("bootstrap_admin", stdout=io.StringIO())
    boss = User.objects.get(username="boss")
    assert boss.email == "boss@example.com"
    client.force_login(boss)
    assert "boss@example.com" in client.get(reverse("connections:add")).content.decode()


def test_a_malformed_admin_email_is_refused(db, monkeypatch):
    monkeypatch.setenv("ADMIN_PASSWORD", "a-long-password-1")
    monkeypatch.setenv("ADMIN_EMAIL", "boss at example")
    with pytest.raises(CommandError, match="ADMIN_EMAIL"):
        call_command("bootstrap_admin", stdout=io.StringIO())
    assert not User.objects.exists()
