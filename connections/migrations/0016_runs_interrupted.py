# A run nobody will finish is marked interrupted (with the reason); a scheduled one is retried once.

import django.db.models.deletion
from django.db import migrations, models


def _set_length(schema_editor, length: int) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE connections_checklistrun ALTER COLUMN state TYPE varchar({length})")


def widen_state(apps, schema_editor):
    _set_length(schema_editor, 12)


def narrow_state(apps, schema_editor):
    _set_length(schema_editor, 10)


class Migration(migrations.Migration):

    dependencies = [
        ('connections', '0016_crashed_runs_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='checklistrun',
            name='interrupted_reason',
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name='checklistrun',
            name='retry_of',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='retries', to='connections.checklistrun'),
        ),
        migrations.AddConstraint(
            model_name='checklistrun',
            constraint=models.UniqueConstraint(condition=models.Q(('retry_of__isnull', False)), fields=('retry_of',), name='run_retried_once'),
        ),
        # Only PostgreSQL enforces a varchar's length; on SQLite a table rebuild here would
        # lose the partial index run_crashed_recent, so the column is widened on PostgreSQL only.
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.AlterField(
                model_name='checklistrun',
                name='state',
                field=models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('finished', 'Finished'), ('crashed', 'Crashed'), ('interrupted', 'Interrupted')], default='queued', max_length=12),
            ),
            ],
            database_operations=[migrations.RunPython(widen_state, narrow_state)],
        ),
    ]
