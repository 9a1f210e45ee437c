"""End to end: Celery beat fires the expiry scan from its database schedule, a real worker
runs it, and the digest e-mail lands — on Redis (required under CI) and on the on-disk broker."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from connections.models import Notice, NotifierRun
from tests.conftest import SECRET_TOKEN, require_service
from tests.test_celery_worker import REDIS_URL, _redis_reachable

ROOT = Path(__file__).resolve().parent.parent


def _database_url() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    auth = f"{user}:{db['PASSWORD']}@" if db.get("PASSWORD") else f"{user}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@pytest.fixture(params=["redis", "filesystem"])
def broker_url(request, tmp_path):
    if request.param == "redis":
        reachable, why = _redis_reachable()
        require_service("Redis", reachable, why)
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        return REDIS_URL
    return "filesystem://"


@pytest.mark.django_db(transaction=True)
def test_beat_fires_the_scan_and_the_worker_mails_the_digest(broker_url, make_connection, tmp_path):
    make_connection("Zapier", expires_on=timezone.localdate() + timezone.timedelta(days=3))
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
    PeriodicTask.objects.filter(task="connections.tasks.expiry_scan").delete()
    PeriodicTask.objects.create(name="scan (test)", task="connections.tasks.expiry_scan",
                                interval=every_second)
    mails = tmp_path / "mail"
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "issuetrak_admin.settings", "DEBUG": "1",
        "DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": _database_url(),
        # django-environ drops one leading slash of a filemail path.
        "CELERY_BROKER_URL": broker_url, "EMAIL_URL": f"filemail:///{mails}",
        "TOKEN_ENCRYPTION_KEYS": ",".join(settings.TOKEN_ENCRYPTION_KEYS),
        "SECRET_KEY": settings.SECRET_KEY,
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "issuetrak_admin", "worker", "-B", "--pool=threads",
         "--concurrency=2", "--without-mingle", "--without-gossip", "--loglevel=INFO",
         "-s", str(tmp_path / "beat-schedule")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not Notice.objects.filter(sent_at__isnull=False).exists():
            time.sleep(0.5)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        output = worker.communicate(timeout=30)[0]
    assert Notice.objects.filter(sent_at__isnull=False).count() == 1, output[-3000:]
    assert NotifierRun.objects.filter(job="expiry_scan", finished_at__isnull=False).exists()
    [message] = [p.read_text() for p in mails.iterdir()]
    assert "Zapier" in message and "expires in 3 days" in message
    assert SECRET_TOKEN not in message and SECRET_TOKEN not in output
