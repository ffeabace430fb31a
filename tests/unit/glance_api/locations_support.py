"""A small honest store for the locations tests: read-only data in memory."""

from __future__ import annotations

import glance_store
from glance_store import Capability
from glance_store import Driver
from glance_store import ImageData
from glance_store import exceptions as store_exc
from glance_store.drivers.filesystem import FilesystemDriver

CHUNK = 4096


class MemoryDriver(Driver):
    """Serves ``mem://`` URLs from a dict, in bounded chunks; can fail on demand."""

    name = "memory"
    schemes = ("mem",)
    capabilities = Capability.READ

    def __init__(self):
        self.objects: dict[str, bytes] = {}
        self.failures = 0  # the next reads that fail as a flaky remote would
        self.reads = 0
        self.largest_chunk = 0

    def put(self, url: str, data: bytes) -> str:
        self.objects[url] = data
        return url

    def _data(self, location: str) -> bytes:
        try:
            return self.objects[location]
        except KeyError:
            raise store_exc.NotFound("no object at %s" % location) from None

    def get(self, location, offset=0, length=None):
        self.reads += 1
        if self.failures:
            self.failures -= 1
            raise store_exc.RemoteServiceUnavailable("the remote end hung up on %s"
                                                     % location)
        data = self._data(location)

        def chunks():
            for start in range(0, len(data), CHUNK):
                piece = data[start:start + CHUNK]
                self.largest_chunk = max(self.largest_chunk, len(piece))
                yield piece

        return ImageData(chunks(), len(data))

    def get_size(self, location):
        return len(self._data(location))


def memory_stores(datadir, memory: MemoryDriver) -> glance_store.Stores:
    """A writable file store (the default) beside ``memory``."""
    return glance_store.Stores({"file": FilesystemDriver([(str(datadir), 0)]),
                                "mem": memory}, default_store="file")
