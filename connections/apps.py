from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


def _repair_search_indexes(sender, using="default", **kwargs):
    """SQLite drops a table's triggers when a migration rebuilds it: put the search ones back."""
    from connections import search_index

    search_index.ensure_sqlite(connections[using], create=False)


class ConnectionsConfig(AppConfig):
    name = "connections"
    verbose_name = "Issuetrak connections"

    def ready(self):
        from connections import audit, faults, rate_store, sign_in, startup_checks  # noqa: F401  (registers checks and signals)

        post_migrate.connect(_repair_search_indexes, sender=self)
        rate_store.install_configured_store()
