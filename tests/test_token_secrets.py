import io

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management import call_command

from connections import secrets
from connections.models import Connection
from tests.conftest import SECRET_TOKEN


def test_it_encrypts_and_decrypts_a_token():
    ciphertext = secrets.encrypt_token(SECRET_TOKEN)
    assert SECRET_TOKEN not in ciphertext
    assert secrets.decrypt_token(ciphertext) == SECRET_TOKEN


def test_the_fingerprint_is_eight_hex_characters_of_sha256():
    assert secrets.fingerprint("abc") == "ba7816bf"


@pytest.mark.parametrize("pasted", ["  tok123\n", "\ttok123", "tok123\r\n"])
def test_it_strips_whitespace_around_a_pasted_token(pasted):
    assert secrets.clean_token(pasted) == "tok123"


@pytest.mark.parametrize(
    ("pasted", "message"),
    [
        ("", "cannot be empty"),
        ("   \n", "cannot be empty"),
        ("tok 123", "no spaces"),
        ("tok\n123", "no spaces"),
        ("tok€123", "no spaces"),
        ('"tok123"', "Remove the quotes"),
        ("x" * 5000, "longer than"),
    ],
)
def test_it_rejects_a_malformed_token(pasted, message):
    with pytest.raises(ValidationError) as error:
        secrets.clean_token(pasted)
    assert message in error.value.messages[0]


def test_key_rotation_reencrypts_every_token_under_the_newest_key(settings, make_connection):
    old_key = settings.TOKEN_ENCRYPTION_KEYS[0]
    zapier = make_connection("Zapier")
    make_connection("Reports", token="another-token-value")
    new_key = Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = [new_key, old_key]

    call_command("reencrypt_tokens", stdout=io.StringIO())

    settings.TOKEN_ENCRYPTION_KEYS = [new_key]  # the old key is gone now
    zapier.refresh_from_db()
    assert zapier.reveal_token() == SECRET_TOKEN
    assert Connection.objects.get(label="Reports").reveal_token() == "another-token-value"


def test_key_rotation_skips_connections_still_waiting_for_their_token(settings, make_connection):
    old_key = settings.TOKEN_ENCRYPTION_KEYS[0]
    make_connection("Zapier")
    Connection.objects.create(label="Onboarding", base_url="https://new.example.com",
                              recipients=["olive@example.com"])  # as onboarding staff add it
    new_key = Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = [new_key, old_key]
    out = io.StringIO()

    call_command("reencrypt_tokens", stdout=out)

    assert "Re-encrypted 1 token(s)" in out.getvalue()
    settings.TOKEN_ENCRYPTION_KEYS = [new_key]
    assert Connection.objects.get(label="Zapier").reveal_token() == SECRET_TOKEN
    waiting = Connection.objects.get(label="Onboarding")
    assert waiting.token_ciphertext == "" and not waiting.has_token
    assert list(Connection.objects.with_token().values_list("label", flat=True)) == ["Zapier"]


def test_a_token_under_a_removed_key_fails_loudly_without_showing_it(settings, make_connection):
    zapier = make_connection("Zapier")
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ImproperlyConfigured) as error:
        zapier.reveal_token()
    assert "reencrypt_tokens" in str(error.value)
    assert SECRET_TOKEN not in str(error.value)


def test_a_malformed_key_is_reported_without_echoing_it(settings):
    settings.TOKEN_ENCRYPTION_KEYS = ["not-a-fernet-key-at-all"]
    with pytest.raises(ImproperlyConfigured) as error:
        secrets.encrypt_token("x")
    assert "not-a-fernet-key-at-all" not in str(error.value)
