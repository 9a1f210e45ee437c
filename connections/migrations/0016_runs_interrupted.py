# A run nobody will finish is marked interrupted (with the reason); a scheduled one is retried once.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('connections', '0019_rotation_checks'),
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
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='retry', to='connections.checklistrun'),
        ),
        migrations.AlterField(
            model_name='checklistrun',
            name='state',
            field=models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('finished', 'Finished'), ('crashed', 'Crashed'), ('interrupted', 'Interrupted')], default='queued', max_length=12),
        ),
    ]
