"""Shared start-up for benchmarks: Django on a throw-away data folder, plain http allowed."""

import os
import sys
import tempfile
from pathlib import Path


def django_in_temp_dir(database_url: str | None = None) -> Path:
    """Configure Django against a fresh SQLite file in a temp dir (or `database_url`), migrated.

    A `database_url` database is dropped and created again first (it must be a throw-away one).
    """
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    data_dir = Path(tempfile.mkdtemp(prefix="itadmin-bench-"))
    os.environ.update({"DEBUG": "1", "DATA_DIR": str(data_dir), "ISSUETRAK_ALLOW_HTTP": "1",
                       "CELERY_BROKER_URL": "memory://", "LOG_LEVEL": "WARNING"})
    os.environ.pop("DATABASE_URL", None)
    if database_url:
        _recreate_postgres(database_url)
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "issuetrak_admin.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return data_dir


def _recreate_postgres(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
