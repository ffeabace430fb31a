"""The deferred database every model uses, and how a URL becomes a connection."""

from __future__ import annotations

import logging
import select
from urllib.parse import urlparse

import peewee
from playhouse import db_url
from playhouse.pool import PooledPostgresqlDatabase
from playhouse.pool import PooledSqliteDatabase

from glance_registry import errors

LOG = logging.getLogger(__name__)

# Bound to a real database by bind(); models refer to this proxy only.
database = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
}
SQLITE_BUSY_TIMEOUT = 30  # seconds a writer waits for the lock


def make_database(url: str, max_pool_size: int = 10, pool_timeout: int = 30,
                  recycle_time: int = 3600) -> peewee.Database:
    """Build an unconnected database object for a ``[database] connection`` URL."""
    scheme = urlparse(url).scheme
    params = db_url.parse(url)
    name = params.pop("database", None)
    if scheme.startswith("sqlite"):
        if not name:
            raise errors.ConfigError("No SQLite path in %r" % url)
        # IMMEDIATE: a write transaction takes the lock up front, so two
        # writers queue on the busy timeout instead of deadlocking. Pooled:
        # opening a connection and setting its pragmas cost as much as the
        # query of a typical request.
        return PooledSqliteDatabase(
            name, pragmas=SQLITE_PRAGMAS, timeout=SQLITE_BUSY_TIMEOUT,
            lock_type="IMMEDIATE", max_connections=max_pool_size,
            stale_timeout=recycle_time, check_same_thread=False)
    if scheme in ("postgresql", "postgres", "postgresql+psycopg2"):
        if not name:
            raise errors.ConfigError("No database name in %r" % url)
        params.setdefault("connect_timeout", 10)
        return _PooledPostgresqlDatabase(
            name, max_connections=max_pool_size, timeout=pool_timeout,
            stale_timeout=recycle_time, **params)
    raise errors.ConfigError("Unsupported database URL scheme %r" % scheme)


class _PooledPostgresqlDatabase(PooledPostgresqlDatabase):
    """Checks a pooled connection before handing it out, without a round trip.

    peewee's pool sends ``SELECT 1`` on every checkout, which is every
    request here. A backend that ended (``pg_terminate_backend``, a server
    restart) has sent its last message and closed the socket, while an idle
    live one sends nothing: a readable socket is a dead connection.
    """

    def _is_closed(self, conn) -> bool:
        adapter = self._adapter
        if conn.closed or adapter.txn_status(conn) != adapter.txn_idle:
            # Gone, or left mid-transaction: peewee's own check decides
            # (a rollback, or replacing it).
            return super()._is_closed(conn)
        try:
            poller = select.poll()
            poller.register(conn.fileno(), select.POLLIN)
            return bool(poller.poll(0))
        except (OSError, ValueError):
            return True


def bind(conf) -> peewee.Database:
    """Point the models at the database ``conf`` names and return it."""
    new = make_database(conf.database.connection,
                        conf.database.max_pool_size,
                        conf.database.pool_timeout,
                        conf.database.connection_recycle_time)
    bind_database(new)
    return new


def bind_database(new: peewee.Database) -> None:
    """Point the models at ``new``, closing what the previous database held."""
    old = database.obj
    if old is not None and old is not new:
        close_all(old)
    database.initialize(new)


def close_all(db: peewee.Database) -> None:
    """Close every connection ``db`` holds (pooled ones included)."""
    if isinstance(db, (PooledPostgresqlDatabase, PooledSqliteDatabase)):
        db.close_all()
    elif not db.is_closed():
        db.close()


def is_postgresql() -> bool:
    """True when the bound database is PostgreSQL."""
    return isinstance(database.obj, peewee.PostgresqlDatabase)


def warn_without_autovacuum(db: peewee.Database) -> None:
    """Log a warning when PostgreSQL will not keep the planner's statistics.

    Without statistics a list page scans whole tables (see
    migrations.refresh_statistics); with autovacuum off, someone must run
    ANALYZE as the image tables grow.
    """
    if not isinstance(db, peewee.PostgresqlDatabase):
        return
    try:
        with db.connection_context():
            setting = db.execute_sql("SHOW autovacuum").fetchone()[0]
    except peewee.DatabaseError as exc:
        LOG.debug("Could not read the autovacuum setting: %s", exc)
        return
    finally:
        # This runs before gunicorn forks its workers: a pooled connection
        # left open here would be one socket shared by every worker.
        close_all(db)
    if setting != "on":
        LOG.warning("PostgreSQL's autovacuum is off: run ANALYZE on the image "
                    "tables as they grow, or image lists will scan whole tables")
