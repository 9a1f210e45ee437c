"""Fast test configuration: MD5 hasher, locmem e-mail, eager Celery, its own data folder.

The database and broker still come from DATABASE_URL / CELERY_BROKER_URL when set, so CI can
run the same suite against PostgreSQL and Redis.
"""

import os
from pathlib import Path

os.environ.setdefault("DEBUG", "1")  # dev-style generated secrets, in the test data folder
os.environ.setdefault(
    "DATA_DIR", str(Path(__file__).resolve().parent.parent / "data" / "test")
)
os.environ.setdefault("ISSUETRAK_ALLOW_HTTP", "1")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")
os.environ.setdefault("ISSUETRAK_TIMEOUT_S", "2")
# Tests hit the simulator's sites far more often than a real install would; each test starts
# with a fresh in-memory limiter (conftest) allowing the full limits. The limiter's own tests
# choose their store and share.
os.environ.setdefault("ISSUETRAK_RATE_STORE", "memory")
os.environ.setdefault("ISSUETRAK_RATE_SHARE", "1")
# Windows 3600 times shorter (the 12 hours last 12 s): a test sending hundreds of requests to one
# scripted server is paced for moments, not refused for hours.
os.environ.setdefault("ISSUETRAK_RATE_TIME_SCALE", "3600")
# The simulator and the tests' throwaway servers listen on loopback, on any free port.
os.environ.setdefault("ISSUETRAK_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
os.environ.setdefault("ISSUETRAK_ALLOWED_PORTS", "*")

from issuetrak_admin.settings import *  # noqa: E402,F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, not shared-cache memory: real worker threads in tests then wait on locks
    # (busy timeout) like web, worker and beat do, instead of failing with "table is locked".
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-db.sqlite3")}  # noqa: F405
