"""A Glance database, read-only, through plain DB-API drivers.

Glance's ``[database] connection`` URLs are SQLAlchemy URLs
(``mysql+pymysql://u:p@host/glance?charset=utf8``,
``postgresql://...``, ``sqlite:////var/lib/glance/glance.sqlite``); this
module opens the same database with sqlite3, psycopg2 or PyMySQL (the
``mysql`` extra) and never writes to it. Glance's schema changed little
from Queens to 2026.2, so the reader asks the database which columns each
table has (a query that returns no row) instead of trusting a release
name: a column a release lacks (``os_hidden`` before Rocky, ``visibility``
before Ocata) is simply absent from the rows.
"""

from __future__ import annotations

import dataclasses
import datetime
import sqlite3
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import unquote
from urllib.parse import urlparse

from glance_registry.errors import RegistryError

IMAGE_TABLES = ("images", "image_properties", "image_tags", "image_members",
                "image_locations")
METADEF_TABLES = ("metadef_namespaces", "metadef_objects", "metadef_properties",
                  "metadef_tags", "metadef_resource_types",
                  "metadef_namespace_resource_types")
BATCH = 500  # images whose rows are read together; bounds memory per batch

# alembic revision prefix -> the Glance release that wrote it.
RELEASES = (
    ("liberty", "Liberty"), ("mitaka", "Mitaka"), ("ocata", "Ocata"),
    ("pike", "Pike"), ("queens", "Queens"), ("rocky", "Rocky"),
    ("stein", "Stein"), ("train", "Train"), ("ussuri", "Ussuri"),
    ("victoria", "Victoria"), ("wallaby", "Wallaby"), ("xena", "Xena"),
    ("yoga", "Yoga"), ("zed", "Zed"), ("2023_1", "2023.1 (Antelope)"),
    ("2023_2", "2023.2 (Bobcat)"), ("2024_1", "2024.1 (Caracal)"),
    ("2024_2", "2024.2 (Dalmatian)"), ("2025_1", "2025.1 (Epoxy)"),
    ("2025_2", "2025.2 (Flamingo)"), ("2026_1", "2026.1 (Gazpacho)"),
    ("2026_2", "2026.2"),
)


class SourceError(RegistryError):
    """The Glance database cannot be opened or is not a Glance database."""


@dataclasses.dataclass(frozen=True)
class Schema:
    """What the Glance database holds: its revision and each table's columns."""

    revision: str | None
    columns: dict[str, frozenset[str]]

    @property
    def release(self) -> str:
        """The Glance release whose migrations last ran, as far as the revision tells."""
        if self.revision is None:
            return "unknown (no alembic_version: Glance older than Ocata?)"
        for prefix, name in RELEASES:
            if self.revision.startswith(prefix):
                return "%s (revision %s)" % (name, self.revision)
        return "revision %s" % self.revision

    def has(self, table: str, column: str | None = None) -> bool:
        """Whether ``table`` (and ``column`` in it) exists."""
        cols = self.columns.get(table)
        return cols is not None and (column is None or column in cols)


class GlanceDatabase:
    """One read-only connection to a Glance database."""

    def __init__(self, connection: Any, placeholder: str, kind: str):
        self._conn = connection
        self._ph = placeholder
        self.kind = kind
        self.schema = self._read_schema()

    # --- opening --------------------------------------------------------

    @classmethod
    def open(cls, url: str) -> "GlanceDatabase":
        """Connect to the database a Glance ``[database] connection`` URL names."""
        parts = urlparse(url)
        scheme = parts.scheme.lower()
        dialect = scheme.split("+", 1)[0]
        try:
            if dialect == "sqlite":
                return cls(_open_sqlite(url), "?", "sqlite")
            if dialect in ("postgresql", "postgres"):
                return cls(_open_postgresql(parts), "%s", "postgresql")
            if dialect == "mysql":
                return cls(_open_mysql(parts), "%s", "mysql")
        except SourceError:
            raise
        except Exception as exc:  # each driver has its own error root
            raise SourceError("Cannot read the Glance database %s: %s"
                              % (redact_url(url), exc)) from exc
        raise SourceError("Unsupported database URL scheme %r: use sqlite://, "
                          "postgresql:// or mysql+pymysql://" % parts.scheme)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    # --- schema ---------------------------------------------------------

    def _read_schema(self) -> Schema:
        columns = {}
        for table in IMAGE_TABLES + METADEF_TABLES + ("tasks", "alembic_version"):
            cols = self._columns(table)
            if cols is not None:
                columns[table] = cols
        if "images" not in columns:
            raise SourceError("This database has no images table: it is not a "
                              "Glance database.")
        if self._columns("schema_version") is not None:
            raise SourceError("This database is a glance-lite registry "
                              "database, not a Glance one.")
        revision = None
        if "alembic_version" in columns:
            rows = self.query("SELECT version_num FROM alembic_version")
            revision = rows[0]["version_num"] if rows else None
        return Schema(revision, columns)

    def _columns(self, table: str) -> frozenset[str] | None:
        cursor = self._conn.cursor()
        try:
            cursor.execute("SELECT * FROM %s WHERE 1 = 0" % table)
            return frozenset(d[0].lower() for d in cursor.description)
        except Exception:  # no such table: every driver says so differently
            self._rollback()
            return None
        finally:
            cursor.close()

    def _rollback(self) -> None:
        # PostgreSQL aborts the transaction on an error; later reads need it gone.
        try:
            self._conn.rollback()
        except Exception:  # sqlite3 outside a transaction has nothing to undo
            pass

    # --- rows -----------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Every row of ``sql`` as a dict keyed by lower-case column name."""
        cursor = self._conn.cursor()
        try:
            cursor.execute(sql.replace("?", self._ph), tuple(params))
            names = [d[0].lower() for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def image_ids(self) -> list[str]:
        """Every image id, deleted ones included."""
        return [row["id"] for row in self.query("SELECT id FROM images")]

    def image_batches(self, ids: Sequence[str]) -> Iterator["ImageRows"]:
        """The rows of ``ids`` (images and their children), BATCH images at a time."""
        for start in range(0, len(ids), BATCH):
            chunk = list(ids[start:start + BATCH])
            marks = ", ".join("?" * len(chunk))
            images = self.query("SELECT * FROM images WHERE id IN (%s)" % marks, chunk)
            children = {}
            for table in IMAGE_TABLES[1:]:
                children[table] = {} if not self.schema.has(table) else _by_image(
                    self.query("SELECT * FROM %s WHERE image_id IN (%s) ORDER BY id"
                               % (table, marks), chunk))
            for image in images:
                yield ImageRows(image, {t: rows.get(image["id"], [])
                                        for t, rows in children.items()})

    def table(self, name: str) -> list[dict[str, Any]]:
        """Every row of ``name`` ([] when this release has no such table)."""
        if not self.schema.has(name):
            return []
        return self.query("SELECT * FROM %s" % name)

    def count(self, table: str, where: str = "") -> int:
        """Rows in ``table`` (0 when it does not exist)."""
        if not self.schema.has(table):
            return 0
        rows = self.query("SELECT COUNT(*) AS n FROM %s %s" % (table, where))
        return int(rows[0]["n"])


@dataclasses.dataclass(frozen=True)
class ImageRows:
    """One Glance image row and its child rows, by table."""

    image: dict[str, Any]
    children: dict[str, list[dict[str, Any]]]


def _by_image(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["image_id"], []).append(row)
    return grouped


def _open_sqlite(url: str) -> sqlite3.Connection:
    # sqlite:////abs/path (four slashes) or sqlite:///relative/path.
    path = url.split(":///", 1)[1] if ":///" in url else ""
    path = path.split("?", 1)[0]
    if not path:
        raise SourceError("No SQLite file in %r" % url)
    try:
        return sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    except sqlite3.Error as exc:
        raise SourceError("Cannot open the SQLite file %s: %s" % (path, exc)) from exc


def _credentials(parts) -> dict[str, Any]:
    found = {"host": parts.hostname or None, "port": parts.port,
             "user": unquote(parts.username) if parts.username else None,
             "password": unquote(parts.password) if parts.password else None,
             "database": unquote(parts.path.lstrip("/")) or None}
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    return {**{k: v for k, v in found.items() if v is not None}, "query": query}


def _open_postgresql(parts) -> Any:
    import psycopg2

    creds = _credentials(parts)
    query = creds.pop("query")
    creds["dbname"] = creds.pop("database", None)
    if "host" in query:  # a Unix socket directory
        creds["host"] = query["host"]
    conn = psycopg2.connect(connect_timeout=10, **creds)
    conn.set_session(readonly=True, autocommit=True)
    return conn


def _open_mysql(parts) -> Any:
    try:
        import pymysql
    except ImportError:
        raise SourceError("Reading a MySQL or MariaDB database needs PyMySQL: "
                          "pip install 'glance-lite[mysql]'") from None
    creds = _credentials(parts)
    query = creds.pop("query")
    if "database" in creds:
        creds["db"] = creds.pop("database")
    if "passwd" not in creds and "password" in creds:
        creds["passwd"] = creds.pop("password")
    if "unix_socket" in query:
        creds["unix_socket"] = query["unix_socket"]
    conn = pymysql.connect(charset=query.get("charset", "utf8"),
                           connect_timeout=10, autocommit=True, **creds)
    with conn.cursor() as cur:
        cur.execute("SET SESSION TRANSACTION READ ONLY")
    return conn


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ***, for reports and errors."""
    parts = urlparse(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def to_datetime(value: Any) -> datetime.datetime | None:
    """A Glance timestamp (a datetime, or SQLite's text) as naive UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value
    text = str(value).strip().replace("T", " ")
    if text.endswith("Z"):
        text = text[:-1]
    return datetime.datetime.fromisoformat(text)
