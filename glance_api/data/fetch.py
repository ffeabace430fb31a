"""Background fetches: the api copies an image's data from a URL itself.

v1's x-glance-api-copy-from today; v2's web-download and copy-image will
use the same pool. A fetch runs in the background (the client is answered
with the image queued) on a small bounded pool, through the same upload
path as a client's bytes: size cap, quota, checksums, heartbeat, and the
caller's failure policy. The http store checks the URL and every redirect
against [import_filtering_opts], so the api cannot be turned against
addresses it should not reach.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable

from glance_api.data.upload import KILL
from glance_api.data.upload import OnFailure
from glance_api.data.upload import Uploader
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


class Fetcher:
    """Runs fetch jobs, at most ``workers`` at a time; more wait their turn."""

    def __init__(self, uploader: Uploader, workers: int):
        self._uploader = uploader
        # Threads start on first submit, so building this before gunicorn
        # forks its workers is safe.
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="glance-fetch")

    def start(self, ctx: RequestContext, image: dict, url: str, *,
              size: int | None, store: str | None,
              on_failure: OnFailure = KILL) -> None:
        """Copy ``url`` into the queued ``image`` in the background."""
        self._pool.submit(self._fetch, ctx, image, url, size, store, on_failure)

    def stop(self) -> None:
        """Stop taking jobs; running ones are abandoned to the sweep."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _fetch(self, ctx: RequestContext, image: dict, url: str,
               size: int | None, store: str | None, on_failure: OnFailure) -> None:
        uploader, image_id = self._uploader, image["id"]
        try:
            with uploader.stores.get(url) as data:
                uploader.upload(ctx, image, ChunkStream(data),
                                size=size if size is not None else data.size,
                                checksum=image.get("checksum"), store=store,
                                on_failure=on_failure)
            LOG.info("Fetched the data of image %s from its URL", image_id)
            return
        except store_exc.GlanceStoreError as exc:
            LOG.warning("Fetching the data of image %s failed: %s", image_id, exc)
        except Exception:
            LOG.exception("Fetching the data of image %s failed", image_id)
        # If the source failed before any byte was stored, the image is
        # still queued and nothing will ever fill it; otherwise the upload
        # path has already recorded the outcome and this changes nothing.
        if on_failure.status != "queued":
            uploader.fail(ctx, image_id, on_failure, from_state="queued")
