"""Sysadmins may manage connections, schedules and accounts in Django admin."""

from django.db import migrations

APPS = ("connections", "django_celery_beat", "auth")


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for config in apps.get_app_configs():  # permissions are created after migrate otherwise
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    sysadmin, _ = Group.objects.get_or_create(name="Sysadmin")
    sysadmin.permissions.add(*Permission.objects.filter(content_type__app_label__in=APPS))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name="Sysadmin"):
        group.permissions.clear()


class Migration(migrations.Migration):
    dependencies = [
        ("connections", "0007_audit_onboarding"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]
    operations = [migrations.RunPython(grant, revoke)]
