"""Default schedules, stored by django-celery-beat so a sysadmin can change them in admin."""

from django.conf import settings
from django.db import migrations

EXPIRY_SCAN = "Expiry scan (daily)"
REVALIDATION = "Re-validate connections"


def create_schedules(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    daily, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="7", day_of_week="*", day_of_month="*", month_of_year="*",
        timezone=settings.TIME_ZONE,
    )
    six_hours, _ = IntervalSchedule.objects.get_or_create(every=6, period="hours")
    PeriodicTask.objects.get_or_create(
        name=EXPIRY_SCAN,
        defaults={"task": "connections.tasks.expiry_scan", "crontab": daily,
                  "description": "Warn owners before API tokens expire (once per threshold)."},
    )
    PeriodicTask.objects.get_or_create(
        name=REVALIDATION,
        defaults={"task": "connections.tasks.revalidate_connections", "interval": six_hours,
                  "description": "Run the checklist on every active connection; notice breaks."},
    )


def remove_schedules(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name__in=[EXPIRY_SCAN, REVALIDATION]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("connections", "0004_notices"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create_schedules, remove_schedules)]
