"""Glance databases as Glance's releases left them, built by hand for the
import tests (the functional test imports a real Glance 33's).

The DDL keeps the columns and types Glance's migrations create, in a form
SQLite and PostgreSQL both take; ``RELEASES`` says which columns each
release has.
"""

from __future__ import annotations

import sqlite3

IMAGE_COLUMNS = {
    # Glance 2024.1 .. 33 (2026.2): the newest images table.
    "2024_1_contract01": ["visibility", "os_hidden", "os_hash_algo", "os_hash_value"],
    # Queens: visibility, no os_hidden and no os_hash_* yet (Rocky added them).
    "queens_contract01": ["visibility"],
    # Before Ocata (sqlalchemy-migrate, no alembic_version): is_public.
    None: ["is_public"],
}
EXTRA_TYPES = {"visibility": "VARCHAR(9) NOT NULL DEFAULT 'shared'",
               "os_hidden": "BOOLEAN NOT NULL DEFAULT FALSE",
               "os_hash_algo": "VARCHAR(64)", "os_hash_value": "VARCHAR(128)",
               "is_public": "BOOLEAN NOT NULL DEFAULT FALSE"}

STAMPS = ("created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP, "
          "deleted_at TIMESTAMP, deleted BOOLEAN NOT NULL")


def ddl(revision: str | None) -> list[str]:
    """The CREATE TABLE statements of the release that left ``revision``."""
    extra = "".join(", %s %s" % (c, EXTRA_TYPES[c]) for c in IMAGE_COLUMNS[revision])
    statements = [
        "CREATE TABLE images (id VARCHAR(36) PRIMARY KEY, name VARCHAR(255), "
        "size BIGINT, status VARCHAR(30) NOT NULL, %s, disk_format VARCHAR(20), "
        "container_format VARCHAR(20), checksum VARCHAR(32), owner VARCHAR(255), "
        "min_disk INTEGER NOT NULL, min_ram INTEGER NOT NULL, protected BOOLEAN "
        "NOT NULL DEFAULT FALSE, virtual_size BIGINT%s)" % (STAMPS, extra),
        "CREATE TABLE image_properties (id INTEGER PRIMARY KEY, image_id "
        "VARCHAR(36) NOT NULL, name VARCHAR(255) NOT NULL, value TEXT, %s)" % STAMPS,
        "CREATE TABLE image_tags (id INTEGER PRIMARY KEY, image_id VARCHAR(36) "
        "NOT NULL, value VARCHAR(255) NOT NULL, %s)" % STAMPS,
        "CREATE TABLE image_members (id INTEGER PRIMARY KEY, image_id VARCHAR(36) "
        "NOT NULL, member VARCHAR(255) NOT NULL, can_share BOOLEAN NOT NULL, "
        "status VARCHAR(20) NOT NULL DEFAULT 'pending', %s)" % STAMPS,
        "CREATE TABLE image_locations (id INTEGER PRIMARY KEY, image_id "
        "VARCHAR(36) NOT NULL, value TEXT NOT NULL, meta_data TEXT, status "
        "VARCHAR(30) NOT NULL DEFAULT 'active', %s)" % STAMPS,
        "CREATE TABLE tasks (id VARCHAR(36) PRIMARY KEY, type VARCHAR(30) NOT NULL, "
        "status VARCHAR(30) NOT NULL, owner VARCHAR(255) NOT NULL, expires_at "
        "TIMESTAMP, %s)" % STAMPS,
        "CREATE TABLE metadef_namespaces (id INTEGER PRIMARY KEY, namespace "
        "VARCHAR(80) NOT NULL UNIQUE, display_name VARCHAR(80), description TEXT, "
        "visibility VARCHAR(32), protected BOOLEAN, owner VARCHAR(255) NOT NULL, "
        "created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP)",
        "CREATE TABLE metadef_resource_types (id INTEGER PRIMARY KEY, name "
        "VARCHAR(80) NOT NULL UNIQUE, protected BOOLEAN NOT NULL, created_at "
        "TIMESTAMP NOT NULL, updated_at TIMESTAMP)",
        "CREATE TABLE metadef_namespace_resource_types (resource_type_id INTEGER "
        "NOT NULL, namespace_id INTEGER NOT NULL, properties_target VARCHAR(80), "
        "prefix VARCHAR(80), created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP, "
        "PRIMARY KEY (resource_type_id, namespace_id))",
        "CREATE TABLE metadef_objects (id INTEGER PRIMARY KEY, namespace_id INTEGER "
        "NOT NULL, name VARCHAR(80) NOT NULL, description TEXT, required TEXT, "
        "json_schema TEXT NOT NULL, created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP)",
        "CREATE TABLE metadef_properties (id INTEGER PRIMARY KEY, namespace_id "
        "INTEGER NOT NULL, name VARCHAR(80) NOT NULL, json_schema TEXT NOT NULL, "
        "created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP)",
        "CREATE TABLE metadef_tags (id INTEGER PRIMARY KEY, namespace_id INTEGER "
        "NOT NULL, name VARCHAR(80) NOT NULL, created_at TIMESTAMP NOT NULL, "
        "updated_at TIMESTAMP)",
    ]
    if revision is not None:
        statements.append("CREATE TABLE alembic_version (version_num VARCHAR(32) "
                          "NOT NULL PRIMARY KEY)")
    else:
        statements.append("CREATE TABLE migrate_version (repository_id "
                          "VARCHAR(250) PRIMARY KEY, version INTEGER)")
    return statements


class GlanceDB:
    """A hand-built Glance database (SQLite file or PostgreSQL) to write rows into."""

    def __init__(self, url: str, connection, placeholder: str):
        self.url = url
        self._conn = connection
        self._ph = placeholder
        self._ids: dict[str, int] = {}

    @classmethod
    def sqlite(cls, path, revision: str | None) -> "GlanceDB":
        conn = sqlite3.connect(str(path), isolation_level=None)
        made = cls("sqlite:///%s" % path, conn, "?")
        made._create(revision)
        return made

    @classmethod
    def postgresql(cls, url: str, revision: str | None) -> "GlanceDB":
        import psycopg2

        conn = psycopg2.connect(url.replace("postgresql://", "postgresql://", 1))
        conn.autocommit = True
        made = cls(url, conn, "%s")
        made._create(revision)
        return made

    def _create(self, revision: str | None) -> None:
        for statement in ddl(revision):
            self.execute(statement)
        if revision is not None:
            self.insert("alembic_version", version_num=revision)

    def execute(self, sql: str, params=()) -> None:
        cur = self._conn.cursor()
        cur.execute(sql.replace("?", self._ph), tuple(params))
        cur.close()

    def insert(self, table: str, **row) -> None:
        if table not in ("images", "tasks", "alembic_version",
                         "metadef_namespace_resource_types") and "id" not in row:
            self._ids[table] = self._ids.get(table, 0) + 1
            row["id"] = self._ids[table]
        names = ", ".join(row)
        marks = ", ".join("?" * len(row))
        self.execute("INSERT INTO %s (%s) VALUES (%s)" % (table, names, marks),
                     list(row.values()))

    def update(self, table: str, where: str, params, **values) -> None:
        sets = ", ".join("%s = ?" % k for k in values)
        self.execute("UPDATE %s SET %s WHERE %s" % (table, sets, where),
                     list(values.values()) + list(params))

    def close(self) -> None:
        self._conn.close()
