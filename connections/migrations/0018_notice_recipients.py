# Notices are delivered per recipient: sent once, retried with backoff, then marked failed.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('connections', '0017_sweep_schedule'),
    ]

    operations = [
        migrations.AddField(
            model_name='notice',
            name='failed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='notice',
            name='next_attempt_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name='NoticeRecipient',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('address', models.CharField(max_length=254)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('sent_at', models.DateTimeField(blank=True, null=True)),
                ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                ('failed_at', models.DateTimeField(blank=True, null=True)),
                ('last_error', models.CharField(blank=True, max_length=300)),
                ('notice', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='connections.notice')),
            ],
            options={
                'ordering': ['address'],
                'indexes': [models.Index(fields=['failed_at'], name='notice_recipient_failed')],
                'constraints': [models.UniqueConstraint(fields=('notice', 'address'), name='notice_recipient_once')],
            },
        ),
    ]
