"""Background fetches: the api copies an image's data from a URL itself.

v1's x-glance-api-copy-from today; v2's web-download and copy-image will
use the same pool. A fetch runs in the background (the client is answered
with the image queued) on a small bounded pool, through the same upload
path as a client's bytes: size cap, quota, checksums, heartbeat, and the
caller's failure policy. The http store checks the URL and every redirect
against [import_filtering_opts], so the api cannot be turned against
addresses it should not reach.

A queued image waiting for a fetch is owed one by this process alone, so
the registry is told (``fetch_pending``) before the job is queued, and the
process vouches for it again every heartbeat interval until the upload
takes the image to ``saving`` (from then on the upload's own heartbeat
counts). If the process dies first, the vouching stops and the sweep
(data.sweep) fails the image instead of leaving it queued for ever.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable

from glance_api import registry_client
from glance_api.data.upload import KILL
from glance_api.data.upload import OnFailure
from glance_api.data.upload import Uploader
from glance_api.exceptions import ImageRefused
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


@dataclasses.dataclass
class _Owed:
    """A fetch this process owes a queued image."""

    ctx: RequestContext
    image_id: str
    cancelled: bool = False  # the image left queued before the job began


class Fetcher:
    """Runs fetch jobs, at most ``workers`` at a time; more wait their turn."""

    def __init__(self, uploader: Uploader, workers: int):
        self._uploader = uploader
        # Threads start on first submit, so building this before gunicorn
        # forks its workers is safe.
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="glance-fetch")
        self._owed: dict[str, _Owed] = {}
        self._lock = threading.Lock()  # guards _owed and _beating
        self._beating: threading.Thread | None = None
        self._stopped = threading.Event()

    def start(self, ctx: RequestContext, image: dict, url: str, *,
              size: int | None, store: str | None,
              on_failure: OnFailure = KILL) -> None:
        """Copy ``url`` into the queued ``image`` in the background.

        The registry records first that the image is owed a fetch (Conflict
        when it is no longer queued), so a fetch lost with this process is
        swept rather than forgotten.
        """
        self._uploader.registry.vouch_for_fetch(ctx, image["id"], True)
        owed = _Owed(ctx, image["id"])
        with self._lock:
            self._owed[owed.image_id] = owed
            self._start_beating()
        self._pool.submit(self._fetch, owed, image, url, size, store, on_failure)

    def stop(self) -> None:
        """Stop taking jobs; running and waiting ones are abandoned to the sweep."""
        self._stopped.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def beat(self) -> None:
        """Vouch again for every fetch owed that has not begun saving."""
        with self._lock:
            owed = list(self._owed.values())
        for job in owed:
            try:
                self._uploader.registry.vouch_for_fetch(job.ctx, job.image_id, True)
            except (registry_client.NotFound, registry_client.Conflict):
                # No longer queued: its upload began (and beats for itself),
                # or it was deleted or swept, and then it needs no fetch.
                job.cancelled = True
                self._forget(job)
            except registry_client.Error as exc:
                LOG.warning("Could not vouch for the fetch of image %s: %s",
                            job.image_id, exc)

    def _start_beating(self) -> None:
        # Called with the lock held, from a request: after gunicorn's fork.
        if self._beating is None or not self._beating.is_alive():
            self._beating = threading.Thread(target=self._beat_loop, daemon=True,
                                             name="glance-fetch-heartbeat")
            self._beating.start()

    def _beat_loop(self) -> None:
        while not self._stopped.wait(self._uploader.heartbeat_interval):
            try:
                self.beat()
            except Exception:
                LOG.exception("Vouching for pending fetches failed")

    def _forget(self, job: _Owed) -> None:
        with self._lock:
            if self._owed.get(job.image_id) is job:
                del self._owed[job.image_id]

    def _fetch(self, job: _Owed, image: dict, url: str,
               size: int | None, store: str | None, on_failure: OnFailure) -> None:
        uploader, ctx, image_id = self._uploader, job.ctx, image["id"]
        if job.cancelled:
            LOG.info("Not fetching the data of image %s: it is no longer queued",
                     image_id)
            return
        try:
            with uploader.stores.get(url) as data:
                uploader.upload(ctx, image, ChunkStream(data),
                                size=size if size is not None else data.size,
                                checksum=image.get("checksum"), store=store,
                                on_failure=on_failure)
            LOG.info("Fetched the data of image %s from its URL", image_id)
            return
        except (store_exc.GlanceStoreError, ImageRefused) as exc:
            LOG.warning("Fetching the data of image %s failed: %s", image_id, exc)
        except Exception:
            LOG.exception("Fetching the data of image %s failed", image_id)
        finally:
            self._forget(job)
        # If the source failed before any byte was stored, the image is
        # still queued and nothing will ever fill it; otherwise the upload
        # path has already recorded the outcome and this changes nothing.
        # Leaving queued forgets the pending fetch in the registry too.
        if on_failure.status != "queued":
            uploader.fail(ctx, image_id, on_failure, from_state="queued")
            return
        try:
            uploader.registry.vouch_for_fetch(ctx, image_id, False)
        except (registry_client.NotFound, registry_client.Conflict):
            pass  # no longer queued: the upload path recorded the outcome
        except registry_client.Error as exc:
            LOG.warning("Could not record that image %s waits for no fetch: %s",
                        image_id, exc)
