"""Add demo connections to the local Issuetrak simulator (used by `make run DEMO=1`)."""

import datetime as dt

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from connections.choices import Trigger
from connections.models import Connection
from connections.tasks import expiry_scan, queue_run

DEMO_TOKEN = "good-token"


def demo_connections(root_url: str) -> list[dict]:
    """One green, one amber and one red connection on the simulator's scenario sites."""
    today = timezone.localdate()
    return [
        {"label": "Demo healthy", "site": "healthy", "token_name": "Demo healthy",
         "expires_on": today + dt.timedelta(days=180), "token_user": "integration"},
        {"label": "Demo expiring", "site": "group-admin", "token_name": "Zapier (old)",
         "expires_on": today + dt.timedelta(days=6), "token_user": "integration"},
        {"label": "Demo revoked", "site": "revoked-token", "token_name": "Demo revoked",
         "expires_on": today + dt.timedelta(days=60), "token_user": "integration"},
    ]


class Command(BaseCommand):
    help = ("Create three demo connections on the simulator, queue a checklist run for each and "
            "an expiry scan, whose notice e-mail appears on the console.")

    def add_arguments(self, parser):
        parser.add_argument("--simulator", default="http://127.0.0.1:8765",
                            help="The simulator's root URL.")
        parser.add_argument("--notify", default="demo@example.com")
        parser.add_argument("--delay", type=float, default=6.0,
                            help="Seconds before the runs start (the simulator is starting too).")

    @transaction.atomic
    def handle(self, *args, simulator, notify, delay, **options):
        for spec in demo_connections(simulator.rstrip("/")):
            site = spec.pop("site")
            connection = Connection.objects.with_label(spec["label"]).first()
            if connection is None:
                connection = Connection(
                    **spec, base_url=f"{simulator.rstrip('/')}/{site}", recipients=[notify]
                )
                connection.set_token(DEMO_TOKEN)
                connection.save()
            queue_run(connection, countdown=delay, trigger=Trigger.CLI)  # credited to the command
            self.stdout.write(f"Demo connection “{connection.label}” → {connection.base_url}")
        # "Demo expiring" is 6 days from expiry: the scan mails its 7-day notice right away.
        transaction.on_commit(lambda: expiry_scan.apply_async(countdown=delay + 2))
