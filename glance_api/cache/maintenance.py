"""What operators run against a node's cache: pruner, cleaner, prefetcher.

Each is a plain function over a ``CacheStore`` (and, for the cleaner and
the prefetcher, the registry), called by the console scripts in
``glance_api.cache.cmd`` and, for the prefetcher, by the api itself every
``cache_prefetcher_interval`` seconds.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time

from glance_api import registry_client
from glance_api.cache import fill
from glance_api.cache.store import CacheStore
from glance_api.data import download
from glance_common.context import RequestContext

LOG = logging.getLogger(__name__)


def admin_context() -> RequestContext:
    """The identity the cache tools ask the registry with."""
    return RequestContext.build("glance-cache", None, ["admin"])


def prune(cache: CacheStore) -> list[str]:
    """Evict least recently used images until the cache fits its size; their ids."""
    evicted = cache.prune()
    for image_id in evicted:
        LOG.info("Pruned image %s from the cache", image_id)
    return evicted


@dataclasses.dataclass
class CleanReport:
    """What the cleaner removed."""

    stalled: list[str] = dataclasses.field(default_factory=list)
    invalid: list[str] = dataclasses.field(default_factory=list)
    retired: list[str] = dataclasses.field(default_factory=list)


def clean(cache: CacheStore, registry=None, now: float | None = None) -> CleanReport:
    """Remove stalled fills, files the index does not know, and (asking the
    registry, when given) cached copies of images no longer active."""
    now = time.time() if now is None else now
    report = CleanReport()
    _clean_incomplete(cache, now, report)
    known = {entry.image_id for entry in cache.entries()}
    for name in os.listdir(cache.directory):
        path = os.path.join(cache.directory, name)
        if cache.valid_id(name) and os.path.isfile(path) and name not in known:
            os.unlink(path)
            report.invalid.append(name)
    for image_id in known:
        if not os.path.exists(cache.path(image_id)):
            cache.index.remove(image_id)
            report.invalid.append(image_id)
    if registry is not None:
        report.retired = _retire_inactive(cache, registry, known - set(report.invalid))
    return report


def _clean_incomplete(cache: CacheStore, now: float, report: CleanReport) -> None:
    """Fills whose process died go at once; a live fill that has written nothing
    for image_cache_stall_time is stalled: its file goes and its rename fails."""
    for name in sorted(os.listdir(cache.incomplete_dir)):
        image_id = name[:-len(".lock")] if name.endswith(".lock") else name
        if not cache.valid_id(image_id):
            continue
        path = os.path.join(cache.incomplete_dir, name)
        lock = fill.FillLock.take(cache, image_id)
        try:
            if name.endswith(".lock"):
                if lock is not None and not os.path.exists(cache.incomplete_path(image_id)):
                    os.unlink(path)  # nobody fills it; the next fill makes a new one
                continue
            if lock is not None or now - os.stat(path).st_mtime >= cache.stall_time:
                os.unlink(path)
                if lock is not None:
                    cache.index.abandon(image_id)
                report.stalled.append(image_id)
        except FileNotFoundError:
            continue
        finally:
            if lock is not None:
                lock.release()


def _retire_inactive(cache: CacheStore, registry, image_ids: set[str]) -> list[str]:
    ctx, retired = admin_context(), []
    for image_id in sorted(image_ids):
        try:
            status = registry.get(ctx, image_id)["status"]
        except registry_client.NotFound:
            status = "deleted"
        if status != "active" and cache.delete(image_id):
            LOG.info("Removed image %s (%s) from the cache", image_id, status)
            retired.append(image_id)
    return retired


@dataclasses.dataclass
class PrefetchReport:
    """What the prefetcher did with each queued image."""

    cached: list[str] = dataclasses.field(default_factory=list)
    dropped: list[str] = dataclasses.field(default_factory=list)
    failed: list[str] = dataclasses.field(default_factory=list)


def prefetch(cache: CacheStore, registry, stores) -> PrefetchReport:
    """Cache every queued image that is active; drop the others from the queue.

    An image that fails to cache stays queued for the next run.
    """
    ctx, report = admin_context(), PrefetchReport()
    for image_id in cache.queued():
        try:
            image = registry.get(ctx, image_id)
        except registry_client.NotFound:
            image = None
        if image is None or image["status"] != "active" or not image.get("size"):
            cache.dequeue(image_id)
            report.dropped.append(image_id)
            LOG.info("Dropped image %s from the cache queue: not active", image_id)
            continue
        if cache.is_cached(image_id) or _fill_now(cache, stores, image):
            cache.dequeue(image_id)
            report.cached.append(image_id)
        else:
            report.failed.append(image_id)
    return report


def _fill_now(cache: CacheStore, stores, image: dict) -> bool:
    lock = fill.FillLock.take(cache, image["id"])
    if lock is None:
        return True  # being filled right now by a download
    try:
        if not fill.reserve(cache, image):
            lock.release()
            return False
        source = download.open_image(stores, image)
    except Exception as exc:
        cache.index.abandon(image["id"])
        lock.release()
        LOG.warning("Prefetch of image %s failed: %s", image["id"], exc)
        return False
    if source is None:
        cache.index.abandon(image["id"])
        lock.release()
        return False
    return fill.fill(cache, image, source, lock)


class Prefetcher:
    """Runs ``prefetch`` every interval in a daemon thread of an api worker."""

    def __init__(self, cache: CacheStore, registry, stores, interval: float):
        self._args = (cache, registry, stores)
        self._interval = interval
        self._stop = threading.Event()

    def start(self) -> None:
        """Start prefetching in this process (threads do not survive fork)."""
        if self._interval <= 0:
            return
        self._stop.clear()
        threading.Thread(target=self._loop, name="glance-cache-prefetch",
                         daemon=True).start()

    def stop(self) -> None:
        """Stop after the current run."""
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                prefetch(*self._args)
            except registry_client.Error as exc:
                LOG.warning("Cache prefetch failed: %s", exc)
            except Exception:
                LOG.exception("Cache prefetch failed")
