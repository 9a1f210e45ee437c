"""Create the first sysadmin account when there is none (used by `make run`)."""

import os
import secrets

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

from connections.access import SYSADMIN


class Command(BaseCommand):
    help = ("Create the first sysadmin from ADMIN_USERNAME / ADMIN_PASSWORD / ADMIN_EMAIL, "
            "or with a generated password.")

    @transaction.atomic
    def handle(self, *args, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            return
        username = os.environ.get("ADMIN_USERNAME") or "admin"
        password = os.environ.get("ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        email = os.environ.get("ADMIN_EMAIL", "").strip()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raise CommandError(f"ADMIN_EMAIL “{email}” is not an e-mail address.") from None
        try:
            # The same validators as every password change (AUTH_PASSWORD_VALIDATORS).
            password_validation.validate_password(password, User(username=username, email=email))
        except ValidationError as refused:
            raise CommandError("ADMIN_PASSWORD is refused: " + " ".join(refused.messages)
                               + " Nothing was created.") from None
        user = User.objects.create_superuser(username=username, email=email, password=password)
        user.groups.add(Group.objects.get(name=SYSADMIN))
        if os.environ.get("ADMIN_PASSWORD"):
            self.stdout.write(f"Created sysadmin “{username}” with the password from ADMIN_PASSWORD.")
        else:
            # Printed once, on purpose: it is never stored in plain text anywhere.
            self.stdout.write(
                self.style.WARNING(
                    f"Created sysadmin “{username}” with password: {password}\n"
                    "Write it down now; it is not shown again."
                )
            )
        if not email:
            self.stdout.write("No ADMIN_EMAIL: set an e-mail address for this account so expiry "
                              "notices can default to it.")
