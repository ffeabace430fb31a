"""Shared fixtures: databases (SQLite and PostgreSQL) and configuration.

PostgreSQL: a fresh database per test run on 127.0.0.1:5432 (user postgres,
trust auth), dropped at the end. When the server is unreachable the
PostgreSQL variants are skipped, except under CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.required import unavailable  # noqa: E402  (needs REPO_ROOT on the path)

PG_HOST = os.environ.get("GLANCE_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("GLANCE_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("GLANCE_TEST_PG_USER", "postgres")
DATABASES = ("sqlite", "postgresql")


class PostgresServer:
    """A reachable PostgreSQL server on which tests create throwaway databases."""

    def __init__(self, host: str, port: int, user: str):
        self.host, self.port, self.user = host, port, user
        self.created: list[str] = []

    def url(self, name: str) -> str:
        """The ``[database] connection`` URL of database ``name``."""
        return "postgresql://%s@%s:%d/%s" % (self.user, self.host, self.port, name)

    def admin_connection(self, dbname: str = "postgres"):
        """An autocommit psycopg2 connection (close it when done)."""
        import psycopg2
        conn = psycopg2.connect(host=self.host, port=self.port, user=self.user,
                                dbname=dbname, connect_timeout=5)
        conn.autocommit = True
        return conn

    def create_database(self) -> str:
        """Create an empty database with a unique name; return its URL."""
        name = "glance_test_%d_%s" % (os.getpid(), secrets.token_hex(4))
        with self._cursor() as cur:
            cur.execute('CREATE DATABASE "%s"' % name)
        self.created.append(name)
        return self.url(name)

    def terminate_backends(self, name: str) -> int:
        """Kill every other session connected to database ``name``."""
        with self._cursor() as cur:
            cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
            return cur.fetchone()[0]

    def sessions(self, name: str) -> int:
        """How many other sessions are connected to database ``name``."""
        with self._cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
            return cur.fetchone()[0]

    def drop_all(self) -> None:
        """Drop every database this run created."""
        for name in self.created:
            self.terminate_backends(name)
            with self._cursor() as cur:
                cur.execute('DROP DATABASE IF EXISTS "%s"' % name)
        self.created.clear()

    def _cursor(self):
        conn = self.admin_connection()

        class _Cursor:
            def __enter__(self_inner):
                self_inner.cur = conn.cursor()
                return self_inner.cur

            def __exit__(self_inner, *exc):
                conn.close()

        return _Cursor()


def _reachable_postgres() -> PostgresServer | str:
    server = PostgresServer(PG_HOST, PG_PORT, PG_USER)
    try:
        server.admin_connection().close()
    except Exception as exc:  # any driver error means "not reachable"
        return "PostgreSQL at %s:%d unreachable: %s" % (PG_HOST, PG_PORT, exc)
    return server


@pytest.fixture(scope="session")
def postgres():
    """The PostgreSQL server; skips (fails under CI) when it is unreachable."""
    server = _reachable_postgres()
    if isinstance(server, str):
        unavailable(server)
    yield server
    server.drop_all()


@pytest.fixture(scope="session")
def postgres_registry_url(postgres):
    """One migrated registry database for the whole run (emptied per test)."""
    from glance_registry import db
    from glance_registry import migrations
    url = postgres.create_database()
    database = db.make_database(url)
    migrations.sync(database)
    db.close_all(database)
    return url


def empty_registry_tables(postgres: PostgresServer, url: str) -> None:
    """Remove every row but the schema version from a registry database."""
    with postgres.admin_connection(url.rsplit("/", 1)[1]) as conn:
        cur = conn.cursor()
        # DELETE beats TRUNCATE on tables this small (no file rewrites).
        for table in ("image_properties", "image_tags", "image_locations",
                      "image_members", "images", "tasks"):
            cur.execute("DELETE FROM %s" % table)
    conn.close()


@pytest.fixture(params=DATABASES)
def db_url(request, tmp_path):
    """A migrated, empty registry database URL: SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        from glance_registry import db
        from glance_registry import migrations
        url = "sqlite:///%s" % (tmp_path / "glance.sqlite")
        database = db.make_database(url)
        migrations.sync(database)
        db.close_all(database)
        return url
    postgres = request.getfixturevalue("postgres")
    url = request.getfixturevalue("postgres_registry_url")
    empty_registry_tables(postgres, url)
    return url


@pytest.fixture(params=DATABASES)
def empty_db_url(request, tmp_path):
    """A URL to a database with no tables at all, on each database."""
    if request.param == "sqlite":
        return "sqlite:///%s" % (tmp_path / "empty.sqlite")
    return request.getfixturevalue("postgres").create_database()


# --- A real Swift cluster on 127.0.0.1 -----------------------------------

@pytest.fixture(scope="session")
def swift_cluster():
    """A Swift all-in-one (tempauth + s3api) for the whole test run.

    Started on first use, stopped at the end; see tests/swift.py. When it
    cannot start, its tests are skipped, except under CI (``CI`` set),
    where they fail.
    """
    from tests import swift

    try:
        cluster = swift.start_cluster()
    except Exception as exc:  # any setup failure: report it, then skip
        message = f"cannot start the Swift test cluster: {exc}"
        unavailable(message)
    yield cluster
    cluster.stop()
