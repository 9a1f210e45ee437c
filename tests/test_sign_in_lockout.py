"""Sign-in lockout (django-axes), bounded audit of failures, and the switchable, throttled password reset."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.test import RequestFactory, override_settings
from django.urls import reverse

from connections.client_ip import client_ip
from connections.models import AuditEvent

RESET_URLS = ["password_reset", "password_reset_done", "password_reset_complete"]


def _sign_in(client, username, password, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def _signed_in(client) -> bool:
    return client.get(reverse("connections:list")).status_code == 200


def test_forty_wrong_guesses_then_the_right_password_is_refused(client, viewer):
    for n in range(40):
        _sign_in(client, "vic", f"guess-{n}")
    response = _sign_in(client, "vic", "pw-vic")
    assert response.status_code == 429
    page = response.content.decode()
    assert "Sign-in locked" in page and "15 minutes" in page
    assert not _signed_in(client)
    # Five failures, then one lockout row: nothing per guess while locked.
    assert AuditEvent.objects.filter(action="login_failed").count() == 5
    locked = AuditEvent.objects.get(action="login_locked")
    assert locked.summary == "Sign-in as “vic” from 127.0.0.1 locked for 15 minutes after 5 failures"


def test_the_lock_lifts_after_the_cool_off_and_a_success_resets_the_count(client, viewer):
    for n in range(5):
        _sign_in(client, "vic", f"guess-{n}")
    assert _sign_in(client, "vic", "pw-vic").status_code == 429
    with time_machine.travel(dt.timedelta(minutes=16)):
        assert _sign_in(client, "vic", "pw-vic").status_code == 302
        assert _signed_in(client)
        client.logout()
        for n in range(4):  # the success reset the count: four more failures do not lock
            _sign_in(client, "vic", f"again-{n}")
        assert _sign_in(client, "vic", "pw-vic").status_code == 302


def test_a_lock_holds_one_user_name_from_one_address(client, viewer, sysadmin):
    for n in range(5):
        _sign_in(client, "vic", f"guess-{n}")
    assert _sign_in(client, "vic", "pw-vic").status_code == 429
    assert _sign_in(client, "sam", "pw-sam").status_code == 302  # another user from there
    client.logout()
    assert _sign_in(client, "vic", "pw-vic", REMOTE_ADDR="192.0.2.7").status_code == 302  # vic elsewhere


def test_x_forwarded_for_is_ignored_unless_a_proxy_is_trusted(client, viewer):
    for n in range(5):  # an attacker rotating a forged header stays one client
        _sign_in(client, "vic", f"guess-{n}", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    assert _sign_in(client, "vic", "pw-vic", HTTP_X_FORWARDED_FOR="198.51.100.99").status_code == 429


def test_behind_a_trusted_proxy_the_address_it_saw_counts_not_what_the_client_wrote():
    factory = RequestFactory()
    forged = factory.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert client_ip(forged) == "10.0.0.2"
    with override_settings(TRUSTED_PROXY_COUNT=1):
        assert client_ip(forged) == "203.0.113.9"
        assert client_ip(factory.get("/", REMOTE_ADDR="10.0.0.2")) == "10.0.0.2"
        junk = factory.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="<script>")
        assert client_ip(junk) == "10.0.0.2"
    with override_settings(TRUSTED_PROXY_COUNT=2):
        assert client_ip(forged) == "6.6.6.6"


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_a_trusted_proxy_each_client_is_locked_on_its_own(client, viewer):
    for n in range(5):
        _sign_in(client, "vic", f"guess-{n}", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert _sign_in(client, "vic", "pw-vic", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 429
    assert _sign_in(client, "vic", "pw-vic", HTTP_X_FORWARDED_FOR="203.0.113.10").status_code == 302
    assert AuditEvent.objects.filter(summary__endswith="from 203.0.113.9").count() == 5
    assert "from 203.0.113.9 locked" in AuditEvent.objects.get(action="login_locked").summary


@override_settings(AXES_FAILURE_LIMIT=2)
def test_the_limit_is_a_setting(client, viewer):
    _sign_in(client, "vic", "one")
    _sign_in(client, "vic", "two")
    assert _sign_in(client, "vic", "pw-vic").status_code == 429


def test_a_hostile_user_name_is_stored_cut_and_without_invisible_characters(client, db):
    _sign_in(client, "adm\u202ein\x1b[2J" + "x" * 500, "guess")
    failed = AuditEvent.objects.get(action="login_failed")
    assert "\u202e" not in failed.summary and "\x1b" not in failed.summary
    assert failed.object_repr.startswith("adm?in?[2J") and len(failed.object_repr) <= 64


def test_spraying_user_names_from_one_address_stops_being_audited(client, db):
    for n in range(60):
        _sign_in(client, f"user{n}", "guess")
    assert AuditEvent.objects.filter(action="login_failed").count() <= 51


@pytest.mark.parametrize("name", RESET_URLS)
def test_password_reset_is_off_by_default(client, db, name):
    assert client.get(reverse(name)).status_code == 404
    assert client.post(reverse("password_reset"), {"email": "vic@example.com"}).status_code == 404
    assert client.get(reverse("password_reset_confirm", args=["MQ", "set-password"])).status_code == 404
    assert "Forgot your password" not in client.get(reverse("login")).content.decode()
    assert mail.outbox == []


@override_settings(PASSWORD_RESET=True)
def test_when_on_reset_mails_are_throttled_per_address(client, viewer):
    assert "Forgot your password" in client.get(reverse("login")).content.decode()
    answers = [client.post(reverse("password_reset"), {"email": "vic@example.com"}).status_code
               for _ in range(5)]
    assert answers == [302, 302, 302, 429, 429]
    assert len(mail.outbox) == 3
    assert "Too many reset requests" in client.post(
        reverse("password_reset"), {"email": "VIC@example.com"}).content.decode()


@override_settings(PASSWORD_RESET=True, PASSWORD_RESET_PER_IP_PER_HOUR=4)
def test_when_on_reset_requests_are_throttled_per_client(client, viewer):
    answers = [client.post(reverse("password_reset"), {"email": f"x{n}@example.com"}).status_code
               for n in range(6)]
    assert answers == [302, 302, 302, 302, 429, 429]
    other = client.post(reverse("password_reset"), {"email": "vic@example.com"}, REMOTE_ADDR="192.0.2.7")
    assert other.status_code == 302 and len(mail.outbox) == 1
    with time_machine.travel(dt.timedelta(minutes=61)):
        assert client.post(reverse("password_reset"), {"email": "x9@example.com"}).status_code == 302


@override_settings(PASSWORD_RESET=True)
def test_the_reset_link_sets_a_new_password(client, viewer):
    client.post(reverse("password_reset"), {"email": "vic@example.com"})
    link = next(line for line in mail.outbox[0].body.splitlines() if "/reset/" in line).strip()
    page = client.get(link, follow=True)
    assert page.status_code == 200
    done = client.post(page.redirect_chain[-1][0], {"new_password1": "Another-long-pass-42",
                                                     "new_password2": "Another-long-pass-42"})
    assert done.status_code == 302
    assert User.objects.get(username="vic").check_password("Another-long-pass-42")
