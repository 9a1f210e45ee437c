# List sort keys (stored generated columns: the database fills and keeps them, so no data step),
# one index per sort, the audit trail keyset indexes, and the "restored" audit action.

import datetime
import django.db.models.functions.comparison
import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('connections', '0012_permissions_repaired_audit'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='connection',
            name='checked_key',
            field=models.GeneratedField(db_persist=True, expression=django.db.models.functions.comparison.Coalesce(models.F('last_checked_at'), models.Value(datetime.datetime(1970, 1, 1, 0, 0, tzinfo=datetime.timezone.utc))), output_field=models.DateTimeField()),
        ),
        migrations.AddField(
            model_name='connection',
            name='expires_key',
            field=models.GeneratedField(db_persist=True, expression=django.db.models.functions.comparison.Coalesce(models.F('expires_on'), models.Value(datetime.date(9999, 12, 31))), output_field=models.DateField()),
        ),
        migrations.AddField(
            model_name='connection',
            name='health_rank',
            field=models.GeneratedField(db_persist=True, expression=models.Case(models.When(last_overall='fail', then=models.Value(0)), models.When(last_overall='warn', then=models.Value(1)), models.When(last_overall='pass', then=models.Value(2)), default=models.Value(3)), output_field=models.SmallIntegerField()),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='action',
            field=models.CharField(choices=[('connection_created', 'Connection created'), ('connection_edited', 'Connection edited'), ('connection_archived', 'Connection archived'), ('connection_restored', 'Connection restored'), ('token_rotated', 'Token rotated'), ('checklist_started', 'Checklist run started'), ('notice_acknowledged', 'Notice acknowledged'), ('onboarding_confirmed', 'Onboarding step confirmed'), ('role_changed', 'Role changed'), ('login_failed', 'Failed sign-in'), ('permissions_repaired', 'Issuetrak permissions repaired')], db_index=True, max_length=30),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['created_at', 'id'], name='audit_keyset'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['action', 'created_at', 'id'], name='audit_action_keyset'),
        ),
        migrations.AddIndex(
            model_name='connection',
            index=models.Index(django.db.models.functions.text.Lower('label'), models.F('id'), name='connection_sort_label'),
        ),
        migrations.AddIndex(
            model_name='connection',
            index=models.Index(models.F('expires_key'), django.db.models.functions.text.Lower('label'), models.F('id'), name='connection_sort_expires'),
        ),
        migrations.AddIndex(
            model_name='connection',
            index=models.Index(models.F('health_rank'), django.db.models.functions.text.Lower('label'), models.F('id'), name='connection_sort_health'),
        ),
        migrations.AddIndex(
            model_name='connection',
            index=models.Index(models.F('checked_key'), django.db.models.functions.text.Lower('label'), models.F('id'), name='connection_sort_checked'),
        ),
        migrations.AddIndex(
            model_name='connection',
            index=models.Index(fields=['created_at'], name='connection_created'),
        ),
    ]
