"""The download handlers' way into the cache: ``open_image``.

It decides from the image record the handler has just read from the
registry, never from the cache alone: only an ``active`` image is served
from (or put into) the cache, and only a copy of its current checksum and
size, so an image deleted or deactivated through any node is never served
from any node's cache.
"""

from __future__ import annotations

import logging

from glance_api.cache import fill
from glance_api.cache.store import CacheStore
from glance_api.data import download
from glance_store import ImageData

LOG = logging.getLogger(__name__)


def open_image(cache: CacheStore | None, stores, image: dict, offset: int = 0,
               length: int | None = None) -> ImageData | None:
    """``download.open_image``, through this node's cache when it has one."""
    if cache is None or image.get("status") != "active" or not image.get("size") \
            or not cache.valid_id(image.get("id") or ""):
        return download.open_image(stores, image, offset, length)
    size = image["size"]
    cached = cache.open_cached(image["id"], image.get("checksum"), size)
    if cached is not None:
        return _from_file(cached, offset, size - offset if length is None else length)
    if offset or length is not None:
        # A range of an uncached image comes from the store; caching waits
        # for a whole download.
        return download.open_image(stores, image, offset, length)
    lock = fill.FillLock.take(cache, image["id"])
    if lock is not None:
        return _fill_and_follow(cache, stores, image, lock)
    return _follow(cache, stores, image)


def _fill_and_follow(cache: CacheStore, stores, image: dict,
                     lock: fill.FillLock) -> ImageData | None:
    try:
        cached = cache.open_cached(image["id"], image.get("checksum"), image["size"])
        if cached is not None:  # filled by another process just before we locked
            lock.release()
            return _from_file(cached, 0, image["size"])
        if not fill.reserve(cache, image):
            lock.release()
            return download.open_image(stores, image)
        # Opened here, not in the fill thread, so a store that refuses
        # answers this request with its proper error before any byte is sent.
        source = download.open_image(stores, image)
    except BaseException:
        cache.index.abandon(image["id"])
        lock.release()
        raise
    if source is None:
        cache.index.abandon(image["id"])
        lock.release()
        return None
    fill.start_fill(cache, image, source, lock)
    return _follow(cache, stores, image)


def _follow(cache: CacheStore, stores, image: dict) -> ImageData:
    size = image["size"]

    def open_rest(position: int) -> ImageData:
        LOG.info("Reading image %s from the store from byte %d", image["id"], position)
        return download.open_image(stores, image, position, size - position)

    chunks = fill.follow(cache, image["id"], size, open_rest)
    return ImageData(chunks, size)


def _from_file(fileobj, offset: int, length: int) -> ImageData:
    fileobj.seek(offset)
    left = [length]

    def chunks():
        while left[0] > 0:
            chunk = fileobj.read(min(fill.CHUNK, left[0]))
            if not chunk:
                raise OSError("cached file ended early")
            left[0] -= len(chunk)
            yield chunk

    return ImageData(chunks(), length, fileobj=fileobj, close=fileobj.close)
