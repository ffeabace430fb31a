"""The secure hash of an added location, computed in the background.

Glance leaves the checksums of an image whose data was added as a location
(a Nova snapshot, a Cinder volume, an http URL) unset unless the caller
vouched for them. With ``do_secure_hash`` a small pool of threads in each
api worker reads such a location's data through its store, in the store's
bounded chunks, and records ``checksum`` and ``os_hash_value``:

- ``record``: the image is already active with the location and
  ``os_hash_algo`` set (telling clients a hash is on its way); the hash is
  written if the image still has that location and no hash yet. If the
  data cannot be read after ``http_retries`` attempts, ``os_hash_algo`` is
  cleared again, as Glance does.
- ``verify``: the caller gave validation_data; the image stays queued while
  the data is read, and becomes active with the location and its hashes
  only if the data has the hash the caller gave (compare-and-set on
  queued). On a mismatch nothing is recorded: the image stays queued and
  the location is never used.

Each recording is a compare-and-set on the status just read, so an image
deleted, deactivated or given other data meanwhile is left alone. A job
lost with its process (before ``record`` finished) leaves an active image
whose ``os_hash_algo`` is set without a value, as Glance's would be.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from glance_api import registry_client
from glance_api.locations.redaction import safe_url
from glance_api.locations.redaction import scrub
from glance_api.locations.rules import ValidationData
from glance_common.context import RequestContext
from glance_store import exceptions as store_exc

LOG = logging.getLogger(__name__)
WORKERS = 2  # locations hashed at once per api worker process
RETRY_DELAY = 2.0  # seconds before the second attempt, doubling after
# Failures a second attempt cannot mend: the data or the URL is wrong.
FINAL_ERRORS = (store_exc.NotFound, store_exc.URLNotAllowed, store_exc.BadStoreURI,
                store_exc.UnknownScheme, store_exc.UnknownStore,
                store_exc.SizeLimitExceeded)
CAS_ATTEMPTS = 3


class Stopped(Exception):
    """The hasher was stopped while a job ran."""


@dataclasses.dataclass(frozen=True)
class Digest:
    """What reading a location's data gave."""

    size: int
    checksum: str
    os_hash_algo: str
    os_hash_value: str


@dataclasses.dataclass(frozen=True)
class HashJob:
    """Hash the data at ``location`` (a registry location) of ``image_id``.

    ``expected`` set: verify, and only then activate the queued image with
    ``location`` (and ``properties``); unset: record the hash on the image.
    """

    ctx: RequestContext
    image_id: str
    location: dict
    algorithm: str
    expected: ValidationData | None = None


class LocationHasher:
    """Reads added locations' data in the background and records their hashes."""

    def __init__(self, registry, stores, *, retries: int, size_cap: int,
                 workers: int = WORKERS, retry_delay: float = RETRY_DELAY):
        self._registry, self._stores = registry, stores
        self._attempts = max(1, retries)
        self._size_cap = size_cap
        self._retry_delay = retry_delay
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def start(self) -> None:
        """Accept jobs in this process (threads start with the first job)."""
        with self._lock:
            self._stopped.clear()
            self._pool = ThreadPoolExecutor(self._workers,
                                            thread_name_prefix="glance-location-hash")

    def stop(self) -> None:
        """Stop: waiting jobs are dropped, running ones end at their next chunk."""
        with self._lock:
            self._stopped.set()
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def submit(self, job: HashJob) -> None:
        """Run ``job`` in the background."""
        with self._lock:
            if self._pool is None:
                # Handlers may run before start() (tests, single process).
                self._pool = ThreadPoolExecutor(self._workers,
                                                thread_name_prefix="glance-location-hash")
            self._pool.submit(self._run_logged, job)

    def _run_logged(self, job: HashJob) -> None:
        try:
            self.run(job)
        except Stopped:
            LOG.info("Hashing the data of image %s stopped with the api", job.image_id)
        except Exception:
            LOG.exception("Hashing the data of image %s failed", job.image_id)

    def run(self, job: HashJob) -> str:
        """Do ``job`` now; returns what came of it (for logs and tests)."""
        url = job.location["url"]
        try:
            digest = self.digest(url, job.location.get("metadata", {}).get("store"),
                                 job.algorithm)
        except store_exc.GlanceStoreError as exc:
            LOG.warning("Could not read the data of image %s at %s: %s", job.image_id,
                        safe_url(url), scrub(str(exc), url))
            if job.expected is None:
                return self._give_up(job)
            return "unreadable"
        if job.expected is not None:
            return self._verified(job, digest)
        return self._record(job, digest)

    def digest(self, url: str, store: str | None, algorithm: str) -> Digest:
        """Read ``url`` through its store, retrying what may mend, and hash it."""
        delay = self._retry_delay
        for attempt in range(1, self._attempts + 1):
            try:
                return self._read(url, store, algorithm)
            except FINAL_ERRORS:
                raise
            except store_exc.GlanceStoreError as exc:
                if attempt == self._attempts:
                    raise
                LOG.info("Reading %s failed (attempt %d of %d), trying again: %s",
                         safe_url(url), attempt, self._attempts, scrub(str(exc), url))
            if self._stopped.wait(delay):
                raise Stopped()
            delay *= 2
        raise AssertionError("unreachable")

    def _read(self, url: str, store: str | None, algorithm: str) -> Digest:
        checksum = hashlib.md5(usedforsecurity=False)
        value = hashlib.new(algorithm)
        size = 0
        with self._stores.get(url, store=store) as data:
            for chunk in data:
                if self._stopped.is_set():
                    raise Stopped()
                size += len(chunk)
                if size > self._size_cap:
                    raise store_exc.SizeLimitExceeded(
                        "the data is larger than image_size_cap (%d bytes)"
                        % self._size_cap)
                checksum.update(chunk)
                value.update(chunk)
        return Digest(size, checksum.hexdigest(), algorithm, value.hexdigest())

    def _record(self, job: HashJob, digest: Digest) -> str:
        """Write the hash on the image if it still waits for this location's."""
        for _ in range(CAS_ATTEMPTS):
            image = self._current(job)
            if image is None or not self._waiting(image, job):
                return "stale"
            if image.get("size") not in (None, digest.size):
                LOG.warning("The data of image %s at %s is %d bytes, not the %s "
                            "recorded; its hash is not recorded", job.image_id,
                            safe_url(job.location["url"]), digest.size, image["size"])
                return self._give_up(job)
            changes = {"checksum": digest.checksum, "os_hash_value": digest.os_hash_value,
                       "size": digest.size}
            if self._update(job, changes, image["status"]):
                LOG.info("Recorded the %s hash of image %s", digest.os_hash_algo,
                         job.image_id)
                return "recorded"
        return "stale"

    def _give_up(self, job: HashJob) -> str:
        """Clear ``os_hash_algo``: no hash is coming (Glance pops it too)."""
        for _ in range(CAS_ATTEMPTS):
            image = self._current(job)
            if image is None or not self._waiting(image, job):
                return "stale"
            if self._update(job, {"os_hash_algo": None}, image["status"]):
                return "gave up"
        return "stale"

    def _verified(self, job: HashJob, digest: Digest) -> str:
        """Activate the queued image with the location if its data is as vouched."""
        expected = job.expected
        if digest.os_hash_value != expected.os_hash_value:
            LOG.warning("The data at %s is not what was vouched for image %s "
                        "(%s %s, not %s); the image stays queued",
                        safe_url(job.location["url"]), job.image_id, digest.os_hash_algo,
                        digest.os_hash_value, expected.os_hash_value)
            return "mismatch"
        changes = {"status": "active", "locations": [job.location], "size": digest.size,
                   "checksum": digest.checksum, "os_hash_algo": digest.os_hash_algo,
                   "os_hash_value": digest.os_hash_value}
        if self._update(job, changes, "queued"):
            LOG.info("Image %s is active: its data at %s has the hash vouched for",
                     job.image_id, safe_url(job.location["url"]))
            return "activated"
        return "stale"

    def _current(self, job: HashJob) -> dict | None:
        try:
            return self._registry.get(job.ctx, job.image_id)
        except registry_client.NotFound:
            return None

    @staticmethod
    def _waiting(image: dict, job: HashJob) -> bool:
        """Whether ``image`` still waits for the hash of ``job``'s location."""
        urls = [loc["url"] for loc in image.get("locations") or []
                if loc.get("status", "active") == "active"]
        return (not image.get("deleted") and job.location["url"] in urls
                and image.get("os_hash_algo") == job.algorithm
                and not image.get("os_hash_value"))

    def _update(self, job: HashJob, changes: dict, from_state: str) -> bool:
        try:
            self._registry.update(job.ctx, job.image_id, changes, from_state=from_state)
        except (registry_client.Conflict, registry_client.NotFound):
            return False
        return True
