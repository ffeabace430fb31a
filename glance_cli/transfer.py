"""Image bytes in and out: bounded chunks, optional progress bars, MD5 checks.

Nothing here holds more than one chunk of an image in memory.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import stat
import sys
from typing import BinaryIO
from typing import Iterator

import requests

from glance_cli.errors import CommandError
from glance_cli.errors import UsageError

CHUNK_SIZE = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Digest:
    """What downloaded bytes must hash to: a hashlib algorithm and a hex value."""

    algorithm: str
    value: str


@dataclasses.dataclass(frozen=True)
class Source:
    """Where upload bytes come from and, for regular files, how many there are."""

    stream: BinaryIO
    size: int | None


def file_source(path: str) -> Source:
    """A ``Source`` reading the file at ``path``."""
    try:
        stream = open(path, "rb")
    except OSError as exc:
        raise CommandError("Cannot read %s: %s" % (path, exc.strerror or exc)) from exc
    return Source(stream, _regular_size(stream))


def stdin_source() -> Source | None:
    """Standard input as a ``Source``, unless it is a terminal or closed."""
    stdin = sys.stdin
    if stdin is None or stdin.closed:
        return None
    try:
        if stdin.isatty():
            return None
        stream = stdin.buffer
        size = _regular_size(stream)
    except (OSError, ValueError):
        return None
    return Source(stream, size)


def data_source(path: str | None) -> Source | None:
    """The file at ``path`` or, without one, data piped on stdin (None if none is)."""
    return file_source(path) if path else stdin_source()


def _regular_size(stream: BinaryIO) -> int | None:
    # Only a regular file has a size worth promising the server; a pipe,
    # a socket or /dev/null does not.
    info = os.fstat(stream.fileno())
    if not stat.S_ISREG(info.st_mode):
        return None
    return info.st_size - stream.tell()


def upload_chunks(source: Source, progress: bool = False) -> Iterator[bytes]:
    """The source's bytes in chunks of at most 1 MiB, counted on a bar if asked."""
    bar = progress_bar(source.size, "Uploading") if progress else None
    try:
        while True:
            try:
                chunk = source.stream.read(CHUNK_SIZE)
            except OSError as exc:
                raise CommandError("Cannot read image data: %s" % exc) from exc
            if not chunk:
                return
            if bar is not None:
                bar.update(len(chunk))
            yield chunk
    finally:
        if bar is not None:
            bar.close()


def check_destination(path: str | None) -> None:
    """Refuse to write image data to a terminal (no --file, stdout not redirected)."""
    if path is None and sys.stdout.isatty():
        raise UsageError("refusing to write image data to a terminal: give --file "
                         "or redirect standard output")


def save_download(resp: requests.Response, path: str | None, progress: bool = False,
                  expected: Digest | None = None) -> None:
    """Write a download to ``path`` (stdout when None), checking its hash.

    Without ``expected`` the v1 ``x-image-meta-checksum`` (MD5) is checked,
    if the response has one. A mismatch or any failure removes the partly
    written file.
    """
    if expected is None and resp.headers.get("x-image-meta-checksum"):
        expected = Digest("md5", resp.headers["x-image-meta-checksum"])
    if path is None:
        _copy(resp, sys.stdout.buffer, expected, progress)
        sys.stdout.buffer.flush()
        return
    try:
        with open(path, "wb") as out:
            _copy(resp, out, expected, progress)
    except OSError as exc:
        _remove(path)
        raise CommandError("Cannot write %s: %s" % (path, exc.strerror or exc)) from exc
    except BaseException:
        _remove(path)
        raise


def _copy(resp: requests.Response, out: BinaryIO, expected: Digest | None,
          progress: bool) -> None:
    length = resp.headers.get("Content-Length")
    total = int(length) if length and length.isdigit() else None
    bar = progress_bar(total, "Downloading") if progress else None
    hasher = _hasher(expected.algorithm if expected else "md5")
    try:
        for chunk in resp.iter_content(CHUNK_SIZE):
            hasher.update(chunk)
            out.write(chunk)
            if bar is not None:
                bar.update(len(chunk))
    except requests.RequestException as exc:
        raise CommandError("Download interrupted: %s" % exc) from exc
    finally:
        if bar is not None:
            bar.close()
    if expected and hasher.hexdigest() != expected.value.lower():
        raise CommandError("Corrupt image download: expected checksum %s, got %s"
                           % (expected.value, hasher.hexdigest()))


def _hasher(algorithm: str):
    try:
        return hashlib.new(algorithm, usedforsecurity=False)
    except ValueError as exc:
        raise CommandError("Cannot verify the download: this machine has no %s hash"
                           % algorithm) from exc


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def progress_bar(total: int | None, label: str):
    """A tqdm bar on stderr counting bytes, their rate and the time left."""
    import tqdm  # only commands that show progress pay for the import

    return tqdm.tqdm(total=total, desc=label, unit="B", unit_scale=True,
                     unit_divisor=1024, file=sys.stderr, dynamic_ncols=True)
