"""Trigram GIN indexes for the list search and the audit trail's text filters (PostgreSQL only).

Django's icontains on PostgreSQL is ``UPPER(col::text) LIKE UPPER(%s)``: the indexes are on that
expression so the planner can use them. SQLite has no such index; there both directions do nothing.
"""

from django.db import migrations

SEARCHED = {
    "connections_connection": ("label", "base_url", "token_name", "token_user"),
    "connections_auditevent": ("actor_name", "object_repr"),
}


def _names():
    for table, columns in SEARCHED.items():
        for column in columns:
            yield table, column, f"{table.removeprefix('connections_')}_{column}_trgm"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # Left in place on reverse: other databases' objects may use it, and it costs nothing.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, column, name in _names():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)')


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _table, _column, name in _names():
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("connections", "0013_list_sort_keys")]
    operations = [migrations.RunPython(create, drop)]
