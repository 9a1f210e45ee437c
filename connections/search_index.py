"""Substring search that walks an index instead of every row: the list's ?q= and the audit
trail's Who / Object filters.

PostgreSQL: trigram GIN indexes on ``UPPER(col::text)`` (migration 0014) serve Django's
``icontains`` as it is. SQLite: an FTS5 trigram table per searched table, kept current by
triggers; after every ``migrate`` ``ensure_sqlite`` puts back triggers that a table rebuild
dropped (SQLite migrations rebuild tables to alter them) and refills that index.
"""

from django.db import connection as default_connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

# table: (FTS5 table, searched columns)
SQLITE_INDEXES = {
    "connections_connection": ("connection_search", ("label", "base_url", "token_name", "token_user")),
    "connections_auditevent": ("auditevent_search", ("actor_name", "object_repr")),
}
MIN_TRIGRAM = 3  # FTS5 trigram matches need 3 characters; shorter input scans (icontains)


def _triggers(table: str, fts: str, columns: tuple[str, ...]) -> dict[str, str]:
    cols = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    delete = f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old});"
    insert = f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new});"
    return {
        f"{fts}_ai": f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN {insert} END",
        f"{fts}_ad": f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN {delete} END",
        f"{fts}_au": f"CREATE TRIGGER {fts}_au AFTER UPDATE ON {table} BEGIN {delete} {insert} END",
    }


def ensure_sqlite(connection=default_connection, *, create: bool = True) -> list[str]:
    """Create missing FTS5 tables (unless `create` is False: then only repair existing ones) and
    their triggers, refilling an index that may have missed writes; returns the tables refilled.
    Does nothing on other databases."""
    if connection.vendor != "sqlite":
        return []
    refilled = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        present = {row[0] for row in cursor.fetchall()}
        for table, (fts, columns) in SQLITE_INDEXES.items():
            if table not in present or (fts not in present and not create):
                continue  # not migrated this far (or migrated back)
            missing = {name: sql for name, sql in _triggers(table, fts, columns).items()
                       if name not in present}
            if fts not in present:
                cursor.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5({', '.join(columns)}, "
                               f"content='{table}', content_rowid='id', tokenize='trigram')")
            for sql in missing.values():
                cursor.execute(sql)
            if missing or fts not in present:
                cursor.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
                refilled.append(table)
    return refilled


def drop_sqlite(connection=default_connection) -> None:
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for table, (fts, columns) in SQLITE_INDEXES.items():
            for name in _triggers(table, fts, columns):
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            cursor.execute(f"DROP TABLE IF EXISTS {fts}")


def contains(table: str, fields: tuple[str, ...], text: str) -> Q:
    """Rows whose `fields` contain `text` (any case): through the search index where there is one."""
    fts, columns = SQLITE_INDEXES[table]
    if default_connection.vendor == "sqlite" and len(text) >= MIN_TRIGRAM:
        assert set(fields) <= set(columns)
        match = "{" + " ".join(fields) + "} : " + '"' + text.replace('"', '""') + '"'
        return Q(id__in=RawSQL(f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s", [match]))
    found = Q()
    for name in fields:
        found |= Q(**{f"{name}__icontains": text})
    return found
