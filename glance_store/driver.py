"""The driver contract, documented once, and the objects drivers return.

A driver moves image bytes between the service and one kind of storage.
It is built once at start-up by its ``from_conf`` class method (the only
place it reads configuration) and then shared by every request thread, so
it keeps no per-request state.

The contract:

``schemes``
    The location URI schemes the driver serves, e.g. ``("file",)``.
``capabilities``
    A ``Capability`` flag set: READ, WRITE, RANGED (``get`` honours
    ``offset``/``length`` without reading what precedes the range), LIST
    (``listing`` can enumerate what the storage holds).
``add(image_id, reader) -> Stored``
    Store everything ``reader`` yields under a location derived from
    ``image_id`` (``check_image_id`` first). ``reader`` is a
    ``VerifyingReader``: iterate it (or call ``reader.read(n)``) until it is
    exhausted, which ``reader.at_end()`` tells; it raises if the data is
    too long, too short or corrupt, and it hashes and counts, so the driver
    does neither. On ANY exception, whether from the reader, from the
    storage, or an interrupt, the driver removes whatever it wrote and
    re-raises: the reader's exceptions unchanged, its own storage errors
    translated into ``glance_store.exceptions``. Only once the reader is
    exhausted may the driver make the data visible (rename, commit).
``get(location, offset=0, length=None) -> ImageData``
    A stream of the image from ``offset``, at most ``length`` bytes (None:
    to the end). ``InvalidRange`` if ``offset`` lies beyond the end.
``get_size(location) -> int``
    The image's size in bytes.
``delete(location)``
    Remove the image; ``NotFound`` if it is already gone.
``owns(location) -> bool``
    Whether ``location`` is in this driver's storage (its directory,
    container or bucket), so that of several stores of one type the
    right one is asked for it. By default: whether the scheme is served.
``properties() -> dict``
    The driver's non-secret settings, for operators (GET
    /v2/info/stores/detail); none by default.
``discard_partial(image_id) -> int``
    Remove what an upload of ``image_id`` left behind when its process
    died mid-write (it had no chance to clean up); returns how many pieces
    were removed. Callers make sure no upload of that id is still running.
``listing(prefix="") -> Iterator[Listed]``
    Only with the LIST capability: every object in the driver's storage
    whose name starts with ``prefix``, fetched a page at a time, each with
    the location it would have as an image location. Recovery tools use it
    to find data no image points to; the driver itself judges nothing.

Missing data is ``NotFound``; a malformed or foreign location is
``BadStoreURI``. A new driver joins the contract suite in
``tests/unit/glance_store/test_contract.py`` with one fixture entry.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from typing import IO
from typing import Any
from typing import ClassVar

from glance_store import exceptions
from glance_store.reader import VerifyingReader

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
"""A name safe for a file, object or container: no "/", no leading dot."""


class Capability(enum.Flag):
    """What a driver can do."""

    NONE = 0
    READ = enum.auto()
    WRITE = enum.auto()
    RANGED = enum.auto()
    LIST = enum.auto()


@dataclasses.dataclass(frozen=True)
class Stored:
    """Where a driver put the data, and any metadata for that location."""

    location: str
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Listed:
    """One object a listing found: its name in the storage, its size, and
    the location an image would record for it."""

    name: str
    size: int
    location: str


class ImageData:
    """A stream of image bytes; a context manager that releases its source.

    ``size`` is the number of bytes iteration yields; ``fileobj`` is a real
    open file positioned at the start of the range when the driver has one
    (the file driver), so a server can hand it to ``wsgi.file_wrapper`` and
    sendfile(2), sending exactly ``size`` bytes; otherwise None.
    """

    def __init__(self, chunks: Iterator[bytes], size: int, *,
                 fileobj: IO[bytes] | None = None,
                 close: Callable[[], None] | None = None) -> None:
        self._chunks = chunks
        self.size = size
        self.fileobj = fileobj
        self._close = close
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        """Release the underlying file or connection; idempotent."""
        if self._closed:
            return
        self._closed = True
        close_chunks = getattr(self._chunks, "close", None)
        try:
            if close_chunks is not None:
                close_chunks()
        finally:
            if self._close is not None:
                self._close()

    def __enter__(self) -> ImageData:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def check_range(size: int, offset: int, length: int | None) -> int:
    """How many bytes a read of a ``size``-byte image from ``offset`` gives."""
    if offset < 0 or (length is not None and length < 0):
        raise exceptions.InvalidRange(
            f"offset {offset} and length {length} must not be negative")
    if offset > size:
        raise exceptions.InvalidRange(
            f"offset {offset} is beyond the end of the {size}-byte image")
    remaining = size - offset
    return remaining if length is None else min(length, remaining)


def check_image_id(image_id: str, names: str) -> str:
    """Return ``image_id`` if it can safely name ``names``, e.g. "a file"."""
    if not isinstance(image_id, str) or not SAFE_NAME.fullmatch(image_id):
        raise exceptions.InvalidImageId(
            f"image id {image_id!r} cannot name {names}: use letters, digits, "
            f"'.', '_' and '-', starting with a letter or digit")
    return image_id


class Driver:
    """Base of every store driver; the contract is in the module docstring."""

    name: ClassVar[str]
    schemes: ClassVar[tuple[str, ...]] = ()
    capabilities: ClassVar[Capability] = Capability.NONE

    @classmethod
    def from_conf(cls, group: Any, **context: Any) -> Driver:
        """Build the driver from its [glance_store] options."""
        raise NotImplementedError

    def add(self, image_id: str, reader: VerifyingReader) -> Stored:
        """Store the reader's bytes; remove them again on any exception."""
        raise exceptions.ReadOnlyStore(
            f"the {self.name!r} store cannot store image data")

    def get(self, location: str, offset: int = 0,
            length: int | None = None) -> ImageData:
        """Stream the image at ``location`` from ``offset``."""
        raise NotImplementedError

    def get_size(self, location: str) -> int:
        """The size in bytes of the image at ``location``."""
        raise NotImplementedError

    def delete(self, location: str) -> None:
        """Remove the image at ``location``."""
        raise exceptions.ReadOnlyStore(
            f"the {self.name!r} store cannot delete image data")

    def owns(self, location: str) -> bool:
        """Whether ``location`` lies in this driver's storage."""
        scheme = location.partition("://")[0].lower() if isinstance(location, str) else ""
        return scheme in self.schemes

    def properties(self) -> dict[str, Any]:
        """Non-secret settings worth showing an operator."""
        return {}

    def discard_partial(self, image_id: str) -> int:
        """Remove data a dead upload of ``image_id`` left; none by default."""
        return 0

    def listing(self, prefix: str = "") -> Iterator[Listed]:
        """The objects whose names start with ``prefix``; only with LIST."""
        raise NotImplementedError(f"the {self.name!r} store cannot be listed")
