"""The cache directory of one node, and what it holds.

    <image_cache_dir>/<image_id>               a cached image, complete and verified
    <image_cache_dir>/incomplete/<image_id>    a fill in progress
    <image_cache_dir>/incomplete/<id>.lock     held (flock) by the process filling it
    <image_cache_dir>/queue/<image_id>         queued for the prefetcher
    <image_cache_dir>/<image_cache_sqlite_db>  the index (glance_api.cache.index)

A fill is written under ``incomplete/`` and renamed into place only once its
size and checksum match the image, so a cached file is always whole.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
from typing import IO

from glance_api.cache.index import Entry
from glance_api.cache.index import Index
from glance_api.cache.index import Reservation

LOG = logging.getLogger(__name__)
# Image ids are UUIDs; anything else (a path, a dot) never becomes a file name.
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


class CacheStore:
    """One node's image cache on local disk."""

    def __init__(self, directory: str, max_size: int, stall_time: int,
                 db_name: str = "cache.db"):
        self.directory = os.path.abspath(directory)
        self.max_size = max_size
        self.stall_time = stall_time
        self.incomplete_dir = os.path.join(self.directory, "incomplete")
        self.queue_dir = os.path.join(self.directory, "queue")
        for path in (self.directory, self.incomplete_dir, self.queue_dir):
            os.makedirs(path, exist_ok=True)
        self.db_path = os.path.join(self.directory, db_name)
        self.index = Index(self.db_path)

    @classmethod
    def from_conf(cls, conf) -> "CacheStore | None":
        """The cache ``image_cache_dir`` names; None when it is not set."""
        if not conf.image_cache_dir:
            return None
        return cls(conf.image_cache_dir, conf.image_cache_max_size,
                   conf.image_cache_stall_time, conf.image_cache_sqlite_db)

    @staticmethod
    def valid_id(image_id: str) -> bool:
        """True when ``image_id`` can name a file here."""
        return bool(_SAFE_ID.match(image_id or ""))

    def path(self, image_id: str) -> str:
        """Where the cached copy of ``image_id`` lives."""
        if not self.valid_id(image_id):
            raise ValueError("not an image id: %r" % image_id)
        return os.path.join(self.directory, image_id)

    def incomplete_path(self, image_id: str) -> str:
        """Where a fill of ``image_id`` writes."""
        return os.path.join(self.incomplete_dir, os.path.basename(self.path(image_id)))

    def lock_path(self, image_id: str) -> str:
        """The file whose flock says who fills ``image_id``."""
        return self.incomplete_path(image_id) + ".lock"

    # Cached images

    def open_cached(self, image_id: str, checksum: str | None, size: int) -> IO[bytes] | None:
        """The cached copy of an image of this checksum and size, opened; None if absent.

        A copy that does not match the image as recorded now (its data was
        replaced, or the file was damaged) is removed, never served.
        """
        if not self.valid_id(image_id):
            return None
        entry = self.index.get(image_id)
        if entry is None:
            return None
        if entry.checksum != checksum or entry.size != size:
            LOG.warning("Cached image %s does not match its record; removing it", image_id)
            self.delete(image_id)
            return None
        try:
            fileobj = open(self.path(image_id), "rb")
        except FileNotFoundError:
            self.index.remove(image_id)
            return None
        if os.fstat(fileobj.fileno()).st_size != size:
            fileobj.close()
            LOG.warning("Cached file of image %s has the wrong size; removing it", image_id)
            self.delete(image_id)
            return None
        self.index.hit(image_id)
        return fileobj

    def is_cached(self, image_id: str) -> bool:
        """True when a complete copy of ``image_id`` is recorded and on disk."""
        return (self.valid_id(image_id) and self.index.get(image_id) is not None
                and os.path.exists(self.path(image_id)))

    def entries(self) -> list[Entry]:
        """Every cached image, least recently used first."""
        return self.index.entries()

    def delete(self, image_id: str) -> bool:
        """Remove the cached copy of ``image_id``; True if there was one.

        Readers that have the file open finish reading it.
        """
        if not self.valid_id(image_id):
            return False
        known = self.index.remove(image_id)
        return _unlink(self.path(image_id)) or known

    def clear(self) -> int:
        """Remove every cached image; returns how many there were."""
        return sum(1 for entry in self.entries() if self.delete(entry.image_id))

    def reserve(self, image_id: str, size: int) -> Reservation:
        """Room for a fill, evicting least recently used images (their files too)."""
        reservation = self.index.reserve(image_id, size, self.max_size,
                                         is_stale=lambda other: not self.is_filling(other))
        for victim in reservation.evicted:
            _unlink(self.path(victim))
            LOG.info("Evicted image %s from the cache to make room", victim)
        return reservation

    def prune(self) -> list[str]:
        """Evict least recently used images until the cache fits image_cache_max_size."""
        evicted = self.index.evict_to(self.max_size)
        for victim in evicted:
            _unlink(self.path(victim))
        return evicted

    def is_filling(self, image_id: str) -> bool:
        """True while some process holds the fill lock of ``image_id``."""
        try:
            fd = os.open(self.lock_path(image_id), os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return True
            raise
        finally:
            os.close(fd)
        return False

    # The prefetch queue

    def queue(self, image_id: str) -> bool:
        """Queue ``image_id`` for the prefetcher; False if it is cached already."""
        if self.is_cached(image_id):
            return False
        with open(os.path.join(self.queue_dir, os.path.basename(self.path(image_id))), "a"):
            pass
        return True

    def queued(self) -> list[str]:
        """The queued image ids, oldest first."""
        names = [n for n in os.listdir(self.queue_dir) if self.valid_id(n)]
        return sorted(names, key=lambda n: _mtime(os.path.join(self.queue_dir, n)))

    def dequeue(self, image_id: str) -> bool:
        """Take ``image_id`` off the queue; True if it was queued."""
        if not self.valid_id(image_id):
            return False
        return _unlink(os.path.join(self.queue_dir, image_id))

    def clear_queue(self) -> int:
        """Empty the queue; returns how many were queued."""
        return sum(1 for image_id in self.queued() if self.dequeue(image_id))


def _unlink(path: str) -> bool:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except FileNotFoundError:
        return 0.0
