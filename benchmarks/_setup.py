"""Shared start-up for benchmarks: Django on a throw-away data folder, plain http allowed."""

import os
import sys
import tempfile
from pathlib import Path


def django_in_temp_dir(database_url: str | None = None) -> Path:
    """Configure Django against a fresh SQLite file in a temp dir (or `database_url`) and migrate it."""
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    data_dir = Path(tempfile.mkdtemp(prefix="itadmin-bench-"))
    os.environ.update({"DEBUG": "1", "DATA_DIR": str(data_dir), "ISSUETRAK_ALLOW_HTTP": "1",
                       "CELERY_BROKER_URL": "memory://", "LOG_LEVEL": "WARNING"})
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "issuetrak_admin.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return data_dir
