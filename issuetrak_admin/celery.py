"""Celery application; configuration comes from Django settings under the CELERY_ namespace."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "issuetrak_admin.settings")

app = Celery("issuetrak_admin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _check_token_keys(**kwargs):
    """A worker refuses to start, like runserver, when no key decrypts the stored tokens."""
    import django
    from django.core.management import call_command

    django.setup()  # idempotent; Celery's Django fix-up may not have run it yet

    from connections.startup_checks import TOKEN_KEYS

    call_command("check", tags=[TOKEN_KEYS])
