import io

from django.contrib.auth.models import User
from django.core.management import call_command

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
