"""Filling the cache: one store read per image, however many clients ask.

The process that takes an image's fill lock (a non-blocking flock, so it
works across the node's worker processes) reads the store once, writing
``incomplete/<id>``; it renames the file into place only when size and
checksum match. Every client of that image, the first one included, reads
the growing file (``follow``): when the fill ends, a follower either finds
the file complete or, if the fill failed or its process died, carries on
from the store at the byte it reached. No client waits for the whole fill.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import os
import threading
import time
from typing import Callable
from typing import Iterator

from glance_api.cache.store import CacheStore
from glance_store import ImageData

LOG = logging.getLogger(__name__)
CHUNK = 1 << 20
POLL = 0.002  # seconds a follower first waits for the fill to write more,
POLL_MAX = 0.05  # doubling up to this while the fill (a slow store) writes nothing
STALL = 60.0  # seconds without a new byte before a follower stops waiting

OpenRest = Callable[[int], ImageData]  # the store's bytes from an offset


class FillLock:
    """The exclusive right to fill one image on this node."""

    def __init__(self, fd: int):
        self._fd = fd

    @classmethod
    def take(cls, cache: CacheStore, image_id: str) -> "FillLock | None":
        """The lock, or None when another thread or process holds it."""
        fd = os.open(cache.lock_path(image_id), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return None
            raise
        return cls(fd)

    def release(self) -> None:
        """Let go; followers see the fill has ended."""
        if self._fd >= 0:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = -1


class FillFailed(Exception):
    """The store's bytes did not match the image: nothing was cached."""


def reserve(cache: CacheStore, image: dict) -> bool:
    """Room in the cache for ``image`` (evicting least recently used ones); False if none."""
    if cache.reserve(image["id"], image["size"]).granted:
        return True
    LOG.info("Image %s (%d bytes) not cached: no room in the cache",
             image["id"], image["size"])
    return False


def fill(cache: CacheStore, image: dict, source: ImageData, lock: FillLock) -> bool:
    """Write ``source`` into the room ``reserve`` made for ``image``; releases
    ``lock`` and ``source``.

    True when the image is cached. A failure (the store, the disk, a size or
    checksum that does not match) leaves no file and no record behind.
    """
    image_id, size = image["id"], image["size"]
    partial = cache.incomplete_path(image_id)
    progress = [0]
    try:
        try:
            _write(partial, source, image, progress)
            os.rename(partial, cache.path(image_id))
            cache.index.complete(image_id, size, image.get("checksum"))
        except BaseException:
            _discard(partial)
            cache.index.abandon(image_id)
            raise
        LOG.info("Cached image %s: %d bytes read from the store", image_id, progress[0])
        return True
    except Exception as exc:
        LOG.warning("Caching image %s failed after %d bytes from the store: %s",
                    image_id, progress[0], exc)
        return False
    finally:
        source.close()
        lock.release()


def _write(partial: str, source: ImageData, image: dict, progress: list[int]) -> None:
    """Copy ``source`` to ``partial``, checking size and checksum; counts in ``progress``."""
    md5 = hashlib.md5(usedforsecurity=False)
    written = 0
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for chunk in source:
            md5.update(chunk)
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view):]
            written += len(chunk)
            progress[0] = written
            if written > image["size"]:
                raise FillFailed("the store holds more than %d bytes" % image["size"])
        if written != image["size"]:
            raise FillFailed("the store held %d bytes, not %d" % (written, image["size"]))
        checksum = image.get("checksum")
        if checksum and md5.hexdigest() != checksum:
            raise FillFailed("checksum %s, not %s" % (md5.hexdigest(), checksum))
        os.fdatasync(fd)  # the rename must never publish a file that is not on disk
    finally:
        os.close(fd)


def _discard(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def start_fill(cache: CacheStore, image: dict, source: ImageData, lock: FillLock) -> None:
    """Fill in a background thread, so the fill outlives the client that started it."""
    threading.Thread(target=fill, args=(cache, image, source, lock),
                     name="glance-cache-fill-%s" % image["id"], daemon=True).start()


def follow(cache: CacheStore, image_id: str, size: int, open_rest: OpenRest) -> Iterator[bytes]:
    """The image's bytes as the fill writes them, then from the store if it fails."""
    position = 0
    fd = -1
    waited_since = None
    pause = POLL
    try:
        while position < size:
            if fd < 0:
                fd = _open_partial(cache, image_id)
            chunk = os.pread(fd, min(CHUNK, size - position), position) if fd >= 0 else b""
            if chunk:
                position += len(chunk)
                waited_since, pause = None, POLL
                yield chunk
                continue
            if not cache.is_filling(image_id):
                # The fill ended: its file is whole (same inode, renamed), or
                # it failed and the rest must come from the store.
                yield from _rest(cache, image_id, size, position, open_rest)
                return
            waited_since = waited_since or time.monotonic()
            if time.monotonic() - waited_since > STALL:
                LOG.warning("Fill of image %s stalled; reading the store instead", image_id)
                yield from _from_store(open_rest, position)
                return
            time.sleep(pause)
            pause = min(pause * 2, POLL_MAX)
    finally:
        if fd >= 0:
            os.close(fd)


def _open_partial(cache: CacheStore, image_id: str) -> int:
    for path in (cache.incomplete_path(image_id), cache.path(image_id)):
        try:
            return os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
    return -1


def _rest(cache: CacheStore, image_id: str, size: int, position: int,
          open_rest: OpenRest) -> Iterator[bytes]:
    try:
        fd = os.open(cache.path(image_id), os.O_RDONLY)
    except FileNotFoundError:
        yield from _from_store(open_rest, position)
        return
    try:
        if os.fstat(fd).st_size != size:
            raise FillFailed("cached file of image %s has the wrong size" % image_id)
        while position < size:
            chunk = os.pread(fd, min(CHUNK, size - position), position)
            if not chunk:
                raise FillFailed("cached file of image %s ended early" % image_id)
            position += len(chunk)
            yield chunk
    finally:
        os.close(fd)


def _from_store(open_rest: OpenRest, position: int) -> Iterator[bytes]:
    with open_rest(position) as data:
        yield from data
