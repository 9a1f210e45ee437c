"""`Connection.notify` (a list of addresses) becomes `recipients`: a noun for what it holds."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("connections", "0010_site_health_choices")]

    operations = [migrations.RenameField("connection", "notify", "recipients")]
