"""gunicorn settings for production: `gunicorn -c issuetrak_admin/gunicorn.conf.py`.

Behind a TLS-terminating reverse proxy. Everything can be overridden from the environment
(GUNICORN_BIND, WEB_CONCURRENCY, GUNICORN_TIMEOUT) or on the command line.
"""

import multiprocessing
import os

wsgi_app = "issuetrak_admin.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Pages wait on the database only (Issuetrak is called by Celery workers), so a few sync workers
# per core are enough; capped so a big host does not open dozens of database connections.
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 9)))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
max_requests = 2000  # recycle workers now and then, with jitter so they do not restart together
max_requests_jitter = 200
# The proxy sets X-Forwarded-Proto; trust it only from the proxy's address.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# gunicorn 24+ opens a control socket in $HOME by default; several instances on one host (or a
# test run next to a server) would fight over it, and nothing here uses it.
control_socket_disable = True
