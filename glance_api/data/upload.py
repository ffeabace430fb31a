"""The upload data path: bytes -> store, with the image's status as a
compare-and-set machine.

Uploads (v1, v2 ``PUT /file``, v1 copy-from) go queued -> saving -> active
in ``upload``. Imports (glance_api.imports) take the image to ``importing``
(or, for copy-image, keep it ``active``) themselves, then call ``write``
once per target store while the image keeps that status, and record the
outcome; ``write`` is the same streaming as an upload's: hashing, format
inspection, quota holds, the size cap and the heartbeat.

On any failure the bytes written so far are removed and the image is left
where the caller's failure policy says: ``killed`` for v1 (its clients
expect it), back to ``queued`` with size and checksums cleared for v2.

An upload started through v2 carries the reserved property
``os_glance_upload_api = v2`` while it is ``saving`` (removed again when it
ends), so the sweep (data.sweep) knows that an abandoned one goes back to
``queued`` rather than to v1's ``killed``.

The reader stack, outermost first, as the store pulls bytes through it:

    store's VerifyingReader   counts, caps, hashes (glance_store)
    InspectingStream          shows each byte to the format inspectors; refuses
                              hostile or mislabelled images (data.inspect)
    UploadStream              holds quota for each byte, beats the heartbeat
    source                    ClientBody (request) or a store's chunks (fetch)
"""

from __future__ import annotations

import dataclasses
import logging
import time

from glance_api import registry_client
from glance_api.data.inspect import DEFAULT_RULES
from glance_api.data.inspect import FormatRules
from glance_api.data.inspect import Inspected
from glance_api.data.inspect import InspectingStream
from glance_api.data.leftovers import Leftover
from glance_api.data.leftovers import Leftovers
from glance_api.exceptions import ApiError
from glance_api.exceptions import Conflict
from glance_api.exceptions import PreconditionFailed
from glance_api.exceptions import TooLarge
from glance_common.context import RequestContext
from glance_store import exceptions as store_exc
from glance_store.stores import AddResult
from glance_store.url_filter import redact

LOG = logging.getLogger(__name__)
STEP = 64 * 1024 * 1024  # how far a chunked upload's quota hold grows at a time


@dataclasses.dataclass(frozen=True)
class OnFailure:
    """Where a failed upload leaves its image, and what it forgets."""

    status: str
    clears: tuple[str, ...] = ()


KILL = OnFailure("killed")  # v1 (spec v1 6.2)
REQUEUE = OnFailure("queued", ("size", "virtual_size", "checksum", "os_hash_algo",
                               "os_hash_value"))
# Set while a v2 upload is saving: which failure policy the sweep applies.
UPLOAD_API_PROPERTY = "os_glance_upload_api"


def policy_of(image: dict) -> OnFailure:
    """The failure policy of the upload that put ``image`` in saving."""
    if (image.get("properties") or {}).get(UPLOAD_API_PROPERTY) == "v2":
        return REQUEUE
    return KILL


def failure_changes(on_failure: OnFailure) -> dict:
    """The registry changes that record a failed upload under ``on_failure``."""
    changes = {"status": on_failure.status,
               "properties": {UPLOAD_API_PROPERTY: None}}
    changes.update(dict.fromkeys(on_failure.clears))
    return changes


class ImageChanged(PreconditionFailed):
    """The image left ``saving`` (deleted, or swept) while bytes streamed."""


class StoreFailed(ApiError):
    """The store refused or lost the bytes; raised from the store's error,
    whose status it is answered with (glance_api.errors)."""


class Reservation:
    """The bytes the registry holds for one saving image under its project's quota.

    Checking the project's usage and holding the bytes are one atomic step
    in the registry (glance_registry.quotas), so concurrent uploads cannot
    both slip under the quota. With a declared size the whole size is held
    before the first byte is stored; a chunked body grows its hold in steps
    as bytes arrive, so a stream that crosses the quota is stopped mid-way.
    """

    def __init__(self, ctx: RequestContext, registry, image: dict, quota: int):
        self._ctx, self._registry, self._image = ctx, registry, image
        self._quota = quota
        self.held = 0

    @property
    def unlimited(self) -> bool:
        """No quota applies: none configured, or an image without a project."""
        return self._quota <= 0 or not self._image.get("owner")

    def ensure(self, needed: int, wanted: int | None = None) -> None:
        """Hold at least ``needed`` bytes in all (``wanted`` if that fits); 413 if not."""
        if self.unlimited or needed <= self.held:
            return
        try:
            self.held = self._registry.reserve(
                self._ctx, self._image["id"], needed, max(needed, wanted or needed),
                self._quota)
        except registry_client.QuotaExceeded as exc:
            raise TooLarge("Denying attempt to upload image because it exceeds the "
                           "quota: %s" % exc.message) from exc


class UploadStream:
    """The source as the store reads it: quota held for every byte, and the
    image's heartbeat refreshed while bytes keep arriving."""

    def __init__(self, source, reservation: Reservation, heartbeat, interval: float):
        self._source = source
        self._reservation = reservation
        self._heartbeat = heartbeat
        self._interval = interval
        self._last = time.monotonic()
        self._seen = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._source.read(size)
        if chunk and not self._reservation.unlimited:
            self._seen += len(chunk)
            self._reservation.ensure(self._seen, self._seen + STEP)
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._heartbeat()
        return chunk


class Uploader:
    """Streams image data into the stores and records the outcome in the registry."""

    def __init__(self, registry, stores, notifier, *, storage_quota: int,
                 size_cap: int, heartbeat_interval: float,
                 format_rules: FormatRules = DEFAULT_RULES,
                 leftovers: Leftovers | None = None):
        self.format_rules = format_rules
        # What a failed write could not remove, for the sweep to retry.
        self.leftovers = leftovers if leftovers is not None else Leftovers()
        self.registry = registry
        self.stores = stores
        self.notifier = notifier
        self.storage_quota = storage_quota
        self.size_cap = size_cap
        self.heartbeat_interval = heartbeat_interval

    def upload(self, ctx: RequestContext, image: dict, source, *,
               size: int | None = None, checksum: str | None = None,
               store: str | None = None, on_failure: OnFailure = KILL) -> dict:
        """Stream ``source`` into a store as ``image``'s data and activate it.

        ``size`` and ``checksum`` are what the caller promised; the bytes
        must match, and be what ``image`` says under ``format_rules`` (the
        ``[image_format]`` options). Returns the active image; on failure
        raises the client's error with the image left as ``on_failure``
        says and no bytes kept.
        """
        image_id = image["id"]
        starting: dict = {"status": "saving"}
        if on_failure.status == "queued":
            starting["properties"] = {UPLOAD_API_PROPERTY: "v2"}
        try:
            saving = self.registry.update(ctx, image_id, starting, from_state="queued")
        except registry_client.Conflict as exc:
            raise Conflict("Image %s is not queued; another upload may have "
                           "started." % image_id) from exc
        self.notifier.image_event(ctx, "image.prepare", saving)
        try:
            result, inspected = self.write(ctx, image, source, status="saving",
                                           size=size, checksum=checksum, store=store)
        except BaseException as exc:
            self.fail(ctx, image_id, on_failure)
            if hasattr(source, "drain"):
                # The client may still be sending; it should read why not.
                source.drain()
            if isinstance(exc, store_exc.GlanceStoreError):
                raise StoreFailed("%s Setting image status to '%s'."
                                  % (exc, on_failure.status)) from exc
            raise
        return self._activate(ctx, image_id, result, inspected, on_failure)

    def write(self, ctx: RequestContext, image: dict, source, *, status: str,
              size: int | None = None, checksum: str | None = None,
              store: str | None = None, into=None, inspect: bool = True,
              quota: bool = True) -> tuple[AddResult, Inspected]:
        """Stream ``source`` into one store while ``image`` stays ``status``.

        The image's status is the caller's business; this holds quota
        (when ``quota``), inspects the format (when ``inspect``), caps the
        size and refreshes the heartbeat of an image in ``status``. ``into``
        is what ``add`` is called on (the stores by default; the staging
        area for a stage). On failure the store has removed what it wrote.
        """
        image_id = image["id"]
        reservation = Reservation(ctx, self.registry, image,
                                  self.storage_quota if quota else 0)
        stream = UploadStream(source, reservation,
                              lambda: self._heartbeat(ctx, image_id, status),
                              self.heartbeat_interval)
        if inspect:
            stream = InspectingStream(stream, image.get("disk_format"),
                                      image.get("container_format"), self.format_rules)
        if size is not None:
            reservation.ensure(size)
        try:
            result = (into or self.stores).add(image_id, stream, size=size,
                                               checksum=checksum, cap=self.size_cap,
                                               store=store)
        except store_exc.RemoteServiceUnavailable:
            if into is None:
                # The store failed mid-write, so its own cleanup of what it
                # wrote most likely failed too (it only logs that).
                self.leftovers.remember(
                    Leftover(image_id, store or self.stores.default_store))
            raise
        # The store verified the whole stream, so it was read to its end,
        # where the inspection gave its verdict.
        inspected = stream.inspected if inspect else Inspected(
            image.get("disk_format") or "", None)
        return result, inspected

    def _activate(self, ctx: RequestContext, image_id: str, result, inspected: Inspected,
                  on_failure: OnFailure) -> dict:
        changes = {"status": "active", "size": result.size, "checksum": result.checksum,
                   "virtual_size": inspected.virtual_size,
                   "os_hash_algo": result.os_hash_algo,
                   "os_hash_value": result.os_hash_value,
                   "properties": {UPLOAD_API_PROPERTY: None},
                   "locations": [{"url": result.location,
                                  "metadata": {"store": result.store}}]}
        try:
            active = self.registry.update(ctx, image_id, changes, from_state="saving")
        except BaseException as exc:
            if not discard(self.stores, result.location):
                self.leftovers.remember(Leftover(image_id, result.store, result.location))
            if isinstance(exc, (registry_client.NotFound, registry_client.Conflict)):
                raise ImageChanged("Image %s was deleted or changed while its data "
                                   "was uploading; the data was removed." % image_id) from exc
            self.fail(ctx, image_id, on_failure)
            raise
        self.notifier.image_event(ctx, "image.upload", active)
        self.notifier.image_event(ctx, "image.activate", active)
        return active

    def _heartbeat(self, ctx: RequestContext, image_id: str, status: str) -> None:
        try:
            self.registry.heartbeat(ctx, image_id, status)
        except (registry_client.NotFound, registry_client.Conflict) as exc:
            raise ImageChanged("Image %s was changed or deleted while its data "
                               "was uploading." % image_id) from exc
        except registry_client.Unavailable:
            LOG.warning("Could not refresh the heartbeat of image %s", image_id)

    def fail(self, ctx: RequestContext, image_id: str, on_failure: OnFailure,
             from_state: str = "saving") -> bool:
        """Move an upload's image to its failure state; False if that was not possible.

        If the registry cannot be reached the image stays in ``saving``
        until the sweep notices its heartbeat stopped (data.sweep).
        """
        try:
            self.registry.update(ctx, image_id, failure_changes(on_failure),
                                 from_state=from_state)
        except registry_client.Error as exc:
            LOG.warning("Could not mark image %s %s: %s", image_id, on_failure.status, exc)
            return False
        return True


def discard(stores, location: str, store: str | None = None) -> bool:
    """Remove bytes nobody will point to; False (and logged) if they could not be."""
    try:
        if store is None:
            stores.delete(location)
        else:
            stores.delete(location, store=store)
    except store_exc.NotFound:
        pass
    except store_exc.GlanceStoreError as exc:
        LOG.error("Could not remove %s: %s", redact(location), exc)
        return False
    return True
