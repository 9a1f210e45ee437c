"""Settings, read from the environment (django-environ); a `.env` file is read when present.

Development (DEBUG=1) generates SECRET_KEY and a token-encryption key once into DATA_DIR;
production has no default for either and refuses to start without them.
"""

import os
from datetime import timedelta
from importlib.util import find_spec
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from issuetrak_admin.dev_secrets import read_or_create_secret

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)
DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "data"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret(name, generate):
    """A secret from NAME or NAME_FILE; in development, generated once into DATA_DIR."""
    file_path = env.str(f"{name}_FILE", default="")
    if file_path:
        return Path(file_path).read_text().strip()
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return read_or_create_secret(DATA_DIR / name.lower(), generate)
    raise ImproperlyConfigured(f"{name} must be set (or {name}_FILE) when DEBUG is off.")


SECRET_KEY = _secret("SECRET_KEY", "django")
# Comma-separated Fernet keys, newest first: the first encrypts, all decrypt.
TOKEN_ENCRYPTION_KEYS = [k.strip() for k in _secret("TOKEN_ENCRYPTION_KEYS", "fernet").split(",")]

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_celery_beat",
    "axes",
    "csp",
    "connections",
]
# django-health-check is not an installed app: importing it (dnspython, redis.asyncio) would cost
# every process, commands included, though only /health/ uses it. Its page template is found here;
# find_spec locates the package without importing it.
HEALTH_CHECK_TEMPLATES = Path(find_spec("health_check").origin).parent / "templates"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the locked-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "issuetrak_admin.urls"
WSGI_APPLICATION = "issuetrak_admin.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates", HEALTH_CHECK_TEMPLATES],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "connections.context_processors.notifier_banner",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'issuetrak-admin.sqlite3'}")
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Web, worker and beat share the file: wait for locks instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in lockout (django-axes): AXES_FAILURE_LIMIT failures for one username from one address
# lock that pair for AXES_COOLOFF_MINUTES; attempts while locked neither count nor extend it.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend",
                           "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins need no table of their own
AXES_USERNAME_CALLABLE = "connections.sign_in.axes_username"
AXES_VERBOSE = False  # no start-up banner on every command's stderr
# The client's address (lockout, audit, reset throttle): REMOTE_ADDR, unless TRUSTED_PROXY_COUNT
# proxies stand in front, each appending the address it was reached from to X-Forwarded-For;
# then the entry the outermost trusted proxy wrote, never one the client wrote itself.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "connections.client_ip.client_ip"
# Password reset by e-mail: off (its URLs answer 404) unless PASSWORD_RESET=1; throttled when on.
PASSWORD_RESET = env.bool("PASSWORD_RESET", default=False)
PASSWORD_RESET_PER_ADDRESS_PER_HOUR = env.int("PASSWORD_RESET_PER_ADDRESS_PER_HOUR", default=3)
PASSWORD_RESET_PER_IP_PER_HOUR = env.int("PASSWORD_RESET_PER_IP_PER_HOUR", default=10)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "connections:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="issuetrak-admin@localhost")
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# Production hardening: `manage.py check --deploy` is clean when DEBUG is off.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# HSTS only when asked for: once sent, browsers refuse plain http to this host (and, with
# includeSubDomains, to every subdomain) for that long; preload asks browsers to ship the rule.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# The header a TLS-terminating proxy sets to "https" (e.g. X-Forwarded-Proto), trusted only when
# named here: otherwise any client could claim https. (gunicorn already believes X-Forwarded-Proto
# from FORWARDED_ALLOW_IPS on its own.)
_proxy_ssl_header = env.str("SECURE_PROXY_SSL_HEADER", default="").strip()
SECURE_PROXY_SSL_HEADER = (("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
                           if _proxy_ssl_header else None)
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts, styles and everything else from this site only;
# no inline script or style (htmx's own indicator style is switched off in base.html), no
# framing, forms post only here. Pico's icons are data: SVGs in its CSS.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Sensitive variables and POST fields (tokens) stay hidden on the DEBUG error page too.
DEFAULT_EXCEPTION_REPORTER_FILTER = "issuetrak_admin.error_reports.TokenSafeExceptionReporterFilter"

# Celery: an on-disk broker by default so nothing has to be installed; Redis in production.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The folders below are the real address; a bare "filesystem://" makes kombu warn
    # "No hostname was supplied" every time it opens or clones the connection.
    # Celery reads the CELERY_BROKER_URL variable ahead of this setting, so fix both.
    CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"] = "filesystem://localhost/"
    _queue_dir = DATA_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_queue_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# Issuetrak connections.
EXPIRY_THRESHOLDS_DAYS = sorted(
    {int(d) for d in env.list("EXPIRY_THRESHOLDS_DAYS", default=["30", "14", "7", "3", "1", "0"])},
    reverse=True,
)
ISSUETRAK_TIMEOUT_S = env.float("ISSUETRAK_TIMEOUT_S", default=10.0)
# A whole checklist run (every call, groups included) ends within this many seconds.
ISSUETRAK_CHECKLIST_BUDGET_S = env.float("ISSUETRAK_CHECKLIST_BUDGET_S", default=60.0)
ISSUETRAK_ALLOW_HTTP = env.bool("ISSUETRAK_ALLOW_HTTP", default=False)
# The outbound policy (connections/issuetrak/policy.py) for Issuetrak sites and the webhook:
# CIDRs beyond public and private addresses, and ports beyond 80/443 (or "*").
ISSUETRAK_ALLOWED_NETWORKS = env.str("ISSUETRAK_ALLOWED_NETWORKS", default="")
ISSUETRAK_ALLOWED_PORTS = env.str("ISSUETRAK_ALLOWED_PORTS", default="")
ISSUETRAK_LATEST_VERSION = env.str("ISSUETRAK_LATEST_VERSION", default="17.6")
# The per-site rate limiter (connections.issuetrak.site_limits; README "Rate limits").
ISSUETRAK_RATE_SHARE = env.float("ISSUETRAK_RATE_SHARE", default=0.2)
ISSUETRAK_RATE_LIMITS = env.str("ISSUETRAK_RATE_LIMITS", default="")
ISSUETRAK_RATE_STORE = env.str("ISSUETRAK_RATE_STORE", default="auto")
ISSUETRAK_RATE_MAX_WAIT_S = env.float("ISSUETRAK_RATE_MAX_WAIT_S", default=120.0)
ISSUETRAK_RATE_TIME_SCALE = env.float("ISSUETRAK_RATE_TIME_SCALE", default=1.0)  # benchmarks only

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "dev_server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}",
                       "style": "{"},
    },
    "filters": {
        "no_4xx_traceback": {"()": "connections.logfilters.ClientErrorsWithoutTraceback"},
        "skip_4xx": {"()": "connections.logfilters.SkipClientErrors"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "dev_server": {"class": "logging.StreamHandler", "formatter": "dev_server"},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Each 403/404 once, as one line: Django's default config gives "django" a console
        # handler of its own besides the root's (every record twice in development), attaches
        # a traceback to refusals, and runserver adds an access line for the same response.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.request": {"filters": ["no_4xx_traceback"]},
        "django.server": {"handlers": ["dev_server"], "filters": ["skip_4xx"], "level": "INFO",
                          "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}
# Prometheus scrapes /metrics with this bearer token; unset, /metrics is off (404).
_metrics_file = env.str("METRICS_TOKEN_FILE", default="")
METRICS_TOKEN = (Path(_metrics_file).read_text().strip() if _metrics_file
                 else env.str("METRICS_TOKEN", default=""))
# How many sites `connections check --all` and re-validation check at once.
CHECK_CONCURRENCY = env.int("CHECK_CONCURRENCY", default=8)
# `connections check --all` with workers: runs no worker has taken while nothing moved for this
# long are checked by the command itself (no worker consumes the queue, or one died).
CHECK_ALL_PICKUP_S = env.float("CHECK_ALL_PICKUP_S", default=60.0)
# No run is left behind: the sweep (beat, worker start, `connections sweep-runs`) marks a run
# interrupted once it has been running this long (past every task's hard time limit, 480 s at
# most) or queued this long (a re-validation round's runs: this plus REVALIDATION_SPREAD_MINUTES).
RUN_RUNNING_LIMIT_S = env.int("RUN_RUNNING_LIMIT_S", default=600)
RUN_QUEUED_LIMIT_S = env.int("RUN_QUEUED_LIMIT_S", default=3600)

# Notifier.
EXPIRY_WEBHOOK_URL = env.str("EXPIRY_WEBHOOK_URL", default="")
NOTICE_CLAIM_LEASE_MINUTES = env.int("NOTICE_CLAIM_LEASE_MINUTES", default=15)
# A recipient whose mail fails is tried again after these delays (the last one repeats), at
# most NOTICE_MAX_ATTEMPTS times in all; then the notice is marked failed for that address.
# Default: 5 attempts over about 3 days (1 h, 6 h, 24 h, 36 h apart).
NOTICE_RETRY_DELAYS_S = [int(s) for s in env.list("NOTICE_RETRY_DELAYS_S",
                                                     default=["3600", "21600", "86400", "129600"])]
NOTICE_MAX_ATTEMPTS = env.int("NOTICE_MAX_ATTEMPTS", default=5)
EXPIRY_SCAN_OVERDUE_HOURS = 26
REVALIDATION_OVERDUE_HOURS = 12
# Re-validation fans out as Celery tasks of at most this many connections of one site; a site's
# chunks start spread over this many minutes (under the 6-hour interval), so none bursts.
REVALIDATION_CHUNK_SIZE = env.int("REVALIDATION_CHUNK_SIZE", default=10)
REVALIDATION_SPREAD_MINUTES = env.float("REVALIDATION_SPREAD_MINUTES", default=300.0)
# A chunk task starts no new check after this many seconds; what it did not reach goes back to
# the queue as a new task, so no task nears its time limit.
REVALIDATION_CHUNK_SECONDS = env.float("REVALIDATION_CHUNK_SECONDS", default=120.0)
