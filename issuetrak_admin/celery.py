"""Celery application; configuration comes from Django settings under the CELERY_ namespace."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "issuetrak_admin.settings")

app = Celery("issuetrak_admin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
