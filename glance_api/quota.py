"""Storage quotas: parsing ``user_storage_quota`` and holding bytes while they stream.

The registry keeps the accounting (glance_registry.quotas): an upload asks it
to hold bytes for the image under its project's quota, and the check and the
hold are one atomic step there. With a declared size the whole size is held
before the first byte is stored; a chunked body grows its hold in steps as
bytes arrive, so a stream that crosses the quota is stopped mid-way.
"""

from __future__ import annotations

import re

from glance_api import errors
from glance_api.registry import RegistryError
from glance_common.context import RequestContext

UNITS = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4}
_SIZE = re.compile(r"^\s*(\d+)\s*([KMGT]?B)?\s*$", re.IGNORECASE)
STEP = 64 * 1024 * 1024  # how far a chunked upload's hold grows at a time


def parse_size(value: str | int) -> int:
    """Bytes from ``10GB``-style text (1 KB = 1024 B, as Glance counted); ValueError if not."""
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError("%r is not a size: use a whole number of bytes, optionally "
                         "followed by B, KB, MB, GB or TB (e.g. 10GB)." % value)
    return int(match.group(1)) * UNITS[(match.group(2) or "B").upper()]


def storage_quota(conf) -> int:
    """``user_storage_quota`` in bytes; 0 means unlimited."""
    try:
        return parse_size(conf.user_storage_quota)
    except ValueError as exc:
        raise ValueError("Invalid user_storage_quota: %s" % exc) from None


class Reservation:
    """The bytes the registry holds for one saving image under its project's quota."""

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
        except RegistryError as exc:
            if exc.code == 413:
                raise errors.TooLarge(
                    "Denying attempt to upload image because it exceeds the quota: "
                    "%s" % exc.message) from exc
            raise


class QuotaStream:
    """A body reader that holds quota for every byte before handing it on."""

    def __init__(self, stream, reservation: Reservation):
        self._stream = stream
        self._reservation = reservation
        self._seen = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(size)
        if chunk:
            self._seen += len(chunk)
            self._reservation.ensure(self._seen, self._seen + STEP)
        return chunk
