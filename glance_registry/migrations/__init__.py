"""Numbered schema migrations, applied in order by ``glance-manage db sync``.

Each module ``NNNN_<what>.py`` holds ``upgrade(db)``, which must work on
SQLite and PostgreSQL and must not import glance_registry.models (the models
describe the newest schema; a migration describes one step, frozen in time).
The ``schema_version`` table records every applied number.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import re

import peewee

from glance_registry.models import SchemaVersion

_NAME = re.compile(r"^(\d{4})_\w+$")


@dataclasses.dataclass(frozen=True)
class Migration:
    """One numbered migration module."""

    version: int
    name: str

    def upgrade(self, db: peewee.Database) -> None:
        """Run this migration's upgrade on ``db``."""
        module = importlib.import_module("%s.%s" % (__name__, self.name))
        module.upgrade(db)


def available() -> list[Migration]:
    """Every migration shipped with the code, oldest first."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        match = _NAME.match(info.name)
        if match:
            found.append(Migration(int(match.group(1)), info.name))
    return sorted(found, key=lambda m: m.version)


def current_version(db: peewee.Database) -> int | None:
    """The newest applied migration, or None for an empty database."""
    if not db.table_exists(SchemaVersion._meta.table_name):
        return None
    with SchemaVersion.bind_ctx(db):
        newest = SchemaVersion.select(peewee.fn.MAX(SchemaVersion.version)).scalar()
    return newest


def head_version() -> int:
    """The newest migration the code knows."""
    return available()[-1].version


def sync(db: peewee.Database) -> list[int]:
    """Apply every migration newer than the database's version; return those applied."""
    with SchemaVersion.bind_ctx(db):
        db.create_tables([SchemaVersion], safe=True)
    current = current_version(db) or 0
    applied = []
    for migration in available():
        if migration.version <= current:
            continue
        with db.atomic():
            migration.upgrade(db)
            with SchemaVersion.bind_ctx(db):
                SchemaVersion.create(version=migration.version)
        applied.append(migration.version)
    if applied and isinstance(db, peewee.PostgresqlDatabase):
        refresh_statistics(db)
    return applied


# The tables whose statistics the list and lookup queries' plans depend on.
STATISTICS_TABLES = ("images", "image_properties", "image_tags",
                     "image_locations", "image_members")


def refresh_statistics(db: peewee.Database) -> None:
    """ANALYZE the image tables (PostgreSQL).

    A new index, above all an expression index, has no statistics until
    the next ANALYZE; without any, PostgreSQL guessed the properties of
    twenty images at 1,500 rows and scanned the whole table for every page
    (30 ms at 100,000 images instead of 0.1 ms). autovacuum keeps them
    fresh as tables grow; this covers the moment right after a migration.
    """
    db.execute_sql("ANALYZE " + ", ".join(STATISTICS_TABLES))
