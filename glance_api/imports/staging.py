"""The staging area: where ``PUT /v2/images/{id}/stage`` puts an image's
bytes for glance-direct, and where web-download and glance-download land
them before they are written to the target stores (spec v2 section 9.2).

The area is a file driver: ``Stores.staging`` (the reserved
``os_glance_staging_store`` in multi-store mode, ``node_staging_uri``
otherwise). The staged data of an image is one file named for its id, so it
is found from the id alone (by the import, the sweep, a retry).

A stage moves the image queued -> uploading and streams the bytes in with
the upload path's cap and heartbeat (no format check, as in Glance; the
import checks). ``size`` is set when the bytes are all there, so an
``uploading`` image without a size is a stage still running, or abandoned
if its heartbeat stopped (data.sweep).
"""

from __future__ import annotations

import logging
import os
import urllib.parse
from typing import Callable

from glance_api import registry_client
from glance_api.data.upload import REQUEUE
from glance_api.data.upload import StoreFailed
from glance_api.data.upload import Uploader
from glance_api.data.upload import failure_changes
from glance_api.exceptions import Conflict
from glance_api.imports import progress
from glance_common.context import RequestContext
from glance_store import exceptions as store_exc
from glance_store.driver import ImageData
from glance_store.drivers.filesystem import FilesystemDriver
from glance_store.reader import VerifyingReader
from glance_store.stores import AddResult

LOG = logging.getLogger(__name__)


class StagingArea:
    """The staging driver, with the ``add`` of ``Stores`` (so the upload path
    can write into it) and the one location per image id."""

    def __init__(self, driver: FilesystemDriver | Callable[[], FilesystemDriver],
                 hashing_algorithm: str = "sha512"):
        self._source = driver
        self._driver = driver if isinstance(driver, FilesystemDriver) else None
        self._hashing_algorithm = hashing_algorithm

    @classmethod
    def from_stores(cls, stores, conf) -> "StagingArea":
        """The stores' staging area (or one at ``node_staging_uri``), found on
        first use: a directory an api never stages to need not exist."""

        def driver() -> FilesystemDriver:
            try:
                return stores.staging
            except (AttributeError, store_exc.BadStoreConfiguration):
                path = urllib.parse.urlsplit(conf.node_staging_uri).path or "/tmp/staging/"
                os.makedirs(path, exist_ok=True)
                return FilesystemDriver([(path, 0)])

        return cls(driver, conf.hashing_algorithm)

    @property
    def driver(self) -> FilesystemDriver:
        """The staging file driver."""
        if self._driver is None:
            self._driver = self._source()
        return self._driver

    def location(self, image_id: str) -> str:
        """Where the staged data of ``image_id`` is (or would be)."""
        datadir = self.driver.datadirs[0][0]
        return "file://" + urllib.parse.quote(os.path.join(datadir, image_id))

    def add(self, image_id: str, stream, size: int | None = None,
            checksum: str | None = None, cap: int | None = None,
            store: str | None = None) -> AddResult:
        """Stage ``stream`` as the data of ``image_id``, counted and capped."""
        with VerifyingReader(stream, size=size, checksum=checksum, cap=cap,
                             hashing_algorithm=self._hashing_algorithm) as reader:
            stored = self.driver.add(image_id, reader)
            digest = reader.digest
        if digest is None:
            self.driver.delete(stored.location)
            raise store_exc.GlanceStoreError("staging returned before reading all data")
        return AddResult(location=stored.location, size=digest.size,
                         checksum=digest.checksum, os_hash_algo=digest.os_hash_algo,
                         os_hash_value=digest.os_hash_value, store="staging")

    def open(self, image_id: str) -> ImageData:
        """The staged data; NotFound when there is none."""
        return self.driver.get(self.location(image_id))

    def size(self, image_id: str) -> int | None:
        """Bytes staged for ``image_id``; None when nothing is."""
        try:
            return self.driver.get_size(self.location(image_id))
        except store_exc.NotFound:
            return None

    def staged_before(self, moment: float) -> list[str]:
        """Ids of the images with whole staged data last written before ``moment``
        (a POSIX time)."""
        found = []
        for datadir, _ in self.driver.datadirs:
            try:
                entries = list(os.scandir(datadir))
            except FileNotFoundError:
                continue
            for entry in entries:
                if entry.name.startswith(".") or not entry.is_file():
                    continue
                try:
                    if entry.stat().st_mtime < moment:
                        found.append(entry.name)
                except FileNotFoundError:
                    continue
        return found

    def remove(self, image_id: str) -> None:
        """Remove whatever is staged for ``image_id``, whole or partial."""
        try:
            self.driver.delete(self.location(image_id))
        except store_exc.NotFound:
            pass
        except store_exc.GlanceStoreError as exc:
            LOG.error("Could not remove the staged data of image %s: %s", image_id, exc)
        try:
            self.driver.discard_partial(image_id)
        except store_exc.GlanceStoreError as exc:
            LOG.error("Could not remove partly staged data of image %s: %s",
                      image_id, exc)


def stage(uploader: Uploader, area: StagingArea, ctx: RequestContext, image: dict,
          source, size: int | None, stage_host: str | None = None) -> dict:
    """Put ``source`` in the staging area as ``image``'s data: queued ->
    uploading, then ``size`` recorded (and ``stage_host``, this node's own
    URL, so that an import sent to another node finds the data). On failure
    the image is queued again and nothing stays staged."""
    image_id = image["id"]
    try:
        uploader.registry.update(ctx, image_id, {"status": "uploading"},
                                 from_state="queued")
    except registry_client.Conflict as exc:
        raise Conflict("Image status transition from %s to uploading is not allowed"
                       % image["status"]) from exc
    area.remove(image_id)  # stale bytes of an earlier attempt
    try:
        result, _ = uploader.write(ctx, image, source, status="uploading", size=size,
                                   into=area, inspect=False)
    except BaseException as exc:
        uploader.fail(ctx, image_id, REQUEUE, from_state="uploading")
        area.remove(image_id)
        if hasattr(source, "drain"):
            source.drain()
        if isinstance(exc, store_exc.GlanceStoreError):
            raise StoreFailed("%s Setting image status to 'queued'." % exc) from exc
        raise
    changes = {"size": result.size}
    if stage_host:
        changes["properties"] = {progress.STAGE_HOST: stage_host}
    try:
        return uploader.registry.update(ctx, image_id, changes, from_state="uploading")
    except BaseException:
        area.remove(image_id)
        try:
            uploader.registry.update(ctx, image_id, failure_changes(REQUEUE),
                                     from_state="uploading")
        except registry_client.Error:
            pass  # deleted meanwhile, or the registry is gone: the sweep's job
        raise
