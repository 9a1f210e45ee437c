"""The sweep's schedule (every 5 minutes), stored by django-celery-beat like the others."""

from django.db import migrations

SWEEP = "Sweep unfinished runs and due notices"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    five_minutes, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=SWEEP,
        defaults={"task": "connections.tasks.sweep_runs", "interval": five_minutes,
                  "description": "Mark runs nobody will finish as interrupted (retrying scheduled "
                                 "ones once) and send notices whose retry is due."},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=SWEEP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("connections", "0016_runs_interrupted"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
