from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    name = "connections"
    verbose_name = "Issuetrak connections"

    def ready(self):
        from connections import rate_store, sign_in, startup_checks  # noqa: F401  (registers checks and signals)

        rate_store.install_configured_store()
