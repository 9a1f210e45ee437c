from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    name = "connections"
    verbose_name = "Issuetrak connections"

    def ready(self):
        from connections import faults, sign_in, startup_checks  # noqa: F401  (registers checks and signals)
