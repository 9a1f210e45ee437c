"""Re-encrypt every stored API token under the newest TOKEN_ENCRYPTION_KEYS key."""

from django.core.management.base import BaseCommand
from django.db import transaction

from connections.models import Connection
from connections.secrets import reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt all API tokens under the first key of TOKEN_ENCRYPTION_KEYS. Run it after "
        "putting a new key first; then the old key can be removed."
    )

    def handle(self, *args, **options):
        count = 0
        with transaction.atomic():
            # All or nothing: a key that fits no token aborts before anything is written.
            # Connections still waiting for their token have nothing to re-encrypt.
            tokens = Connection.objects.with_token().select_for_update().only("pk", "token_ciphertext")
            for connection in tokens:
                connection.token_ciphertext = reencrypt(connection.token_ciphertext)
                connection.save(update_fields=["token_ciphertext"])
                count += 1
        self.stdout.write(f"Re-encrypted {count} token(s) under the newest key.")
