"""The verifying reader: where image bytes are counted, capped and hashed.

A driver receives a ``VerifyingReader`` and only moves bytes: it iterates the
reader (or calls ``read(n)``) until it is exhausted, which ``at_end()`` tells
by reading one chunk ahead when it must. The reader raises
``SizeMismatch``, ``SizeLimitExceeded`` or ``ChecksumMismatch`` while the
driver is still reading, before the driver could commit anything, so a
driver that removes partial data on any exception never leaves bad data
behind. An exception raised by the wrapped stream itself passes through
unchanged.

md5 and the multihash are computed by two worker threads fed through
bounded queues, so hashing runs beside the reading and writing (hashlib
releases the GIL on large buffers) while at most a few chunks are in
memory at once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import queue
import threading
from collections.abc import Iterator
from typing import Protocol

from glance_store import exceptions

CHUNK_SIZE = 512 * 1024
"""Bytes read from the caller's stream per chunk.

Large enough that per-chunk costs (a queue hand-off per hash, a write)
vanish beside the hashing; small enough that the few chunks in flight keep
an upload within a few MiB of memory.
"""

_QUEUE_DEPTH = 2
"""Chunks a hash worker may have waiting; bounds memory per upload."""

_STOP = object()


class Readable(Protocol):
    """What the reader wraps: a file-like object whose ``read`` gives a
    bytes-like object, empty at EOF."""

    def read(self, size: int = -1, /) -> bytes | bytearray: ...


@dataclasses.dataclass(frozen=True)
class Digest:
    """What a fully read and verified stream measured."""

    size: int
    checksum: str
    os_hash_algo: str
    os_hash_value: str


def check_hashing_algorithm(name: str) -> str:
    """Return ``name`` if hashlib gives a fixed-length hex digest with it."""
    try:
        hashlib.new(name).hexdigest()
    except (ValueError, TypeError) as exc:
        raise exceptions.BadStoreConfiguration(
            f"hashing_algorithm {name!r} is not a fixed-length hashlib "
            f"algorithm; choose one of {sorted(hashlib.algorithms_available)} "
            f"other than shake_*") from exc
    return name


class _HashWorker:
    """A thread that feeds every chunk it is given to one hash object."""

    def __init__(self, algorithm: str) -> None:
        self._hash = hashlib.new(algorithm, usedforsecurity=False)
        self._queue: queue.Queue = queue.Queue(maxsize=_QUEUE_DEPTH)
        self._abandoned = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"glance-store-{algorithm}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not _STOP:
            if self._abandoned or self._error is not None:
                continue
            try:
                self._hash.update(chunk)
            except BaseException as exc:  # reported by hexdigest()
                self._error = exc

    def feed(self, chunk: bytes | bytearray | memoryview) -> None:
        """Queue ``chunk`` for hashing; blocks while the queue is full."""
        self._queue.put(chunk)

    def hexdigest(self) -> str:
        """Wait for every queued chunk to be hashed and return the digest."""
        self._stop()
        if self._error is not None:
            raise self._error
        return self._hash.hexdigest()

    def abandon(self) -> None:
        """Stop the thread without hashing what is still queued."""
        self._abandoned = True
        self._stop()

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()


class VerifyingReader:
    """Wraps an input stream; counts, caps and hashes the bytes read from it.

    ``size`` is the declared size (None when unknown, e.g. a chunked upload),
    ``checksum`` the expected md5 hex digest, ``cap`` the most bytes
    accepted. Use it as a context manager, or call ``close()``, so the hash
    threads stop even when reading fails.
    """

    def __init__(self, stream: Readable, *, size: int | None = None,
                 checksum: str | None = None, cap: int | None = None,
                 hashing_algorithm: str = "sha512",
                 chunk_size: int = CHUNK_SIZE) -> None:
        if size is not None and size < 0:
            raise exceptions.SizeMismatch(
                f"declared image size {size} is negative")
        if cap is not None and size is not None and size > cap:
            raise exceptions.SizeLimitExceeded(
                f"image size {size} bytes exceeds the limit of {cap} bytes")
        self._stream = stream
        self._size = size
        self._checksum = checksum.lower() if checksum else None
        self._cap = cap
        self._limit = min((n for n in (size, cap) if n is not None),
                          default=None)
        self._chunk_size = chunk_size
        self._algorithm = check_hashing_algorithm(hashing_algorithm)
        self._count = 0
        self._pending = memoryview(b"")
        self._digest: Digest | None = None
        self._closed = False
        self._md5 = _HashWorker("md5")
        self._multihash = _HashWorker(hashing_algorithm)

    @property
    def declared_size(self) -> int | None:
        """The size announced by the caller, or None if unknown."""
        return self._size

    @property
    def bytes_read(self) -> int:
        """Bytes handed out so far."""
        return self._count

    @property
    def digest(self) -> Digest | None:
        """The verified measurements, once the stream is exhausted."""
        return self._digest

    def __iter__(self) -> Iterator[bytes | bytearray | memoryview]:
        """Yield chunks of at most the chunk size until the stream ends.

        A chunk is whatever bytes-like object the stream gave, so that a
        full read reaches the driver without a copy; ``read()`` gives bytes.
        """
        if self._pending:
            chunk, self._pending = bytes(self._pending), memoryview(b"")
            yield chunk
        while chunk := self._next_chunk():
            yield chunk

    def read(self, size: int = -1, /) -> bytes:
        """File-like read for drivers whose client library wants one."""
        self._fill()
        if size is None or size < 0 or size >= len(self._pending):
            data, self._pending = self._pending, memoryview(b"")
        else:
            data, self._pending = self._pending[:size], self._pending[size:]
        if isinstance(data.obj, bytes) and len(data) == len(data.obj):
            return data.obj
        return bytes(data)

    def at_end(self) -> bool:
        """Whether the stream is exhausted, so verified; may read one ahead."""
        return not self._fill()

    def _fill(self) -> memoryview:
        # The one pending buffer: what read() has not handed out yet, or the
        # chunk at_end() read ahead to see whether the stream goes on.
        if not self._pending:
            self._pending = memoryview(self._next_chunk())
        return self._pending

    def _next_chunk(self) -> bytes | bytearray | memoryview:
        if self._digest is not None:
            return b""
        if self._closed:
            raise ValueError("read from a closed VerifyingReader")
        want = self._chunk_size
        if self._limit is not None:
            # One byte past the limit is enough to see that it was exceeded.
            want = min(want, self._limit - self._count + 1)
        chunk = self._read_stream(want)
        if not chunk:
            self._digest = self._verify()
            return b""
        self._count += len(chunk)
        self._check_count()
        self._md5.feed(chunk)
        self._multihash.feed(chunk)
        return chunk

    def _read_stream(self, want: int) -> bytes | bytearray | memoryview:
        # Gather short reads into one chunk so drivers write large blocks;
        # a full read is passed on as it came, without a copy.
        pieces = []
        got = 0
        while got < want:
            piece = self._stream.read(want - got)
            if not piece:
                break
            pieces.append(piece)
            got += len(piece)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _check_count(self) -> None:
        if self._size is not None and self._count > self._size:
            raise exceptions.SizeMismatch(
                f"received more than the declared {self._size} bytes")
        if self._cap is not None and self._count > self._cap:
            raise exceptions.SizeLimitExceeded(
                f"image exceeds the limit of {self._cap} bytes")

    def _verify(self) -> Digest:
        if self._size is not None and self._count != self._size:
            raise exceptions.SizeMismatch(
                f"received {self._count} bytes but {self._size} were "
                f"declared")
        md5 = self._md5.hexdigest()
        if self._checksum is not None and md5 != self._checksum:
            raise exceptions.ChecksumMismatch(
                f"md5 of the data received is {md5}, not the expected "
                f"{self._checksum}")
        return Digest(size=self._count, checksum=md5,
                      os_hash_algo=self._algorithm,
                      os_hash_value=self._multihash.hexdigest())

    def close(self) -> None:
        """Stop the hash threads; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._md5.abandon()
        self._multihash.abandon()

    def __enter__(self) -> VerifyingReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
