"""The upload data path: request body -> store, with the image's status as a
compare-and-set machine queued -> saving -> active (or killed on any failure).
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from glance_api import errors, payloads, quota
from glance_api.registry import RegistryError, RegistryUnavailable
from glance_common.context import RequestContext
from glance_store import exceptions as store_exc

LOG = logging.getLogger(__name__)
DRAIN_LIMIT = 64 * 1024 * 1024  # bytes of a refused upload read to deliver the 413


class ClientDisconnected(errors.BadRequest):
    """The client stopped sending before the body was complete."""


class ImageChanged(errors.PreconditionFailed):
    """The image left ``saving`` (deleted, or swept) while bytes streamed."""


class ClientStream:
    """The request body as the store reads it.

    Marks failures of the client's stream so they are not mistaken for store
    failures, and refreshes the image's heartbeat while bytes keep arriving.
    """

    def __init__(self, stream, heartbeat: Callable[[], None], interval: float,
                 from_client: bool = True):
        self._stream = stream
        self._heartbeat = heartbeat
        self._interval = interval
        self._from_client = from_client
        self._last = time.monotonic()

    def read(self, size: int = -1) -> bytes:
        try:
            chunk = self._stream.read(size)
        except Exception as exc:
            if not self._from_client:
                raise  # a store reading a remote source says what went wrong
            raise ClientDisconnected(
                "Client disconnected before sending all data to backend") from exc
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._heartbeat()
        return chunk


def upload(ctx: RequestContext, services, image: dict, stream, *,
           size: int | None = None, checksum: str | None = None,
           store: str | None = None, from_client: bool = True) -> dict:
    """Stream ``stream`` into a store as ``image``'s data and activate it.

    ``from_client`` is false when the bytes come from a store (copy-from)
    rather than the request body.

    On any failure the bytes written so far are removed and the image is
    left ``killed``; the error says why.
    """
    registry, image_id = services.registry, image["id"]
    try:
        saving = registry.update(ctx, image_id, {"status": "saving"}, from_state="queued")
    except RegistryError as exc:
        if exc.code == 409:
            raise errors.Conflict(
                "Image %s is not queued; another upload may have started." % image_id) from exc
        raise
    _notify(services.notifier, ctx, "image.prepare", saving)

    def heartbeat() -> None:
        try:
            registry.update(ctx, image_id, {}, from_state="saving")
        except RegistryError as exc:
            raise ImageChanged("Image %s was changed or deleted while its data "
                               "was uploading." % image_id) from exc
        except RegistryUnavailable:
            LOG.warning("Could not refresh the heartbeat of image %s", image_id)

    reader = ClientStream(stream, heartbeat, services.conf.upload_heartbeat_interval,
                          from_client)
    reservation = quota.Reservation(ctx, registry, image, services.storage_quota)
    if not reservation.unlimited:
        reader = quota.QuotaStream(reader, reservation)
    try:
        if size is not None:
            reservation.ensure(size)
        result = services.stores.add(image_id, reader, size=size, checksum=checksum,
                                     cap=services.conf.image_size_cap, store=store)
    except BaseException as exc:
        _kill(ctx, registry, image_id)
        failure = _explain(exc) if isinstance(exc, store_exc.GlanceStoreError) else exc
        if isinstance(failure, errors.TooLarge) and from_client:
            _drain(stream)
        if failure is exc:
            raise
        raise failure from exc

    changes = {"status": "active", "size": result.size, "checksum": result.checksum,
               "os_hash_algo": result.os_hash_algo, "os_hash_value": result.os_hash_value,
               "locations": [{"url": result.location,
                              "metadata": {"store": result.store}}]}
    try:
        active = registry.update(ctx, image_id, changes, from_state="saving")
    except BaseException as exc:
        discard(services.stores, result.location)
        if isinstance(exc, RegistryError) and exc.code in (404, 409):
            raise ImageChanged("Image %s was deleted or changed while its data "
                               "was uploading; the data was removed." % image_id) from exc
        _kill(ctx, registry, image_id)
        raise
    _notify(services.notifier, ctx, "image.upload", active)
    _notify(services.notifier, ctx, "image.activate", active)
    return active


def _notify(notifier, ctx: RequestContext, event_type: str, image: dict) -> None:
    if notifier.wants(event_type):
        notifier.notify(ctx, event_type, payloads.image(image))


def _drain(stream, limit: int = DRAIN_LIMIT) -> None:
    """Read and drop the rest of a refused body so the client sees the answer.

    A server that closes a connection with unread data makes TCP reset it,
    and the client loses the 413 it was sent. Beyond ``limit`` bytes the
    connection is dropped anyway: reading a huge refused upload to the end
    would cost more than the answer is worth.
    """
    left = limit
    try:
        while left > 0:
            chunk = stream.read(min(left, 1 << 16))
            if not chunk:
                return
            left -= len(chunk)
    except Exception as exc:  # the client went away: nothing left to tell it
        LOG.debug("Stopped draining a refused upload: %s", exc)


def discard(stores, location: str) -> None:
    """Remove bytes nobody will point to; a failure is logged, not raised."""
    try:
        stores.delete(location)
    except store_exc.NotFound:
        pass
    except store_exc.GlanceStoreError as exc:
        LOG.error("Could not remove %s: %s", location, exc)


def _kill(ctx: RequestContext, registry, image_id: str) -> None:
    # If the registry cannot be reached the image stays in saving until the
    # sweep notices its heartbeat stopped (glance_api.sweep).
    try:
        registry.update(ctx, image_id, {"status": "killed"}, from_state="saving")
    except (RegistryError, RegistryUnavailable) as exc:
        LOG.warning("Could not mark image %s killed: %s", image_id, exc)


def _explain(exc: store_exc.GlanceStoreError) -> errors.ApiError:
    """The client's error for a store failure during an upload."""
    code = errors.store_status(exc)
    cls = {400: errors.BadRequest, 404: errors.NotFound, 413: errors.TooLarge,
           503: errors.ServiceUnavailable}.get(code, errors.ApiError)
    return cls("%s Setting image status to 'killed'." % exc)
