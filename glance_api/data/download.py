"""Downloads: an image's stored bytes (or a range of them) as a response body
that counts the bytes that really left, for image.send.

A WSGI server asks a body for the next chunk only after it has written the
previous one, so a chunk counts as sent once the next is asked for (or the
body ends). A body the server drops early therefore under-counts by at most
the one chunk whose write failed; it never over-counts.

File-store images go to the server as ``wsgi.file_wrapper(SentFile)``, so
gunicorn can hand the file to the kernel. It does so through
``socket.sendfile()``, which always leaves the file positioned just past the
last byte the kernel sent, even when the send fails midway; ``SentFile``
watches those seeks. gunicorn then rewinds the descriptor directly, which
``SentFile`` does not see and does not need to.
"""

from __future__ import annotations

import logging
from typing import IO
from typing import Callable
from typing import Iterable
from typing import Iterator

from glance_api import image_rules
from glance_api import payloads
from glance_api.exceptions import ServiceUnavailable
from glance_store import ImageData
from glance_store import exceptions as store_exc
from glance_store.url_filter import redact

LOG = logging.getLogger(__name__)
OnClose = Callable[[int], None]  # receives the bytes sent
SENDFILE_BLOCK = 1 << 20


def store_of(location: dict) -> str | None:
    """The store id a location's metadata names (the Uploader records it), if any."""
    return (location.get("metadata") or {}).get("store")


def ordered_locations(stores, image: dict) -> list[dict]:
    """The image's active locations, the copy in the store of highest weight first.

    Glance's "store_type" location strategy by store weight; equal weights
    keep the order the locations were recorded in.
    """
    active = [loc for loc in image.get("locations") or []
              if loc.get("status", "active") == "active"]
    if len(active) < 2:
        return active
    return sorted(active, key=lambda loc: -stores.weight(store_of(loc)))


def open_image(stores, image: dict, offset: int = 0,
               length: int | None = None) -> ImageData | None:
    """The stored bytes of an active image from ``offset`` (``length`` of them,
    or to the end); None for an image without data.

    Copies are tried in ``ordered_locations`` order: one whose store cannot
    open it (down, or the data gone) gives way to the next, and only when
    none opens does the last one's error reach the caller. A whole read
    whose stored size differs from the recorded size is refused: a
    truncated or swapped file must never go out as the image.
    """
    locations = ordered_locations(stores, image)
    if not image["size"] or not locations:
        # Raises for an image that should have data but has no location.
        image_rules.active_location(image)
        return None
    *earlier, last = locations
    for location in earlier:
        try:
            return _open_location(stores, image, location, offset, length)
        except store_exc.InvalidRange:
            raise  # the same for every copy: the caller asked beyond the end
        except (store_exc.GlanceStoreError, ServiceUnavailable) as exc:
            LOG.warning("Image %s: cannot read %s (%s); trying its next location",
                        image["id"], redact(location["url"]), exc)
    return _open_location(stores, image, last, offset, length)


def _open_location(stores, image: dict, location: dict, offset: int,
                   length: int | None) -> ImageData:
    data = stores.get(location["url"], offset, length, store=store_of(location))
    whole = offset == 0 and length is None
    if whole and data.size != image["size"]:
        data.close()
        raise ServiceUnavailable(
            "The stored data of image %s is %d bytes, not %d; refusing to send "
            "a corrupt image." % (image["id"], data.size, image["size"]))
    return data


def send_reporter(notifier, ctx, image: dict, destination: str | None) -> OnClose:
    """What a download body calls when it closes: image.send with the bytes sent.

    It runs after the request has ended, so it gets everything as arguments.
    A short send is reported as an error, as Glance did.
    """

    def on_close(bytes_sent: int) -> None:
        if not notifier.wants("image.send"):
            return
        priority = "info" if bytes_sent == (image["size"] or 0) else "error"
        notifier.notify(ctx, "image.send",
                        payloads.send(image, ctx, bytes_sent, destination), priority)

    return on_close


def response_body(environ: dict, data: ImageData | None, on_close: OnClose):
    """A WSGI body for ``data``; a file goes by sendfile where the server can."""
    if data is not None and data.fileobj is not None:
        wrapper = environ.get("wsgi.file_wrapper")
        if wrapper is not None:
            return wrapper(SentFile(data.fileobj, data.size, on_close), SENDFILE_BLOCK)
    if data is None:
        return SentChunks((), on_close)
    return SentChunks(data, on_close, release=data.close)


class SentFile:
    """A file-like object over an open image file that counts what was sent."""

    def __init__(self, fileobj: IO[bytes], size: int, on_close: OnClose):
        self._file = fileobj
        self._start = fileobj.tell()
        self._size = size
        self._on_close = on_close
        self._furthest = self._start  # furthest position a sendfile reported
        self._confirmed = 0
        self._pending = 0
        self._closed = False

    @property
    def sent(self) -> int:
        """Bytes known to have left, by either way of sending."""
        by_sendfile = self._furthest - self._start
        return min(self._size, max(by_sendfile, self._confirmed))

    def fileno(self) -> int:
        """The descriptor, so the server may use sendfile(2)."""
        return self._file.fileno()

    def read(self, size: int = -1) -> bytes:
        """The next chunk (never past the image's size); confirms the last one."""
        self._confirmed += self._pending
        left = self._size - self._confirmed
        data = self._file.read(left if size < 0 else min(size, left)) if left > 0 else b""
        self._pending = len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        """Seek the file; remembers how far socket.sendfile() got."""
        position = self._file.seek(offset, whence)
        self._furthest = max(self._furthest, position)
        return position

    def tell(self) -> int:
        """The file's position."""
        return self._file.tell()

    def close(self) -> None:
        """Close the file and report the bytes sent, once."""
        if self._closed:
            return
        self._closed = True
        try:
            self._file.close()
        finally:
            self._on_close(self.sent)


class SentChunks:
    """An iterable of image chunks that counts what the server wrote."""

    def __init__(self, chunks: Iterable[bytes], on_close: OnClose,
                 release: Callable[[], None] | None = None):
        self._chunks: Iterator[bytes] = iter(chunks)
        self._on_close = on_close
        self._release = release
        self._confirmed = 0
        self._pending = 0
        self._closed = False

    def __iter__(self) -> "SentChunks":
        return self

    def __next__(self) -> bytes:
        self._confirmed += self._pending
        self._pending = 0
        chunk = next(self._chunks)
        self._pending = len(chunk)
        return chunk

    @property
    def sent(self) -> int:
        """Bytes the server has written."""
        return self._confirmed

    def close(self) -> None:
        """Release the source and report the bytes sent, once."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._release is not None:
                self._release()
        finally:
            self._on_close(self._confirmed)
