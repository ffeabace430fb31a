"""x-glance-api-copy-from: the api fetches an image's data from a URL itself.

The copy runs in the background (the client gets 201 with the image queued)
on a small bounded pool, through the same upload path as a client's bytes:
size cap, quota, checksums, heartbeat, and ``killed`` on any failure. The
http store checks the URL and every redirect against [import_filtering_opts],
so the api cannot be turned against addresses it should not reach.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable

from glance_api import upload
from glance_api.registry import RegistryError, RegistryUnavailable
from glance_common.context import RequestContext
from glance_store import exceptions as store_exc

LOG = logging.getLogger(__name__)


class ChunkStream:
    """A file-like view of an iterator of byte chunks (short reads allowed)."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks = iter(chunks)
        self._current = memoryview(b"")

    def read(self, size: int = -1) -> bytes:
        if not self._current:
            self._current = memoryview(next(self._chunks, b""))
        if size < 0 or size >= len(self._current):
            piece, self._current = self._current, memoryview(b"")
        else:
            piece, self._current = self._current[:size], self._current[size:]
        return bytes(piece)


class Copier:
    """Runs copy-from jobs, at most ``workers`` at a time."""

    def __init__(self, services, workers: int):
        self._services = services
        # Threads start on first submit, so building this before gunicorn
        # forks its workers is safe.
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="glance-copy")

    def start(self, ctx: RequestContext, image: dict, url: str, *,
              size: int | None, store: str | None) -> None:
        """Copy ``url`` into ``image`` in the background."""
        self._pool.submit(self._copy, ctx, image, url, size, store)

    def _copy(self, ctx: RequestContext, image: dict, url: str,
              size: int | None, store: str | None) -> None:
        services, image_id = self._services, image["id"]
        try:
            with services.stores.get(url) as data:
                upload.upload(ctx, services, image, ChunkStream(data),
                              size=size if size is not None else data.size,
                              checksum=image.get("checksum"), store=store,
                              from_client=False)
            LOG.info("Copied image %s from its copy-from URL", image_id)
        except store_exc.GlanceStoreError as exc:
            # The source failed before any byte was stored: the image is
            # still queued, and nothing will ever fill it.
            LOG.warning("Copy-from for image %s failed: %s", image_id, exc)
            _kill_queued(ctx, services.registry, image_id)
        except Exception:
            LOG.exception("Copy-from for image %s failed", image_id)
            _kill_queued(ctx, services.registry, image_id)


def _kill_queued(ctx: RequestContext, registry, image_id: str) -> None:
    try:
        registry.update(ctx, image_id, {"status": "killed"}, from_state="queued")
    except (RegistryError, RegistryUnavailable):
        pass  # not queued any more: the upload path already recorded the outcome
