"""The cache's record of itself: a SQLite file under image_cache_dir.

One row per cached image (size, checksum, hits, last access) and one per fill
in progress (the bytes it will take), so every worker process of the node
sees the same totals and the cache never grows past its size. Every change
is one short ``BEGIN IMMEDIATE`` transaction, which serializes the node's
processes without a lock of our own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
import time
from typing import Callable
from typing import Iterator

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cached_images (
    image_id TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    checksum TEXT,
    last_accessed REAL NOT NULL,
    last_modified REAL NOT NULL,
    hits INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS fills (
    image_id TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    started REAL NOT NULL
);
"""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One cached image as the index records it."""

    image_id: str
    size: int
    checksum: str | None
    last_accessed: float
    last_modified: float
    hits: int

    def to_json(self) -> dict:
        """Glance's shape of a cached image in GET /v2/cache."""
        return {"image_id": self.image_id, "size": self.size, "hits": self.hits,
                "last_accessed": self.last_accessed,
                "last_modified": self.last_modified}


@dataclasses.dataclass(frozen=True)
class Reservation:
    """The answer to a request for room: granted or not, and what was evicted."""

    granted: bool
    evicted: tuple[str, ...] = ()


class Index:
    """The SQLite file that records the cache of one node."""

    def __init__(self, path: str):
        self._path = path
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # A connection per operation: cheap for a local file, and safe across
        # threads and forked workers.
        db = sqlite3.connect(self._path, timeout=30, isolation_level=None)
        try:
            yield db
        finally:
            db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def get(self, image_id: str) -> Entry | None:
        """The cached image's entry, or None."""
        with self._connect() as db:
            row = db.execute("SELECT image_id, size, checksum, last_accessed, "
                             "last_modified, hits FROM cached_images WHERE image_id = ?",
                             (image_id,)).fetchone()
        return Entry(*row) if row else None

    def entries(self) -> list[Entry]:
        """Every cached image, least recently used first."""
        with self._connect() as db:
            rows = db.execute("SELECT image_id, size, checksum, last_accessed, "
                              "last_modified, hits FROM cached_images "
                              "ORDER BY last_accessed, image_id").fetchall()
        return [Entry(*row) for row in rows]

    def hit(self, image_id: str) -> None:
        """Count one serve from the cache and make the image most recently used."""
        with self._transaction() as db:
            db.execute("UPDATE cached_images SET hits = hits + 1, last_accessed = ? "
                       "WHERE image_id = ?", (time.time(), image_id))

    def reserve(self, image_id: str, size: int, max_size: int,
                is_stale: Callable[[str], bool]) -> Reservation:
        """Room for a fill of ``size`` bytes, evicting least recently used images.

        Fills whose process is gone (``is_stale``) give their room back first.
        Refused when the image alone is larger than the cache or running fills
        hold the room; nothing is evicted then.
        """
        if size > max_size:
            return Reservation(False)
        with self._transaction() as db:
            for (other,) in db.execute("SELECT image_id FROM fills").fetchall():
                if other == image_id or is_stale(other):
                    db.execute("DELETE FROM fills WHERE image_id = ?", (other,))
            filling = db.execute("SELECT COALESCE(SUM(size), 0) FROM fills").fetchone()[0]
            cached = db.execute("SELECT image_id, size FROM cached_images "
                                "ORDER BY last_accessed, image_id").fetchall()
            used = filling + sum(s for _, s in cached)
            evicted = []
            for victim, victim_size in cached:
                if used + size <= max_size:
                    break
                evicted.append(victim)
                used -= victim_size
            if used + size > max_size:
                return Reservation(False)
            for victim in evicted:
                db.execute("DELETE FROM cached_images WHERE image_id = ?", (victim,))
            db.execute("INSERT INTO fills (image_id, size, started) VALUES (?, ?, ?)",
                       (image_id, size, time.time()))
        return Reservation(True, tuple(evicted))

    def complete(self, image_id: str, size: int, checksum: str | None) -> None:
        """Turn the fill of ``image_id`` into a cached image."""
        now = time.time()
        with self._transaction() as db:
            db.execute("DELETE FROM fills WHERE image_id = ?", (image_id,))
            db.execute("INSERT OR REPLACE INTO cached_images (image_id, size, checksum, "
                       "last_accessed, last_modified, hits) VALUES (?, ?, ?, ?, ?, 0)",
                       (image_id, size, checksum, now, now))

    def abandon(self, image_id: str) -> None:
        """Give back the room of a fill that did not complete."""
        with self._transaction() as db:
            db.execute("DELETE FROM fills WHERE image_id = ?", (image_id,))

    def fills(self) -> list[tuple[str, int, float]]:
        """(image_id, size, started) of every fill recorded as running."""
        with self._connect() as db:
            return db.execute("SELECT image_id, size, started FROM fills").fetchall()

    def remove(self, image_id: str) -> bool:
        """Forget a cached image; True if it was cached."""
        with self._transaction() as db:
            return db.execute("DELETE FROM cached_images WHERE image_id = ?",
                              (image_id,)).rowcount > 0

    def evict_to(self, max_size: int) -> list[str]:
        """Forget least recently used images until the cache holds ``max_size`` or less."""
        with self._transaction() as db:
            filling = db.execute("SELECT COALESCE(SUM(size), 0) FROM fills").fetchone()[0]
            cached = db.execute("SELECT image_id, size FROM cached_images "
                                "ORDER BY last_accessed, image_id").fetchall()
            used = filling + sum(s for _, s in cached)
            evicted = []
            for victim, victim_size in cached:
                if used <= max_size:
                    break
                db.execute("DELETE FROM cached_images WHERE image_id = ?", (victim,))
                evicted.append(victim)
                used -= victim_size
        return evicted
